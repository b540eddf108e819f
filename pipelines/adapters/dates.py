"""Date columns (``date_part`` roles): read exactly as the source spec declares, never guessed.

A role ``{column: Fecha, date_part: year|month}`` takes the year or month of a date column. Which text is
a date is decided by the spec, not by the value:

* **Date cells of a workbook** (xlsx cells typed as dates) are dates; they are always accepted.
* **ISO 8601** ``yyyy-mm-dd``, optionally followed by a time (``T`` or space, ``hh:mm`` or ``hh:mm:ss``
  with optional fraction), can be read only one way and is accepted when the spec declares no format.
* Any **other text** (``5/3/2023``, ``05-03-2023``, ``03/2023``, an Excel serial number such as
  ``45016``) needs ``date_format`` on the role: one ``strptime`` format (``"%d/%m/%Y"``) or a list of
  them. Without it the value is refused (``date_format_undeclared``), even a value such as
  ``25/3/2023`` that could only be read one way: ``5/3/2023`` in the same column could not.
* With ``date_format`` declared, every non-empty text value must match one declared format exactly
  (``date_not_in_format``; ISO text too — a declared format says how the file writes its dates), and a
  value that several declared formats read as different dates is refused (``date_formats_ambiguous``).
  A format must contain ``%Y`` (four-digit year; ``%y`` would need a guessed century) and, when a role
  takes the month from it, ``%m``, ``%b`` or ``%B``.

A column is parsed once per file: the year and the month of a column come from the same parsed date,
and the roles that read the same column must declare the same ``date_format``.
"""

from __future__ import annotations

import datetime as _dt
import re

import pandas as pd

from pipelines.adapters.errors import Problem
from pipelines.specs.dates import MONTH_DIRECTIVES, date_columns, declared_formats  # noqa: F401 (the spec-level rules)

TYPED_PREFIX = "__typed_date|"  # hidden column: True where the workbook cell was typed as a date
ISO_RE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?")
MAX_DATE_PROBLEMS = 20


def prepare_date_columns(df: pd.DataFrame, records, layout: dict) -> None:
    """Check the layout's date roles (ValueError naming the layout) and mark, for each date column, the
    rows whose workbook cell was a typed date (``records.typed_dates`` of the xlsx reader, by line)."""
    try:
        cols = date_columns(layout.get("columns"))
    except ValueError as exc:
        raise ValueError(f"layout {layout.get('name')!r}: {exc}") from exc
    typed = getattr(records, "typed_dates", None) or {}
    for col in cols:
        if col in typed:
            df[TYPED_PREFIX + col] = df["__line"].isin(typed[col])


def _parse_one(text: str, formats: tuple[str, ...]):
    """(date, None) or (None, reason) for one text value."""
    if not formats:
        if not ISO_RE.fullmatch(text):
            return None, "undeclared"
        try:
            return _dt.datetime.fromisoformat(text), None
        except ValueError:
            return None, "invalid"
    got = set()
    for f in formats:
        try:
            got.add(_dt.datetime.strptime(text, f))
        except ValueError:
            continue
    if not got:
        return None, "format"
    if len(got) > 1:
        return None, "ambiguous"
    return got.pop(), None


def parse_dates(df: pd.DataFrame, s: pd.Series, column: str, formats: tuple[str, ...], file_name: str,
                problems: list[Problem]) -> pd.DataFrame:
    """Year and month (Int64 columns ``year``, ``month``; NA where empty or refused) of one date column,
    each row's both parts from one parsed date; refused values go to ``problems`` with the file, line,
    column and value."""
    typed = df[TYPED_PREFIX + column] if TYPED_PREFIX + column in df.columns else pd.Series(False, index=df.index)
    texts = s.fillna("")
    parsed: dict[str, object] = {}
    reasons: dict[str, str] = {}
    for v in texts[~typed].unique():
        if v == "":
            continue
        d, why = _parse_one(v, formats)
        parsed[v] = d
        if why:
            reasons[v] = why
    dates = texts[~typed].map(parsed)
    if typed.any():
        # a typed cell is rendered by the xlsx reader as datetime.isoformat(): read it back as such
        dates = pd.concat([dates, texts[typed].map(_dt.datetime.fromisoformat)]).reindex(df.index)
    ok = dates.notna()
    out = pd.DataFrame({"year": pd.array([pd.NA] * len(df), dtype="Int64"),
                        "month": pd.array([pd.NA] * len(df), dtype="Int64")}, index=df.index)
    out.loc[ok, "year"] = [d.year for d in dates[ok]]
    out.loc[ok, "month"] = [d.month for d in dates[ok]]
    bad = texts[~typed].isin(list(reasons))
    fmt = ", ".join(repr(f) for f in formats)
    undeclared = texts[~typed][bad].map(reasons).eq("undeclared")
    if undeclared.any():
        # the column needs a declared format, not row-by-row fixes: one problem, at its first such row
        idx = undeclared[undeclared].index[0]
        v = str(texts.at[idx])
        problems.append(Problem(file_name, int(df.at[idx, "__line"]), column, "S1", value=v,
                                key="date_format_undeclared",
                                params={"column": repr(column), "value": repr(v), "count": int(undeclared.sum())}))
        bad = bad & ~texts[~typed].map(reasons).eq("undeclared")
    for idx in bad[bad].index[:MAX_DATE_PROBLEMS]:
        v = str(texts.at[idx])
        line, why = int(df.at[idx, "__line"]), reasons[v]
        if why == "invalid":
            problems.append(Problem(file_name, line, column, "S1", value=v, key="not_a_date",
                                    params={"column": repr(column), "value": repr(v)}))
        elif why == "format":
            problems.append(Problem(file_name, line, column, "S1", value=v, key="date_not_in_format",
                                    params={"column": repr(column), "value": repr(v), "format": fmt}))
        else:
            problems.append(Problem(file_name, line, column, "S1", value=v, key="date_formats_ambiguous",
                                    params={"column": repr(column), "value": repr(v), "format": fmt}))
    return out
