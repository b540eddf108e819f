"""Checks of the rules in ``quality_rules/timeliness.yaml``: time lag and punctuality against the declared cadence (pipelines/quality/timeliness.py)."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timezone

import pandas as pd

from pipelines.quality.checks._common import _na, _result
from pipelines.quality.registry import check
from pipelines.quality.results import RuleResult

log = logging.getLogger(__name__)


def _period_end(year: int, month) -> datetime:
    if month is None or (isinstance(month, float) and math.isnan(month)) or pd.isna(month):
        return datetime(int(year), 12, 31, tzinfo=timezone.utc)
    m = int(month)
    return datetime(int(year) + (m == 12), (m % 12) + 1, 1, tzinfo=timezone.utc)


def _latest_period(con):
    rows = con.execute("""select year, max(month) from t where value is not null and
                          year = (select max(year) from t where value is not null) group by year""").fetchall()
    return rows[0] if rows else None


@check("time_lag")
def check_time_lag(rule, table, ctx, con):
    lp = _latest_period(con)
    if not lp:
        return _na(rule, "no values")
    end = _period_end(lp[0], lp[1])
    recv = ctx.received_at or datetime.now(timezone.utc)
    months = (recv - end).days / 30.44
    monthly = lp[1] is not None
    limit = float(rule.params.get("max_months_monthly" if monthly else "max_months_annual", 18))
    obs = f"{months:.1f} months after the end of the latest period ({lp[0]}{'-%02d' % lp[1] if monthly else ''})"
    if months > limit:
        return _result(rule, pd.DataFrame([{"observed": f"{months:.1f}", "expected": f"<= {limit:g}", "year": lp[0]}]),
                       observed=obs)
    return RuleResult(rule, "pass", observed=obs)


@check("punctuality")
def check_punctuality(rule, table, ctx, con):
    """Late when received after the due date of the newest period the file brings: that period's end +
    expected_lag_days + grace_days (pipelines.quality.timeliness, the same due date as source freshness)."""
    from pipelines.quality.timeliness import CADENCE_MONTHS, due_date

    cadence = ctx.spec.cadence if ctx.spec else None
    if cadence not in CADENCE_MONTHS:
        return _na(rule, "the source declares no publication cadence")
    lp = _latest_period(con)
    if not lp:
        return _na(rule, "no values")
    due = due_date(lp[0], None if lp[1] is None or pd.isna(lp[1]) else int(lp[1]), cadence=cadence, spec=ctx.spec,
                   grace_days=rule.params["grace_days"])
    recv = (ctx.received_at or datetime.now(timezone.utc)).date()
    late = (recv - due.date).days
    obs = f"received {recv.isoformat()}; {due.explain()}; cadence {cadence}"
    if late > 0:
        return _result(rule, pd.DataFrame([{"observed": f"{late}", "expected": due.date.isoformat(),
                                            "year": lp[0]}]), observed=obs)
    return RuleResult(rule, "pass", observed=obs)
