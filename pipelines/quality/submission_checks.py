"""Blocking checks of one submission's standard table that depend on the submission itself — the date it was
received and the layout its file matched — rather than on a rule's thresholds. Each finding is a problem naming
file, line, column and rule; the engine reports it through rule S1 (``file_parses``) like the adapter's own
problems, so the submission is rejected (``hemistat validate`` and ``submit`` alike):

* **a period after receipt** (S1): a value for a year after the year the file was received, or for a month
  after the month it was received (a relabelled 2022 -> 2099 row). An empty cell of a future month (a
  monthly file's months not yet reported) has no value and is not a finding.
* **a count that reads as a thousands separator** (V1): with the declared decimal mark, '3.000' reads as 3;
  a count is a whole number, so three decimals of zeros are a thousands separator the spec does not declare.
  (Text that is not in the declared format at all — '3.000' with a decimal comma declared — is refused by the
  adapter itself: ``adapters.tabular.parse_numbers``.)
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd

from pipelines.adapters import Problem

MAX_PROBLEMS = 200


def _received_date(received_at) -> date:
    if received_at is None:
        return datetime.now(timezone.utc).date()
    if isinstance(received_at, datetime):
        return received_at.date()
    if isinstance(received_at, date):
        return received_at
    return datetime.fromisoformat(str(received_at)).date()


def _layouts(spec, layout: str | None) -> list[dict]:
    lays = [lay.as_dict() for lay in (spec.layouts if spec is not None else [])
            if layout is None or lay.name == layout]
    return lays or [lay.as_dict() for lay in (spec.layouts if spec is not None else [])]


def _role_column(layouts: list[dict], role: str) -> str | None:
    """The file column a role is read from, when every candidate layout reads it from the same column."""
    names = set()
    for lay in layouts:
        v = (lay.get("columns") or {}).get(role)
        names.add(v if isinstance(v, str) else (v or {}).get("column") if isinstance(v, dict) else None)
    return names.pop() if len(names) == 1 else None


def _connect(table):
    from pipelines.storage import duck

    con = duck.cursor()
    if isinstance(table, pd.DataFrame):
        con.register("t", table)
    else:
        con.register("t", con.read_parquet(str(table)))   # the cursor's own view (storage/duck.py)
    return con


def period_problems(con, *, received: date, file_name: str, layouts: list[dict]) -> list[Problem]:
    year_col, month_col = _role_column(layouts, "year"), _role_column(layouts, "month")
    rows = con.execute("""
        select line, column_name, year, month from t
        where value is not null and (year > ? or (month is not null and year = ? and month > ?))
        order by line, column_name limit ?""", [received.year, received.year, received.month, MAX_PROBLEMS]).fetchall()
    out = []
    for line, column_name, year, month in rows:
        by_year = year > received.year
        col = (year_col if by_year else month_col) or column_name
        period = str(year) if month is None else f"{year}-{int(month):02d}"
        out.append(Problem(file_name, int(line), col, "S1", value=str(year if by_year or month is None else month),
                           key="period_after_receipt", params={"period": period, "received": received.isoformat()}))
    return out


def count_format_problems(con, *, file_name: str, layouts: list[dict]) -> list[Problem]:
    out = []
    for decimal in sorted({(lay.get("reader") or {}).get("decimal") or "." for lay in layouts}):
        pattern = rf"[1-9][0-9]{{0,2}}(?:{re.escape(decimal)}[0-9]{{3}})+"
        rows = con.execute("""
            select line, column_name, trim(value_raw), value from t
            where unit = 'count' and value is not null and regexp_full_match(trim(value_raw), ?)
            order by line, column_name limit ?""", [pattern, MAX_PROBLEMS]).fetchall()
        for line, column_name, raw, value in rows:
            out.append(Problem(file_name, int(line), column_name, "V1", value=raw, key="count_ambiguous_grouping",
                               params={"value": raw, "read": f"{value:g}", "decimal": decimal}))
    return out


def submission_problems(table: pd.DataFrame | str | Path | None, spec, *, received_at=None,
                        layout: str | None = None, file_name: str) -> list[Problem]:
    """Every finding of this module on ``table`` (a DataFrame or the Parquet file of the standard table)."""
    if table is None:
        return []
    con = _connect(table)
    try:
        cols = {r[0] for r in con.execute("describe t").fetchall()}
        if not {"line", "column_name", "year", "month", "value", "value_raw", "unit"} <= cols:
            return []
        lays = _layouts(spec, layout)
        return (period_problems(con, received=_received_date(received_at), file_name=file_name, layouts=lays)
                + count_format_problems(con, file_name=file_name, layouts=lays))[:MAX_PROBLEMS]
    finally:
        con.close()
