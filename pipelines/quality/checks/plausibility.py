"""Checks of the rules in ``quality_rules/plausibility.yaml``: year-on-year changes, robust z-scores, breaks to zero, shares and rates within bounds."""

from __future__ import annotations

import logging

import pandas as pd

from pipelines.quality.checks._common import _fetch, _fetch_failures, _ident, _na, _result, facts
from pipelines.quality.registry import check

log = logging.getLogger(__name__)


def _annual(con) -> None:
    """Annual count series per key; monthly sources only for complete years (12 months reported).
    ``annual_prev`` adds the previous year's value of the same series (the year-on-year rules).
    Computed once per evaluation: temp tables on the evaluation's connection, shared by every rule that
    reads them (yoy_change, robust_zscore, break_to_zero and their charts)."""
    if {"annual", "annual_prev"} <= {r[0] for r in con.execute(
            "select table_name from duckdb_tables() where temporary").fetchall()}:
        return
    con.execute("""
        create temp table annual as
        select country_iso3, subdivision_code, national_code, measure, sex, age, relationship, year,
               sum(value) as value, count(value) as n_values, count(*) as n_cells,
               bool_or(month is not null) as monthly, min(line) as line, any_value(file_name) as file_name,
               case when bool_or(month is not null) then 'year total' else any_value(column_name) end as column_name
        from t where unit = 'count'
        group by country_iso3, subdivision_code, national_code, measure, sex, age, relationship, year
        having count(value) > 0 and (not bool_or(month is not null) or count(value) = 12)
    """)
    con.execute("""
        create temp table annual_prev as
        select *, lag(value) over w as prev, lag(year) over w as prev_year from annual
        window w as (partition by country_iso3, subdivision_code, national_code, measure, sex, age, relationship
                     order by year)
    """)


def _series_for_chart(con, keys: pd.DataFrame, flagged_col="year", limit=3) -> list[dict]:
    out = []
    for _, k in keys.head(limit).iterrows():
        pts = _fetch(con, """select year, value from annual where country_iso3 = ?
                              and subdivision_code is not distinct from ? and national_code = ? and measure = ?
                              and sex = ? and age = ? and relationship = ? order by year""",
                     [None if pd.isna(v) else v for v in (k.country_iso3, k.subdivision_code, k.national_code,
                                                           k.measure, k.sex, k.age, k.relationship)])
        label = f"{k.country_iso3}{'/' + k.subdivision_code if isinstance(k.subdivision_code, str) else ''} " \
                f"{k.national_code} ({k.measure}, {k.sex})"
        out.append({"label": label, "points": [(int(y), float(v)) for y, v in zip(pts.year, pts.value)],
                    "flagged": [int(k[flagged_col])]})
    return out


def _mapped_codes(ctx, iccs_code: str) -> list[str]:
    if ctx.crosswalk is None:
        return []
    x = ctx.crosswalk.dropna(subset=["iccs_code"])
    return sorted(x.loc[x["iccs_code"].astype(str).str.startswith(iccs_code), "national_code"])


@check("yoy_change")
def check_yoy_change(rule, table, ctx, con):
    _annual(con)
    mx = float(rule.params.get("max_rel", 0.3))
    kk = float(rule.params.get("poisson_k", 3))
    df, n = _fetch_failures(con, """
        select * from annual_prev
        where prev is not null and prev > 0 and prev_year = year - 1
          and abs(value - prev) > ? * prev and abs(value - prev) > ? * sqrt(prev + 1)
        order by abs(value - prev) / sqrt(prev + 1) desc, line
    """, [mx, kk])
    res = _result(rule, df.assign(observed=df["value"].astype(str), expected=df["prev"].astype(str),
                                  value=df["value"].astype(str)), n)
    res.series = _series_for_chart(con, df)
    return res


@check("robust_zscore")
def check_robust_zscore(rule, table, ctx, con):
    _annual(con)
    window = int(rule.params.get("window", 10))
    min_years = int(rule.params.get("min_years", 5))
    zmax = float(rule.params.get("max_abs_z", 3.5))
    df, n = _fetch_failures(con, """
        with s as (
            select a.*, list(value) over (
                partition by country_iso3, subdivision_code, national_code, measure, sex, age, relationship
                order by year range between ? preceding and 1 preceding) as hist
            from annual a),
        m as (select *, list_median(hist) as med, len(hist) as n_hist from s where len(hist) >= ?),
        d as (select *, list_median(list_transform(hist, lambda x: abs(x - med))) as mad from m)
        select *, 0.6745 * (value - med) / mad as z from d
        where mad > 0 and abs(0.6745 * (value - med) / mad) > ? and abs(value - med) > 3 * sqrt(med + 1)
        order by abs(0.6745 * (value - med) / mad) desc, line
    """, [window, min_years, zmax])
    res = _result(rule, df.assign(observed=df["z"].round(1).astype(str), expected=df["med"].astype(str),
                                  value=df["value"].astype(str)), n)
    res.series = _series_for_chart(con, df)
    return res


