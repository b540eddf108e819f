"""Checks of the rules in ``quality_rules/validity.yaml``: values are in range and observation statuses are from the code list."""

from __future__ import annotations

import logging

from pipelines.quality.checks._common import _fetch_failures, _result
from pipelines.quality.registry import check

log = logging.getLogger(__name__)


@check("value_range")
def check_value_range(rule, table, ctx, con):
    mn = float(rule.params.get("min", 0))
    integer_units = list(rule.params.get("integer_units", ["count"]))
    df, n = _fetch_failures(con, """
        select file_name, line, column_name, cast(value as varchar) as value, country_iso3, subdivision_code, year,
               month, national_code,
               case when value < ? then 'below ' || ? else 'not an integer count' end as observed
        from t
        where value is not null and (value < ? or (list_contains(?, unit) and value <> floor(value))
                                     or isnan(value) or isinf(value))
        order by line
    """, [mn, str(mn), mn, integer_units])
    return _result(rule, df, n)


@check("obs_status_valid")
def check_obs_status_valid(rule, table, ctx, con):
    codes = list(rule.params.get("codes", []))
    need = list(rule.params.get("note_required_for", []))
    df, n = _fetch_failures(con, """
        select file_name, line, 'obs_status' as column_name, obs_status as value, country_iso3, subdivision_code,
               year, month, national_code,
               case when not list_contains(?, obs_status) then 'unknown flag' else 'flag without a note' end as observed
        from t where not list_contains(?, obs_status) or (list_contains(?, obs_status) and obs_note is null)
        order by line
    """, [codes, codes, need])
    return _result(rule, df, n)
