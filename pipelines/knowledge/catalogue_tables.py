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
    return {"courses": courses, **matching.build(settings, courses, answers), **fund.published(settings, lang)}


def published_tables(settings, tables: dict) -> dict[str, pd.DataFrame]:
    return build(settings)
