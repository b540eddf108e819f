"""The code lists of the catalogue and the survey (``reference/courses/``): the five MISPA pillars of AG/RES. 2866,
the topics under each pillar (a project proposal) and the audiences, with labels in the four languages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def courses_dir(settings) -> Path:
    return Path(settings.reference_dir) / "courses"


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def pillars(settings) -> pd.DataFrame:
    return _csv(courses_dir(settings) / "pillars.csv")


def topics(settings) -> pd.DataFrame:
    return _csv(courses_dir(settings) / "topics.csv")


def audiences(settings) -> pd.DataFrame:
    return _csv(courses_dir(settings) / "audiences.csv")


def pillar_of(settings) -> dict[str, str]:
    t = topics(settings)
    return dict(zip(t["topic"], t["pillar"]))


def label(frame: pd.DataFrame, key: str, code: str, lang: str) -> str:
    """The label of ``code`` in ``lang`` from a code list (``pillars``, ``topics``, ``audiences``)."""
    row = frame[frame[key] == code]
    if row.empty:
        return str(code)
    return row.iloc[0].get(f"label_{lang}") or row.iloc[0]["label_en"]
