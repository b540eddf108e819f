"""The quality results of one submission as Parquet files: the scorecard, the failing rows, the
country-years covered (``<data>/quality/<sid>*.parquet``), read back by the publish step."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.quality.results import scorecard_frame
from pipelines.settings import Settings

_INT = re.compile(r"\d+")


def quality_dir(settings: Settings) -> Path:
    return settings.data_dir / "quality"


def _line_numbers(v) -> list[int]:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return []
    if isinstance(v, (int, float, np.integer, np.floating)):
        return [int(v)]
    return [int(x) for x in _INT.findall(str(v))]


def _failure_frame(frames: list[pd.DataFrame], empty_columns: list[str]) -> pd.DataFrame:
    """Failing rows of several rules in one frame with stable Parquet types (text, and Int64 numbers)."""
    f = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=empty_columns)
    if "line" in f.columns:
        # a failure may span several lines ("4, 21": a duplicate, C4): ``lines`` keeps them all, ``line``
        # the first, so no line is lost to a numeric conversion
        nums = [_line_numbers(v) for v in f["line"].tolist()]
        f["lines"] = [", ".join(map(str, xs)) or None for xs in nums]
        f["line"] = [xs[0] if xs else None for xs in nums]
    for c in f.columns:
        if c in ("line", "year", "month"):
            f[c] = pd.to_numeric(f[c], errors="coerce").astype("Int64")
        else:
            f[c] = f[c].astype("str").where(f[c].notna(), None)
    return f


def _country_years(table: pd.DataFrame | str | Path | None) -> pd.DataFrame:
    """The distinct (country_iso3, year) of the table that have at least one value (a year the file lists with
    empty cells only is not covered: published.quality_summary scores only country-years with data); a Parquet
    file is read by DuckDB, never loaded."""
    if table is None:
        return pd.DataFrame(columns=["country_iso3", "year"])
    if isinstance(table, pd.DataFrame):
        with_value = table[table["value"].notna()] if "value" in table.columns else table
        return with_value[["country_iso3", "year"]].drop_duplicates() if len(with_value) else \
            pd.DataFrame(columns=["country_iso3", "year"])
    from pipelines.storage import duck

    con = duck.cursor()
    try:
        # first appearance order, as drop_duplicates keeps it
        return con.execute("select country_iso3, year from (select country_iso3, year, min(file_row_number) as r "
                           "from read_parquet(?, file_row_number = true) where value is not null group by all) "
                           "order by r", [str(table)]).df()
    finally:
        con.close()


def _quality_tables(sid: str, source_id: str, results, table: pd.DataFrame | str | Path | None):
    rows = scorecard_frame([{"submission_id": sid, "source_id": source_id, **r.as_row()} for r in results])
    cy = _country_years(table)
    country = None
    if len(cy) and cy["country_iso3"].nunique() == 1:
        country = cy["country_iso3"].iloc[0]
    fails = []
    for r in results:
        if len(r.failures):
            f = r.failures.copy()
            if country is not None:
                f["country_iso3"] = f["country_iso3"].fillna(country) if f["country_iso3"].notna().any() \
                    else country
            f.insert(0, "rule_id", r.rule.id)
            f.insert(0, "submission_id", sid)
            fails.append(f)
    fdf = _failure_frame(fails, ["submission_id", "rule_id"])
    return rows, fdf, cy
