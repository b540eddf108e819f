"""Checks of the rules in ``quality_rules/consistency.yaml``: breakdowns sum to totals, children never exceed parents, reported rates match counts."""

from __future__ import annotations

import logging

import pandas as pd

from pipelines.quality.checks._common import _NAT, _fetch, _fetch_failures, _ident, _na, _result, facts
from pipelines.quality.registry import check

log = logging.getLogger(__name__)


def _population_join(con, ctx) -> bool:
    if ctx.population_national is None:
        return False
    from pipelines.harmonise.reference import preferred_national_population

    pref = preferred_national_population(ctx.population_national)
    con.register("popn", pref[["country_iso3", "year", "population"]])
    pops = ctx.population_subnational if ctx.population_subnational is not None else \
        pd.DataFrame(columns=["country_iso3", "subdivision_code", "year", "population"])
    con.register("pops", pops[["country_iso3", "subdivision_code", "year", "population"]])
    return True


@check("breakdown_sums_to_total")
def check_breakdown_sums_to_total(rule, table, ctx, con):
    dim = rule.params.get("dimension", "sex")
    total = rule.params.get("total", "_T")
    parts = list(rule.params.get("parts", ["M", "F", "_U"]))
    tol_abs = float(rule.params.get("tolerance_abs", 0))
    tol_rel = float(rule.params.get("tolerance_rel", 0))
    d = _ident(dim)
    have = facts(con).get(dim)
    if have is not None and not set(parts) & set(have):
        return _na(rule, f"no breakdown by {dim} in this file (only {', '.join(sorted(have)) or 'no values'})")
    others = [c for c in ("country_iso3", "subdivision_code", "year", "month", "national_code", "measure",
                          "sex", "age", "relationship") if c != dim]
    g = ", ".join(_ident(c) for c in others)
    sql = ("with x as (select " + g + ", "
           "max(value) filter (where " + d + " = ?) as total, "
           "sum(value) filter (where list_contains(?, " + d + ")) as parts_sum, "
           "count(value) filter (where list_contains(?, " + d + ")) as n_parts, "
           "min(line) filter (where " + d + " = ?) as line, any_value(file_name) as file_name "
           "from t where unit = 'count' group by " + g + ") "
           "select * from x where total is not null and n_parts > 0 and abs(total - parts_sum) > ? + ? * total "
           "order by line")
    df, n = _fetch_failures(con, sql, [total, parts, parts, total, tol_abs, tol_rel])
    return _result(rule, df.assign(observed=df["parts_sum"].astype(str),
                                   expected=df["total"].astype(str), column_name=dim), n)


@check("hierarchy_child_le_parent")
def check_hierarchy_child_le_parent(rule, table, ctx, con):
    if ctx.hierarchy is None or ctx.hierarchy.empty:
        return _na(rule, "the source declares no parent/child codes")
    con.register("hier", ctx.hierarchy)
    tol = float(rule.params.get("sum_tolerance_rel", 0))
    df = _fetch(con, """
        with k as (
            select c.country_iso3, c.subdivision_code, c.year, c.month, h.parent_code, c.measure, c.sex, c.age,
                   c.relationship, sum(c.value) as kids, count(*) as n_kids, min(c.line) as kid_line,
                   string_agg(c.national_code, '+' order by c.national_code) as kid_codes
            from t c join hier h on h.child_code = c.national_code
            where c.unit = 'count' group by all)
        select p.file_name, p.line, p.column_name, p.country_iso3, p.subdivision_code, p.year, p.month,
               p.national_code, p.value as parent_value, k.kids, k.kid_codes, k.n_kids
        from t p join k on k.parent_code = p.national_code and k.country_iso3 = p.country_iso3
          and k.subdivision_code is not distinct from p.subdivision_code and k.year = p.year
          and k.month is not distinct from p.month and k.measure = p.measure and k.sex = p.sex
          and k.age = p.age and k.relationship = p.relationship
        where p.unit = 'count' and p.value is not null
        order by p.line
    """)
    notes = []
    if len(df):
        both = df[df["kids"].notna()]
        notes.append(f"{len(both)} parent rows are published together with their children "
                     f"({both['national_code'].nunique()} parent codes, e.g. "
                     f"{', '.join(sorted(both['national_code'].unique())[:6])}): summing every row would count "
                     f"{int(both['kids'].sum()):,} units twice; hemistat uses the children plus the parent's residual")
    bad = df[df["kids"] > df["parent_value"] * (1 + tol)]
    return _result(rule, bad.assign(observed=bad["kids"].astype(str), expected=bad["national_code"] + " = "
                                    + bad["parent_value"].astype(str), national_code=bad["kid_codes"],
                                    value=bad["parent_value"].astype(str)), notes=notes)


