"""Checks of the rules in ``quality_rules/completeness.yaml``: coverage of the expected units and of the core ICCS codes."""

from __future__ import annotations

import logging

import pandas as pd

from pipelines.quality.checks._common import _NAT, _fetch, _na, _result, facts
from pipelines.quality.registry import check
from pipelines.specs import SourceSpec

log = logging.getLogger(__name__)


def _units_listed_in_reference(spec: SourceSpec) -> bool:
    """Whether the subdivisions of the reference population table are units this source should report.
    Not for a report that covers chosen subdivisions only (``national_from_subdivisions: false``, e.g. a
    CEAD export for one region) nor for record-level files (one row per event: a unit without records had
    no recorded events, it did not fail to report - e.g. a Colombian municipality without homicides)."""
    return spec.derives_national and not spec.counts_records


@check("coverage_rate")
def check_coverage_rate(rule, table, ctx, con):
    """Reporting units / expected units per year. Expected = the subdivisions of the country in the
    reference population table plus every subdivision the file itself reports in some year: a unit
    present in other years but missing in one (a gap in the panel) is always reported; a year whose
    coverage falls below ``min_rate`` is reported with all its missing units."""
    if not facts(con).get("has_subdivision_code"):
        return _na(rule, "no subdivisions in this file")
    country = con.execute("select any_value(country_iso3) from t").fetchall()[0][0]
    in_file = {r[0] for r in con.execute("select distinct subdivision_code from t where subdivision_code is not null")
               .fetchall()}
    expected = set(in_file)
    if ctx.population_subnational is not None and (ctx.spec is None or _units_listed_in_reference(ctx.spec)):
        ps = ctx.population_subnational
        expected |= set(ps.loc[ps["country_iso3"] == country, "subdivision_code"].unique())
    con.register("expected_units", pd.DataFrame({"subdivision_code": sorted(expected),
                                                 "in_file": [c in in_file for c in sorted(expected)]}))
    minr = float(rule.params.get("min_rate", 0.95))
    df = _fetch(con, """
        with y as (select distinct year from t),
             rep as (select year, subdivision_code from t where value is not null
                     and subdivision_code is not null group by all),
             rate as (select y.year, (select count(*) from rep r where r.year = y.year)::double
                                     / (select count(*) from expected_units) as rate from y)
        select y.year, e.subdivision_code, e.in_file, rate.rate, (select any_value(file_name) from t) as file_name,
               ? as country_iso3
        from y cross join expected_units e join rate using (year)
        where not exists (select 1 from rep r where r.year = y.year and r.subdivision_code = e.subdivision_code)
        order by y.year, e.subdivision_code
    """, [country])
    bad = df[(df["rate"] < minr) | df["in_file"]]
    notes = []
    if len(bad):
        gaps = bad.groupby("subdivision_code")["year"].agg(["min", "max", "count"])
        notes = [f"{u}: missing {int(r['count'])} year(s) between {int(r['min'])} and {int(r['max'])}"
                 for u, r in gaps.iterrows()][:20]
    return _result(rule, bad.assign(observed=bad["rate"].round(3).astype(str), expected=f">= {minr}",
                                    column_name="subdivision_code", subdivision_code=bad["subdivision_code"],
                                    value=bad["subdivision_code"]), notes=notes)


@check("completeness_rate")
def check_completeness_rate(rule, table, ctx, con):
    core = [str(c) for c in rule.params.get("core_iccs", [])]
    df = _fetch(con, "select source_id, country_iso3, year, count(distinct iccs_code) filter "
                "(where list_contains(?, iccs_code) and value is not null) / ?::double as rate from t where "
                "measure = 'offences' and " + _NAT + " group by all", [core, len(core)])
    if df.empty:
        return _na(rule, "no national annual rows")
    target = float(rule.params.get("target", 0.9))
    bad = df[df["rate"] < target]
    obs = f"median completeness {df['rate'].median():.0%} of {len(core)} core ICCS codes"
    return _result(rule, bad.assign(observed=bad["rate"].round(2).astype(str), expected=f">= {target}"), observed=obs)
