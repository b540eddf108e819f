"""Rule T2 (punctuality): one due date for a period of a source, used by the submission check and the
source-freshness sensor alike.

    due(period) = end of the period + expected_lag_days + grace_days

* the end of a period is the first day after it (2024-11 ends on 2024-12-01; 2023 on 2024-01-01);
* ``expected_lag_days`` comes from the source spec, or ``DEFAULT_LAG_DAYS[cadence]`` when the spec
  declares none (reported as a default);
* ``grace_days`` is T2's parameter (``quality_rules/timeliness.yaml``, per-source overrides applied).

``check_punctuality`` (engine) asks whether a submission arrived by the due date of the newest period it
brings; ``pipelines.monitor.punctuality.lateness`` (the punctuality sensor) asks whether the period after the newest
one delivered is overdue now. No Dagster here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.specs import SourceSpec

CADENCE_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}
# used when a spec declares no expected_lag_days (reported as such)
DEFAULT_LAG_DAYS = {"monthly": 45, "quarterly": 90, "annual": 180}


def _add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


def period_bounds(year: int, month: int | None, cadence: str) -> tuple[str, date]:
    """(label, first day after the period) of the period containing (year, month) for a cadence; a period
    without a month is a year."""
    if cadence == "monthly" and month:
        return f"{year}-{month:02d}", _add_months(date(year, month, 1), 1)
    if cadence == "quarterly" and month:
        q = (month - 1) // 3 + 1
        return f"{year}-Q{q}", _add_months(date(year, 3 * (q - 1) + 1, 1), 3)
    return str(year), date(year + 1, 1, 1)


def next_period(year: int, month: int | None, cadence: str) -> tuple[int, int | None]:
    """(year, month) of the period after the one containing (year, month): its last month, or None for
    a year."""
    _, end = period_bounds(year, month, cadence)
    if not month or cadence not in ("monthly", "quarterly"):
        return year + 1, None
    last = _add_months(end, CADENCE_MONTHS[cadence]) - timedelta(days=1)
    return last.year, last.month


def expected_lag(spec: SourceSpec | None, cadence: str) -> tuple[int, bool]:
    """(expected_lag_days, declared): the value of the spec (a ``pipelines.specs.SourceSpec``), or the default
    of the cadence."""
    lag = getattr(spec, "expected_lag_days", None)
    if lag is None:
        return DEFAULT_LAG_DAYS[cadence], False
    return int(lag), True


@dataclass(frozen=True)
class Due:
    period: str             # label of the period (2024-11, 2024-Q3, 2023)
    period_end: date        # first day after the period
    lag_days: int
    lag_declared: bool
    grace_days: int
    cadence: str            # the cadence the period was read with (annual for a sub-annual source's years)

    @property
    def date(self) -> date:
        return self.period_end + timedelta(days=self.lag_days + self.grace_days)

    def explain(self) -> str:
        return (f"{self.period} ended {self.period_end.isoformat()} + {self.lag_days} days lag"
                f"{'' if self.lag_declared else ' (default)'} + {self.grace_days} days grace "
                f"= due {self.date.isoformat()}")


def due_date(year: int, month: int | None, *, cadence: str, spec: SourceSpec | None, grace_days: int) -> Due:
    """The date by which the period containing (year, month) is due from a source of ``cadence``
    (monthly | quarterly | annual). A sub-annual source's period without a month is read as a year."""
    if cadence not in CADENCE_MONTHS:
        raise ValueError(f"cadence {cadence!r}: no due date (monthly, quarterly or annual only)")
    eff = cadence if month else "annual"
    label, end = period_bounds(int(year), int(month) if month else None, eff)
    lag, declared = expected_lag(spec, cadence)
    return Due(period=label, period_end=end, lag_days=lag, lag_declared=declared, grace_days=int(grace_days),
               cadence=eff)
