"""Checks of the rules in ``quality_rules/structure.yaml``: the file parses, declares its encoding, and a monthly series has its 12 months."""

from __future__ import annotations

import logging

import pandas as pd

from pipelines.quality.checks._common import _fetch_failures, _na, _result, facts
from pipelines.quality.registry import check
from pipelines.quality.results import MONTHS_ES, RuleResult

log = logging.getLogger(__name__)


PROBLEM_COLUMNS = ("observed_key", "observed_params")


def _problem_rows(problems) -> pd.DataFrame:
    """Adapter problems as failure rows. ``observed`` is the English message; ``observed_key`` and
    ``observed_params`` (JSON) let the report render it in each language (pipelines/adapters/messages.py)."""
    import json

    return pd.DataFrame([{"file_name": p.file, "line": p.line, "column_name": p.column, "value": p.value,
                          "observed": p.message, "observed_key": p.key,
                          "observed_params": json.dumps(p.params, ensure_ascii=False, default=str) if p.key else None}
                         for p in problems])


@check("file_parses", problems=True)
def check_file_parses(rule, table, ctx, problems=None):
    """The adapter's problems (S1/V1/C3); an encoding that does not fit (S2) too when it stopped the file from
    being read (no table): it is then why the file is rejected, an error, not only S2's warning."""
    rules = ("S1", "V1", "C3") + (("S2",) if table is None else ())
    probs = [p for p in (problems or []) if p.rule in rules]
    if not probs:
        return RuleResult(rule, "pass")
    return _result(rule, _problem_rows(probs), extra=PROBLEM_COLUMNS)


@check("encoding_declared", problems=True)
def check_encoding_declared(rule, table, ctx, problems=None):
    import json

    probs = [p for p in (problems or []) if p.rule == "S2"]
    if probs:
        return _result(rule, _problem_rows(probs), extra=PROBLEM_COLUMNS)
    layouts = ctx.spec.layouts if ctx.spec else []
    undeclared = [lay.name for lay in layouts if lay.reader is None or lay.reader.encoding is None]
    if undeclared:
        df = pd.DataFrame([{"observed": f"layout {n}: encoding not declared (utf-8 assumed)",
                            "observed_key": "encoding_not_declared",
                            "observed_params": json.dumps({"layout": str(n)}, ensure_ascii=False)}
                           for n in undeclared])
        return _result(rule, df, extra=PROBLEM_COLUMNS)
    encs = sorted({lay.reader.encoding for lay in layouts})
    return RuleResult(rule, "pass", observed="declared: " + ", ".join(encs))


@check("months_complete")
def check_months_complete(rule, table, ctx, con):
    if not facts(con).get("has_month"):
        return _na(rule, "no monthly data")
    expected = int(rule.params.get("expected_months", 12))
    allow = bool(rule.params.get("allow_incomplete_last_year", True))
    # one cell per key and month (C4 reports duplicates), so counting values counts months
    con.execute("""
        create or replace temp table __months as
        with k as (
            select country_iso3, subdivision_code, national_code, measure, sex, age, relationship, year,
                   count(value) as n, max(case when value is not null then month end) as last_month,
                   min(line) as line, any_value(file_name) as file_name,
                   bit_or(case when value is null then (1::bigint << month) else 0::bigint end) as missing_bits
            from t where month is not null and unit = 'count'
            group by all)
        select *, [m for m in range(1, 13) if (missing_bits >> m) & 1 = 1] as missing,
               (select max(year) from t) as max_year,
               ? and year = (select max(year) from t) and coalesce(last_month, 0) = n as is_trailing
        from k where n <> ?
    """, [allow, expected])
    notes = []
    n_prov, prov_year = con.execute("select count(*), any_value(year) from __months where is_trailing").fetchall()[0]
    months = con.execute("select list(distinct m order by m) from (select unnest(missing) as m from __months "
                         "where is_trailing)").fetchall()[0][0]
    if n_prov:
        months = [int(m) for m in (months or []) if m is not None]
        notes.append(f"provisional period: {int(prov_year)} months "
                     f"{', '.join(MONTHS_ES[m] for m in months)} not yet reported (empty, not zero) "
                     f"in {n_prov} series; the year is published with obs_status P")
    df, n = _fetch_failures(con, "select * exclude (is_trailing) from __months where not is_trailing order by line")
    con.execute("drop table __months")
    df = df.assign(observed=df["n"].astype(str), expected=str(expected), column_name="month",
                   value=df["missing"].map(lambda m: ",".join(str(int(x)) for x in (m if m is not None else []))))
    return _result(rule, df, n, notes=notes)