@check("reported_rate_matches")
def check_reported_rate_matches(rule, table, ctx, con):
    if "rate_per_100k" not in (facts(con).get("unit") or []):
        return _na(rule, "the file reports no rates")
    if not _population_join(con, ctx):
        return _na(rule, "no reference population")
    warn_rel = float(rule.params.get("warn_rel", 0.01))
    base_rel = float(rule.params.get("different_base_rel", 0.03))
    df = _fetch(con, """
        with r as (
            select r.*, c.value as count_value,
                   coalesce(case when r.subdivision_code is null then n.population end, s.population) as pop
            from t r
            join t c on c.unit = 'count' and c.country_iso3 = r.country_iso3
              and c.subdivision_code is not distinct from r.subdivision_code and c.year = r.year
              and c.month is not distinct from r.month and c.national_code = r.national_code
              and c.measure = r.measure and c.sex = r.sex and c.age = r.age and c.relationship = r.relationship
            left join popn n on r.subdivision_code is null and n.country_iso3 = r.country_iso3 and n.year = r.year
            left join pops s on s.country_iso3 = r.country_iso3 and s.subdivision_code = r.subdivision_code
                            and s.year = r.year
            where r.unit = 'rate_per_100k' and r.value is not null and c.value is not null and r.sex = '_T'
              and r.month is null)
        select *, count_value / pop * 100000 as implied,
               abs(value - count_value / pop * 100000) / nullif(count_value / pop * 100000, 0) as rel
        from r where pop is not null and count_value > 0
    """)
    if df.empty:
        return _na(rule, "no rate with a matching count and reference population")
    bad = df[df["rel"] > warn_rel]
    n_base = int((bad["rel"] > base_rel).sum())
    notes = [f"{n_base} rate(s) differ by more than {base_rel:.0%}: the publisher uses a different population base"] \
        if n_base else []
    return _result(rule, bad.assign(observed=(bad["rel"] * 100).round(2).astype(str) + "%",
                                    expected=bad["implied"].round(4).astype(str),
                                    value=bad["value"].astype(str)), notes=notes,
                   observed=f"median relative difference {df['rel'].median():.2%} over {len(df)} rates")


@check("measure_ratio")
def check_measure_ratio(rule, table, ctx, con):
    p = rule.params
    df = _fetch(con, "with x as (select source_id, country_iso3, year, "
                "max(value) filter (where measure = ?) as num, max(value) filter (where measure = ?) as den "
                "from t where iccs_code = ? and " + _NAT + " group by all) "
                "select *, num / den as ratio from x where num is not null and den > 0",
                [p.get("numerator", "victims"), p.get("denominator", "offences"), p.get("iccs_code", "0101")])
    if df.empty:
        return _na(rule, "no country-year with both measures")
    bad = df[(df["ratio"] < float(p.get("min", 0))) | (df["ratio"] > float(p.get("max", 1e9)))]
    return _result(rule, bad.assign(observed=bad["ratio"].round(3).astype(str),
                                    expected=f"{p.get('min')}–{p.get('max')}", national_code=p.get("iccs_code")))