@check("break_to_zero")
def check_break_to_zero(rule, table, ctx, con):
    _annual(con)
    mb = float(rule.params.get("min_before", 10))
    df, n = _fetch_failures(con, """
        select *, 'drop to zero' as kind from annual_prev where value = 0 and prev >= ? order by line
    """, [mb])
    n_jumps, eg = con.execute("""
        select count(*), list(national_code || ' ' || year order by line)[1:3]
        from annual_prev where prev = 0 and value >= ? and not (value = 0 and prev >= ?)
    """, [mb, mb]).fetchall()[0]
    notes = [f"{n_jumps} series jump from 0 to >= {mb:g} (new categories or late starts), e.g. "
             + ", ".join(eg or [])] if n_jumps else []
    res = _result(rule, df.assign(observed=df["prev"].astype(str), expected=df["kind"],
                                  value=df["value"].astype(str)), n, notes=notes)
    res.series = _series_for_chart(con, df)
    return res


@check("share_range")
def check_share_range(rule, table, ctx, con):
    p = rule.params
    codes = _mapped_codes(ctx, str(p.get("iccs_code", "0101")))
    if not codes:
        return _na(rule, f"no national code maps to ICCS {p.get('iccs_code')}")
    dim = _ident(p.get("dimension", "sex"))
    have = facts(con).get(p.get("dimension", "sex"))
    if have is not None and p.get("part", "F") not in have:
        return _na(rule, "no breakdown by sex for these offences")
    df = _fetch(con, "with s as (select country_iso3, subdivision_code, year, "
                "sum(value) filter (where " + dim + " = '_T') as total, "
                "sum(value) filter (where " + dim + " = ?) as part, "
                "sum(value) filter (where " + dim + " = ?) as unknown, min(line) as line, "
                "any_value(file_name) as file_name "
                "from t where unit = 'count' and measure = ? and list_contains(?, national_code) and month is null "
                "group by all) select *, part / total as share, unknown / total as unknown_share from s "
                "where total > 0 and part is not null",
                [p.get("part", "F"), p.get("unknown_part", "_U"), p.get("measure", "victims"), codes])
    if df.empty:
        return _na(rule, "no breakdown by sex for these offences")
    bad = df[(df["share"] < float(p.get("min", 0))) | (df["share"] > float(p.get("max", 1)))
             | (df["unknown_share"].fillna(0) > float(p.get("unknown_max", 1)))]
    # the share of unknown sex beside it (a column of its own: the report words it in each language)
    return _result(rule, bad.assign(observed=bad["share"].round(3).astype(str),
                                    unknown_share=bad["unknown_share"].round(3),
                                    expected=f"{p.get('min')}–{p.get('max')}", column_name="sex",
                                    value=str(p.get("part", "F"))), extra=("unknown_share",))


@check("rate_range")
def check_rate_range(rule, table, ctx, con):
    """Rates above ``max`` are reported (rare, please confirm); rates above ``hard_max`` are reported as
    above the hard limit, with a note: a unit, population or decimal error is far more likely than a real
    rate. Both are findings of the rule's severity (warn: the harmonised layer blocks nothing, and whole
    subdivisions do reach such rates); the scorecard row's ``observed`` and ``notes`` count the hard ones."""
    p = rule.params
    df = _fetch(con, "select source_id, country_iso3, subdivision_code, year, rate_per_100k from t "
                "where iccs_code = ? and measure = 'offences' and month is null and sex = '_T' and age = '_T' "
                "and relationship = '_T' and rate_per_100k > ?", [p.get("iccs_code", "0101"), float(p.get("max", 100))])
    hard_max = p.get("hard_max")
    hard = df["rate_per_100k"] > float(hard_max) if hard_max is not None else pd.Series(False, index=df.index)
    rate = df["rate_per_100k"].round(1).astype(str)
    df = df.assign(observed=rate.where(~hard, rate + f" (above the hard limit {hard_max})"),
                   expected=f"<= {p.get('max')}", national_code=p.get("iccs_code"))
    df.loc[hard, "expected"] = f"<= {hard_max} (hard limit: a unit, population or decimal error is likely)"
    above_hard = df[hard]
    notes, observed = [], None
    if len(above_hard):
        observed = f"{len(above_hard)} of {len(df)} rate(s) above {p.get('max')} are above the hard limit {hard_max}"
        notes.append(f"{len(above_hard)} rate(s) above the hard limit {hard_max} per 100,000 (check the unit, the "
                     "population and the decimal mark): " + ", ".join(
                         f"{r.country_iso3}{'/' + r.subdivision_code if isinstance(r.subdivision_code, str) else ''} "
                         f"{r.year} {r.source_id} {r.rate_per_100k:.1f}" for r in above_hard.head(10).itertuples()))
    return _result(rule, pd.concat([above_hard, df[~hard]]), notes=notes, observed=observed)  # likely errors first
