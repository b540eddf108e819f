"""Checks of the rules in ``quality_rules/classification.yaml``: national codes are known, mapped to ICCS by the crosswalk, and each cell is unique."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from pipelines.quality.checks._common import _columns, _fetch, _fetch_failures, _ident, _na, _result
from pipelines.quality.registry import check

log = logging.getLogger(__name__)


@check("crosswalk_covers")
def check_crosswalk_covers(rule, table, ctx, con):
    if ctx.crosswalk is None:
        return _na(rule, "no crosswalk for this source")
    xw = ctx.crosswalk
    cols = {"national_code": xw["national_code"]}
    for c in ("valid_from", "valid_to"):
        cols[c] = pd.to_numeric(xw[c], errors="coerce").astype("Int64") if c in xw.columns else pd.NA
    con.register("xw", pd.DataFrame(cols))
    # a row applies to the years valid_from..valid_to (inclusive; empty = open): a code with a value in a
    # year outside them has no row in force for that year
    df = _fetch(con, """
        with miss as (
            select t.national_code, t.year, any_value(t.file_name) as file_name, min(t.line) as line,
                   count(*) as n
            from t where not exists (select 1 from xw x where x.national_code = t.national_code
                                     and t.year between coalesce(x.valid_from, t.year) and coalesce(x.valid_to, t.year))
              -- an empty cell of a code outside its validity is not a use of it (FBI rape_revised before 2013)
              and (t.value is not null or t.national_code not in (select national_code from xw))
            group by t.national_code, t.year)
        select m.*, 'national_code' as column_name, m.national_code as value,
               (select string_agg(coalesce(cast(x.valid_from as varchar), '…') || '–'
                                  || coalesce(cast(x.valid_to as varchar), '…'), ', ')
                from xw x where x.national_code = m.national_code) as valid
        from miss m order by m.line
    """)
    return _result(rule, df.assign(observed=df["n"].astype(str) + " cells",
                                   expected=np.where(df["valid"].notna(), "a crosswalk row valid in " + df["year"].astype(str)
                                                     + " (the row is valid " + df["valid"].fillna("") + ")",
                                                     "a crosswalk row")))


@check("iccs_code_valid")
def check_iccs_code_valid(rule, table, ctx, con):
    if ctx.crosswalk is None:
        return _na(rule, "no crosswalk for this source")
    from pipelines.harmonise import reference as ref

    codes = set(ref.iccs(ctx.reference_dir)["code"])
    rx = rule.params.get("pattern", r"^\d{2}(\d{2}(\d(\d)?)?)?$")
    # column-wise over the crosswalk (it is the same for every file of a source; a row loop cost 80 ms a file)
    xw = ctx.crosswalk.reset_index(drop=True)
    c = xw["iccs_code"] if "iccs_code" in xw.columns else pd.Series([None] * len(xw), dtype="object")
    filled = c.notna() & (c.astype("str") != "")
    text = c.astype("str")
    wrong = filled & ~(text.str.fullmatch(rx).fillna(False).astype(bool)
                       & text.isin(codes))
    bad = xw.loc[wrong]
    df = pd.DataFrame({"file_name": f"crosswalks/{ctx.spec.crosswalk if ctx.spec else ''}.csv",
                       "line": bad.index + 2, "column_name": "iccs_code", "value": bad["national_code"],
                       "national_code": text[wrong], "observed": text[wrong], "expected": "an ICCS code"})
    return _result(rule, df.reset_index(drop=True))


@check("in_codelist")
def check_in_codelist(rule, table, ctx, con):
    """SQL over the table: per coded column, the empty cells (``not_nullable``) then the codes outside the list
    (``isin([...])``, named as pandera named them), each in table order; the first ``MAX_FAILURES`` with
    their file line and the count of all."""
    have = _columns(con)
    cols = {}
    for col, allowed in (rule.params.get("columns") or {}).items():
        if col not in have:
            continue
        if allowed == "reference:oas_members":
            allowed = sorted(ctx.countries or [])
        cols[col] = [str(a) for a in allowed]
    if not cols:
        return _na(rule, "no coded column present")
    ctxcols = [c for c in ("file_name", "line", "country_iso3", "subdivision_code", "year", "month",
                           "national_code") if c in have]
    parts, params = [], []
    for i, (col, allowed) in enumerate(cols.items()):
        c = _ident(col)
        for j, (cond, observed) in enumerate(((c + " is null", "not_nullable"),
                                              ("not list_contains(?, " + c + ")", f"isin({allowed!r})"))):
            parts.append("select " + ", ".join(ctxcols) + ", ? as column_name, cast(" + c + " as varchar) as value, "
                         "? as observed, " + str(2 * i + j) + " as __part, __row from t_rows where " + cond)
            params += [col, observed] + ([allowed] if j else [])
    df, n = _fetch_failures(con, "select * exclude (__part, __row) from (" + " union all ".join(parts)
                            + ") order by __part, __row", params)
    return _result(rule, df.assign(expected="a code of the list"), n)


@check("unique_key")
def check_unique_key(rule, table, ctx, con):
    have = _columns(con)
    cols = [c for c in rule.params.get("columns", []) if c in have]
    key = ", ".join(_ident(c) for c in cols)
    df, n = _fetch_failures(con, "select " + key + ", count(*) as n, min(line) as line, max(line) as line2, "
                            "any_value(file_name) as file_name from t group by " + key
                            + " having count(*) > 1 order by line")
    return _result(rule, df.assign(observed=df["n"].astype(str), expected="1",
                                   line=df["line"].astype(str) + ", " + df["line2"].astype(str)), n)
