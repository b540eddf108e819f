"""Corrections after publication: read stored submissions again (``reprocess``) or take one out
(``withdraw``); the next publish makes either public."""

from __future__ import annotations

from pipelines.adapters import SubmissionError
from pipelines.pipeline.ingest import ingest
from pipelines.pipeline.validate import validate
from pipelines.settings import Settings
from pipelines.storage import submissions as subs


def reprocess(settings: Settings, sids: list[str], *, by: str = "pipeline") -> dict[str, str]:
    """Read stored submissions again with the current spec and crosswalk (after a fix): every layer file
    they produced is replaced (or removed if the new reading is rejected). The bytes and the audit trail
    stay; a reviewer's decision is kept (``pipeline_may_set``). Returns {sid: status after}. Publish to
    make the new reading public."""
    out = {}
    for sid in sids:
        st = subs.read_status(settings.landing_dir, sid)
        if st.get("status") == "withdrawn":
            raise ValueError(f"{sid} is withdrawn: it is not read again")
        subs.set_status(settings.landing_dir, sid, st.get("status", "received"), by=by,
                        detail="reprocess: read again with the current spec and crosswalk")
        try:
            ingest(settings, sid)
            validate(settings, sid)
        except SubmissionError:
            pass   # rejected: the report says why; nothing of the earlier reading is left
        out[sid] = subs.read_status(settings.landing_dir, sid)["status"]
    return out


def withdraw(settings: Settings, sid: str, *, reason: str, by: str) -> dict:
    """Take a submission out of the published warehouse from the next release on. The bytes, the reports
    and the audit trail stay; the release's changelog names it with the reason."""
    if not reason or not reason.strip():
        raise ValueError("a withdrawal needs a reason")
    st = subs.read_status(settings.landing_dir, sid)
    if st.get("status") == "withdrawn":
        raise ValueError(f"{sid} is already withdrawn")
    return subs.set_status(settings.landing_dir, sid, "withdrawn", by=by, detail=f"withdrawn: {reason.strip()}",
                           withdrawn={"by": by, "reason": reason.strip(), "previous_status": st.get("status")})
