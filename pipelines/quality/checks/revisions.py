"""Checks of the rules in ``quality_rules/revisions.yaml``: size of revisions between vintages."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from pipelines.quality.checks._common import _fetch, _na, _result
from pipelines.quality.registry import check
from pipelines.quality.results import RuleResult
from pipelines.specs import scope_by

log = logging.getLogger(__name__)


def _revisions(con, ctx) -> pd.DataFrame | None:
    if ctx.previous is None or ctx.previous.empty:
        return None
    con.register("prev", ctx.previous[[c for c in ("country_iso3", "subdivision_code", "year", "month",
                                                   "national_code", "measure", "unit", "sex", "age",
                                                   "relationship", "value") if c in ctx.previous.columns]])
    # like with like: only the previous cells in the vintage units this file covers (its scope: country x
    # level x the spec's scope dimensions) can be revised or removed; the rest is outside its scope
    by = scope_by(ctx.spec)
    parts = ["country_iso3", "cast(subdivision_code is null as varchar)"] + \
        [{"year": "cast(year as varchar)", "subdivision_code": "coalesce(subdivision_code, '')",
          "national_code": "national_code"}[b] for b in by]
    ukey = "concat_ws('|', " + ", ".join(parts) + ")"
    con.execute("create or replace temp view prev_in_scope as select * from prev where " + ukey
                + " in (select distinct " + ukey + " from t where unit = 'count')")
    return _fetch(con, """
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


@check("revision_size")
def check_revision_size(rule, table, ctx, con):
    rv = _revisions(con, ctx)
    if rv is None:
        return _na(rule, "no previous vintage of this source")
    counts = rv["kind"].value_counts().to_dict()
    maxy = int(rv["year"].max())
    back = int(rule.params.get("min_years_back", 2))
    mx = float(rule.params.get("max_rel", 0.05))
    r = rv[(rv["kind"] == "revised") & (rv["year"] <= maxy - back)].copy()
    r["rel"] = (r["new_value"] - r["old_value"]).abs() / r["old_value"].abs().replace(0, np.nan)
    bad = r[(r["rel"] > mx) | (r["old_value"] == 0)]
    bad = pd.concat([bad, rv[(rv["kind"] == "removed") & (rv["year"] <= maxy - back)]])
    notes = [", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))]
    return _result(rule, bad.assign(observed=bad["new_value"].astype(str), expected=bad["old_value"].astype(str),
                                    value=bad["new_value"].astype(str)), notes=notes)


@check("mean_absolute_revision")
def check_mean_absolute_revision(rule, table, ctx, con):
    rv = _revisions(con, ctx)
    if rv is None:
        return _na(rule, "no previous vintage of this source")
    both = rv[rv["new_value"].notna() & rv["old_value"].notna()]
    if both.empty:
        return _na(rule, "no common cells with the previous vintage")
    d = both["new_value"] - both["old_value"]
    obs = f"MAR {d.abs().mean():.3f}, MR {d.mean():.3f}, MaxAR {d.abs().max():.0f} over {len(both)} cells"
    return RuleResult(rule, "pass", observed=obs, notes=[obs])
