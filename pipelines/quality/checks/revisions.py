"""Checks of the rules in ``quality_rules/revisions.yaml``: size of revisions between vintages."""

from __future__ import annotations

import logging

from pipelines.quality.checks._common import _fetch_failures, _na, _register, _result
from pipelines.quality.registry import check
from pipelines.quality.results import RuleResult
from pipelines.specs import scope_by

log = logging.getLogger(__name__)


def _revisions(con, ctx) -> bool:
    """The cells of this file joined with the previous vintage's (temp table ``__revisions``, once per
    evaluation: R1 and R2 read it); False without a previous vintage. ``ctx.previous`` is a DataFrame or the
    previous vintage's Parquet file, read in place."""
    if {r[0] for r in con.execute("select table_name from duckdb_tables() where temporary").fetchall()} \
            & {"__revisions"}:
        return True
    if not _register(con, "prev", ctx.previous, ["country_iso3", "subdivision_code", "year", "month",
                                                 "national_code", "measure", "unit", "sex", "age",
                                                 "relationship", "value"]):
        return False
    # like with like: only the previous cells in the vintage units this file covers (its scope: country x
    # level x the spec's scope dimensions) can be revised or removed; the rest is outside its scope
    by = scope_by(ctx.spec)
    parts = ["country_iso3", "cast(subdivision_code is null as varchar)"] + \
        [{"year": "cast(year as varchar)", "subdivision_code": "coalesce(subdivision_code, '')",
          "national_code": "national_code"}[b] for b in by]
    ukey = "concat_ws('|', " + ", ".join(parts) + ")"
    con.execute("create or replace temp view prev_in_scope as select * from prev where " + ukey
                + " in (select distinct " + ukey + " from t where unit = 'count')")
    con.execute("""
        create temp table __revisions as
        select coalesce(n.country_iso3, p.country_iso3) as country_iso3,
               coalesce(n.subdivision_code, p.subdivision_code) as subdivision_code,
               coalesce(n.year, p.year) as year, coalesce(n.month, p.month) as month,
               coalesce(n.national_code, p.national_code) as national_code, n.file_name, n.line, n.column_name,
               n.value as new_value, p.value as old_value,
               case when p.value is null and n.value is not null then 'added'
                    when n.value is null and p.value is not null then 'removed'
                    when n.value = p.value then 'stable' when n.value is null then 'stable' else 'revised' end as kind
        from (select * from t where unit = 'count') n
        full join (select * from prev_in_scope where unit = 'count') p
          on n.country_iso3 = p.country_iso3 and n.subdivision_code is not distinct from p.subdivision_code
         and n.year = p.year and n.month is not distinct from p.month and n.national_code = p.national_code
         and n.measure = p.measure and n.sex = p.sex and n.age = p.age and n.relationship = p.relationship
    """)
    return True


@check("revision_size")
def check_revision_size(rule, table, ctx, con):
    if not _revisions(con, ctx):
        return _na(rule, "no previous vintage of this source")
    counts = dict(con.execute("select kind, count(*) from __revisions group by kind").fetchall())
    back = int(rule.params.get("min_years_back", 2))
    mx = float(rule.params.get("max_rel", 0.05))
    # revised by more than max_rel (or from zero), then removed, in years at least min_years_back old
    bad, n = _fetch_failures(con, """
        with r as (select *, (select max(year) from __revisions) as maxy from __revisions)
        select * exclude (maxy, k) from (
            select *, 0 as k from r where kind = 'revised' and year <= maxy - ?
              and (abs(new_value - old_value) / nullif(abs(old_value), 0) > ? or old_value = 0)
            union all
            select *, 1 as k from r where kind = 'removed' and year <= maxy - ?)
        order by k, line, column_name, country_iso3, subdivision_code, year, month, national_code
    """, [back, mx, back])
    notes = [", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))]
    return _result(rule, bad.assign(observed=bad["new_value"].astype(str), expected=bad["old_value"].astype(str),
                                    value=bad["new_value"].astype(str)), n, notes=notes)


@check("mean_absolute_revision")
def check_mean_absolute_revision(rule, table, ctx, con):
    if not _revisions(con, ctx):
        return _na(rule, "no previous vintage of this source")
    n, mar, mr, maxar = con.execute("""
        select count(*), avg(abs(new_value - old_value)), avg(new_value - old_value), max(abs(new_value - old_value))
        from __revisions where new_value is not null and old_value is not null""").fetchall()[0]
    if not n:
        return _na(rule, "no common cells with the previous vintage")
    obs = f"MAR {mar:.3f}, MR {mr:.3f}, MaxAR {maxar:.0f} over {n} cells"
    return RuleResult(rule, "pass", observed=obs, notes=[obs])
