"""Who decides what: holds for a reviewer's approval, acknowledgements of warnings."""

from __future__ import annotations

import json

from pipelines.settings import Settings
from pipelines.storage import submissions as subs

HOLD_DETAIL = "awaiting publication approval by a reviewer"
DECIDED = ("approved", "published", "superseded")   # a reviewer's approval and what follows from it


def needs_approval(man) -> bool:
    """Files uploaded through the portal are published only after a reviewer approves them."""
    return man.channel == "web"


def pipeline_may_set(st: dict) -> bool:
    """A re-run of a step never undoes a person's decision (approval, refusal, withdrawal) or a publication
    (e.g. Dagster's landing_sensor ingesting a web upload a reviewer withdrew before its first run)."""
    return st.get("status") not in (*DECIDED, "withdrawn") and not st.get("decision")


def failing_warnings(settings: Settings, sid: str) -> list[str]:
    report = json.loads((subs.submission_dir(settings.landing_dir, sid) / "report.json").read_text("utf-8"))
    return [r["rule_id"] for r in report["rules"] if r["status"] == "fail" and r["severity"] == "warn"]


def acknowledge(settings: Settings, sid: str, rule_ids: list[str], *, by: str, reason: str) -> dict:
    """A statistician acknowledges warn results (who, when, why); when none is left the submission is
    validated and may be published."""
    if not reason.strip():
        raise ValueError("an acknowledgement needs a reason")
    st = subs.read_status(settings.landing_dir, sid)
    report = json.loads((subs.submission_dir(settings.landing_dir, sid) / "report.json").read_text("utf-8"))
    failing_warn = {r["rule_id"] for r in report["rules"] if r["status"] == "fail" and r["severity"] == "warn"}
    unknown = set(rule_ids) - failing_warn
    if unknown:
        raise ValueError(f"not a failing warn rule of {sid}: {', '.join(sorted(unknown))}")
    from datetime import datetime, timezone

    acks = st.get("acknowledgements", [])
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    acks += [{"rule_id": r, "by": by, "at": now, "reason": reason} for r in rule_ids]
    done = {a["rule_id"] for a in acks}
    new_status = st["status"]
    detail = f"acknowledged {', '.join(rule_ids)}: {reason}"
    if st["status"] == "awaiting_review" and failing_warn <= done:
        if needs_approval(subs.read_manifest(settings.landing_dir, sid)):
            detail += "; " + HOLD_DETAIL
        else:
            new_status = "validated"
    return subs.set_status(settings.landing_dir, sid, new_status, by=by, detail=detail, acknowledgements=acks)
