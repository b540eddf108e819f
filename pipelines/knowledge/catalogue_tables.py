"""The provider of the catalogue's published tables (``pipelines/pipeline/extra_tables.py``): ``courses``,
``course_demands``, ``course_matches``, ``course_gaps``, ``fund_contributions``, ``fund_activities`` and
``fund_report``, written in the same atomic release as the indicators. A record that breaks an error rule fails
the publish with its messages (nothing is half published)."""

from __future__ import annotations

import pandas as pd

from pipelines.knowledge import catalogue, fund, matching, survey


def build(settings, lang: str = "en") -> dict[str, pd.DataFrame]:
    courses = catalogue.load_courses(settings, lang)
    answers = survey.answers(settings, lang)
    tables = {"courses": courses, **matching.build(settings, courses, answers), **fund.published(settings, lang)}
    return {name: stable_types(df) for name, df in tables.items()}


DATE_COLUMNS = {"start_date", "end_date", "period_start", "period_end", "date"}


def stable_types(df: pd.DataFrame) -> pd.DataFrame:
    """Every column with a type that does not depend on the values of one release: text as text, lists as lists of
    text, dates as dates, even when every value is empty (else Parquet stores a NULL-typed column, or a list of
    NULL, and the view's type changes from one release to the next)."""
    import pyarrow as pa

    out = df.copy()
    for c in out.columns:
        if c in DATE_COLUMNS:
            out[c] = pd.array([None if v is None or (isinstance(v, float) and pd.isna(v)) else v for v in out[c]],
                              dtype=pd.ArrowDtype(pa.date32()))
        elif out[c].dtype == object:
            vals = out[c].dropna()
            if all(isinstance(v, str) for v in vals):
                out[c] = out[c].astype("string")
            elif all(isinstance(v, list) for v in vals):
                out[c] = pd.array([None if not isinstance(v, list) else [str(x) for x in v] for v in out[c]],
                                  dtype=pd.ArrowDtype(pa.list_(pa.string())))
    return out


def published_tables(settings, tables: dict) -> dict[str, pd.DataFrame]:
    return build(settings)
