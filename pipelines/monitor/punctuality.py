"""Punctuality: is a source late against its declared cadence? The due date of a period is
``pipelines.quality.timeliness.due_date`` (its end + expected_lag_days + rule T2's grace days), the same
function rule T2 applies to each submission."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from pipelines import pipeline
from pipelines.adapters import load_all_specs, load_spec
from pipelines.quality.rules import load_rules
from pipelines.quality.timeliness import CADENCE_MONTHS, due_date, expected_lag, next_period
from pipelines.settings import Settings


def latest_period(settings: Settings, source_id: str) -> dict | None:
    """Latest (year, month) with a value among the source's submissions that passed validation
    (validated, awaiting review, approved or published): delivery is what punctuality measures."""
    acc = pipeline.accepted_submissions(settings, statuses=pipeline.PUBLISHABLE + ("awaiting_review",))
    if acc.empty:
        return None
    acc = acc[acc["source_id"] == source_id]
    best = None
    for rec in acc.to_dict("records"):
        df = pd.read_parquet(rec["validated_path"], columns=["year", "month", "value"])
        df = df[df["value"].notna()]
        if df.empty:
            continue
        y = int(df["year"].max())
        months = df.loc[df["year"] == y, "month"].dropna()
        m = int(months.max()) if len(months) else None
        key = (y, m or 0)
        if best is None or key > best[0]:
            best = (key, {"year": y, "month": m, "submission_id": rec["submission_id"],
                          "received_at": rec.get("received_at")})
    if best is None:
        return None
    best[1]["submissions"] = int(len(acc))
    return best[1]


def t2_grace_days(settings: Settings, source_id: str) -> int:
    """T2's ``grace_days`` for the source (its overrides applied; the parameter model's default when the
    rule file does not set it). Unreadable rules raise: a broken rule file is not a default."""
    t2 = next(r for r in load_rules(settings.rules_dir, source_id, reference_dir=settings.reference_dir)
              if r.id == "T2")
    return int(t2.params["grace_days"])


def lateness(settings: Settings, source_id: str, now: datetime | None = None) -> dict:
    """Is the source late? ``{source_id, cadence, latest_period, latest_period_end, next_period,
    expected_lag_days, lag_declared, grace_days, due, late (True/False/None), days_late, message}``.

    ``due`` is ``timeliness.due_date`` of the period after the latest one covered (its end +
    expected_lag_days + T2's grace days), the same function T2 applies to each submission. ``late`` is
    None when it cannot be judged (irregular cadence, nothing accepted yet)."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    spec = load_spec(source_id, settings.reference_dir)
    cadence = spec.cadence
    lag = spec.expected_lag_days
    out = {"source_id": source_id, "cadence": cadence, "checked_at": now.isoformat(timespec="seconds"),
           "latest_period": None, "latest_period_end": None, "next_period": None,
           "expected_lag_days": lag, "lag_declared": lag is not None, "grace_days": t2_grace_days(settings, source_id),
           "due": None, "late": None, "days_late": None, "submission_id": None, "message": ""}
    if cadence not in CADENCE_MONTHS:
        out["message"] = f"cadence {cadence or 'not declared'}: punctuality cannot be judged"
        return out
    out["expected_lag_days"], _ = expected_lag(spec, cadence)
    lp = latest_period(settings, source_id)
    if lp is None:
        out["message"] = "no accepted submission yet: punctuality cannot be judged"
        return out
    latest = due_date(lp["year"], lp["month"], cadence=cadence, spec=spec, grace_days=out["grace_days"])
    ny, nm = next_period(lp["year"], lp["month"], latest.cadence)
    nxt = due_date(ny, nm, cadence=cadence, spec=spec, grace_days=out["grace_days"])
    days_late = (now.date() - nxt.date).days
    out.update(latest_period=latest.period, latest_period_end=(latest.period_end - timedelta(days=1)).isoformat(),
               next_period=nxt.period, due=nxt.date.isoformat(), late=days_late > 0, days_late=max(days_late, 0),
               submission_id=lp["submission_id"])
    out["message"] = (f"latest period {latest.period}; {nxt.period} was due by {nxt.date.isoformat()} "
                      f"({nxt.cadence} period end + {nxt.lag_days} days lag{'' if nxt.lag_declared else ' (default)'} "
                      f"+ {nxt.grace_days} days grace)"
                      + (f": {days_late} days late" if days_late > 0 else ": on time"))
    return out


def lateness_all(settings: Settings, now: datetime | None = None) -> list[dict]:
    return [lateness(settings, sid, now) for sid in sorted(load_all_specs(settings.reference_dir, strict=False))]


def _received_periods(paths: list[str]) -> pd.DataFrame:
    """(country_iso3, year, month) with at least one value in the given validated tables, read by DuckDB."""
    import duckdb

    if not paths:
        return pd.DataFrame(columns=["country_iso3", "year", "month"])
    con = duckdb.connect()
    try:
        return con.execute("select country_iso3, cast(year as bigint) as year, cast(month as bigint) as month "
                           "from read_parquet(?, union_by_name = true) where value is not null group by all",
                           [paths]).df()
    finally:
        con.close()


def expected_missing(settings: Settings, source_id: str, now: datetime | None = None,
                     max_per_country: int = 24) -> list[dict]:
    """What a source should have delivered by now and has not: for each country it reports, every period of its
    cadence from the first one received to the last one already due (``timeliness.due_date``: period end +
    expected_lag_days + T2's grace) for which no submission that passed validation has a value —
    ``{source_id, country_iso3, period, due, days_overdue, message}`` ("ARG 2024 not received: due by 2025-07-30").
    Irregular or undeclared cadences expect nothing. A monthly source whose files hold only annual rows is
    expected year by year."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    spec = load_spec(source_id, settings.reference_dir)
    cadence = spec.cadence
    if cadence not in CADENCE_MONTHS:
        return []
    acc = pipeline.accepted_submissions(settings, statuses=pipeline.PUBLISHABLE + ("awaiting_review",))
    if acc.empty:
        return []
    acc = acc[acc["source_id"] == source_id]
    got = _received_periods([str(p) for p in acc["validated_path"]])
    if got.empty:
        return []
    grace = t2_grace_days(settings, source_id)
    out = []
    for country, g in got.groupby("country_iso3"):
        monthly = cadence in ("monthly", "quarterly") and g["month"].notna().any()
        eff = cadence if monthly else "annual"
        have = {due_date(int(y), int(m) if monthly and pd.notna(m) else None, cadence=cadence, spec=spec,
                         grace_days=grace).period for y, m in zip(g["year"], g["month"])
                if not monthly or pd.notna(m)}
        first = g.sort_values(["year", "month"], na_position="first").iloc[0]
        y, m = int(first["year"]), (int(first["month"]) if monthly and pd.notna(first["month"]) else (1 if monthly else None))
        missing = []
        for _ in range(2000):   # a bound: 2,000 periods
            d = due_date(y, m, cadence=cadence, spec=spec, grace_days=grace)
            if d.date > now.date():
                break
            if d.period not in have:
                missing.append({"source_id": source_id, "country_iso3": country, "period": d.period,
                                "due": d.date.isoformat(), "days_overdue": (now.date() - d.date).days,
                                "message": f"{country} {d.period} not received (due by {d.date.isoformat()})"})
            y, m = next_period(y, m, eff)
        out += missing[-max_per_country:]
    return out


def expected_missing_all(settings: Settings, now: datetime | None = None) -> list[dict]:
    return [r for sid in sorted(load_all_specs(settings.reference_dir, strict=False)) for r in expected_missing(settings, sid, now)]
