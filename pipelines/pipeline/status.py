"""What is pending and for whom: every submission with the person or step it waits for, and whether the
current release holds it. ``hemistat status`` prints it; ``hemistat publish`` uses it to say what a release
leaves out and why."""

from __future__ import annotations

from pipelines.pipeline.review import HOLD_DETAIL
from pipelines.settings import Settings
from pipelines.storage import release as rel
from pipelines.storage import submissions as subs
from pipelines.storage.catalog import accepted_submissions, submissions

# who acts next, by status (awaiting_review splits: warnings for a statistician, a web upload for a reviewer)
WAITING_FOR = {
    "received": "pipeline: not checked yet (the landing sensor, or `hemistat run`)",
    "validated": "pipeline: accepted, not yet in a release (`hemistat publish`, or the publish sensor)",
    "approved": "pipeline: approved, not yet in a release (`hemistat publish`, or the approval sensor)",
    "rejected": "data office: fix the file and submit it again (the report says which rows broke which rule)",
    "published": "nobody: in the current release",
    "superseded": "nobody: every cell replaced by a newer release of the same scope",
    "withdrawn": "nobody: withdrawn",
}
STATISTICIAN = "statistician: acknowledge the warnings (`hemistat acknowledge SID RULE… --reason`, or the portal)"
REVIEWER = "reviewer: approve or reject the upload in the portal"
ADMINISTRATOR = "administrator: repair or restore {file} (the submission is set aside meanwhile)"
GROUPS = ["administrator", "statistician", "reviewer", "pipeline", "data office", "nobody"]


def current_release_submissions(settings: Settings) -> set[str] | None:
    cur = rel.current_release(settings.published_dir)
    if not cur:
        return None
    return set(rel.release_metadata(settings.published_dir, cur).get("submissions") or [])


def in_current_release(settings: Settings, sid: str) -> bool:
    """The current release holds this submission's cells (what a status 'published' must mean)."""
    return sid in (current_release_submissions(settings) or set())


def missing_from_release(settings: Settings) -> list[str]:
    """Accepted submissions (validated by the CLI, approved, or marked published) that the current release
    does not hold: a publication that never happened or was lost in a crash. Publishing again puts them in
    (or marks them superseded); a status never stands for a release that does not hold it."""
    held = current_release_submissions(settings) or set()
    acc = accepted_submissions(settings, ("validated", "approved", "published"))
    if acc.empty:
        return []
    if "channel" in acc:   # a web upload is published only once a reviewer has approved it
        acc = acc[~((acc["channel"] == "web") & (acc["status"] == "validated"))]
    return sorted(set(acc["submission_id"]) - held)


def overview(settings: Settings, source: str | None = None, country: str | None = None) -> list[dict]:
    """One row per submission: submission_id, source_id, country_iso3, received_at, status, waiting_for
    (group: statistician, reviewer, pipeline, data office, nobody), action, detail, in_release; a status that
    the current release contradicts (``published`` but not in it) waits for the pipeline again."""
    in_release = current_release_submissions(settings)
    rows = []
    listed = submissions(settings)
    known = {s["submission_id"] for s in listed}
    for u in subs.unreadable_submissions(settings.landing_dir):   # a broken file: named, never fatal
        sid = u["submission_id"]
        if sid in known or source and sid.split("__")[0] != source or country:
            continue
        rows.append({"submission_id": sid, "source_id": sid.split("__")[0], "country_iso3": None,
                     "received_at": None, "status": "unreadable", "waiting_for": "administrator",
                     "action": ADMINISTRATOR.format(file=u["file"]), "detail": u["error"], "in_release": False})
    for s in listed:
        if source and s["source_id"] != source or country and (s.get("country_iso3") or "") != country.upper():
            continue
        status, detail = s["status"], s.get("status_detail") or ""
        action = WAITING_FOR.get(status, "pipeline")
        if status == "awaiting_review":
            action = REVIEWER if detail.endswith(HOLD_DETAIL) else STATISTICIAN
        held = in_release is not None and s["submission_id"] in in_release
        if status == "published" and not held:
            action = "pipeline: marked published but not in the current release (`hemistat publish` republishes it)"
        if s.get("status_file_error"):
            action = ADMINISTRATOR.format(file=f"landing/{s['submission_id']}/status.json") \
                .replace("set aside meanwhile", "kept as in the current release meanwhile")
        rows.append({"submission_id": s["submission_id"], "source_id": s["source_id"],
                     "country_iso3": s.get("country_iso3"), "received_at": s.get("received_at"), "status": status,
                     "waiting_for": action.split(":")[0], "action": action, "detail": detail, "in_release": held})
    return rows
