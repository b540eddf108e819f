"""Which stored submissions are publishable: one place for the pipeline, the quality context and the portal."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pandas as pd

from pipelines.settings import Settings
from pipelines.storage import submissions as subs

PUBLISHABLE = ("validated", "approved", "published", "superseded")


def released_statuses(settings: Settings) -> dict[str, str]:
    """Submission id -> status as the current release records it (published.submissions), or {}."""
    from pipelines.storage import release as rel

    cur = rel.current_release(settings.published_dir)
    if not cur:
        return {}
    try:
        df = pd.read_parquet(settings.published_dir / "releases" / cur / "submissions.parquet",
                             columns=["submission_id", "status"])
    except Exception:  # noqa: BLE001 - no readable record: nothing to keep
        return {}
    return {k: v for k, v in zip(df["submission_id"], df["status"]) if isinstance(v, str)}


def submissions(settings: Settings, source_id: str | None = None) -> list[dict]:
    """Every submission with its status (``submissions.list_submissions``); one whose status.json cannot be
    read keeps the status the current release records for it (its values stay published until the file is
    repaired; ``hemistat status`` names it), or is left out if the release does not know it. ``source_id``:
    only that source's. Inside ``one_listing()`` the same question is answered once (copies)."""
    scope = getattr(_SCOPE, "listings", None)
    key = (str(settings.landing_dir), str(settings.published_dir), source_id)
    if scope is not None and key in scope:
        return [subs._copy_entry(m) for m in scope[key]]
    out = subs.list_submissions(settings.landing_dir, keep_as=released_statuses(settings), source_id=source_id)
    if scope is not None:
        scope[key] = [subs._copy_entry(m) for m in out]
    return out


# the listings of the current thread's ``one_listing()`` block (none outside one)
_SCOPE = threading.local()


@contextmanager
def one_listing():
    """Within the block, ``submissions`` (and so ``accepted_submissions``) lists each source once: for a step
    that reads the listing several times while it changes no status (one file's quality run asks twice, for
    the quality context and the import summary: about 40 ms each among the 12 M load's 320 template files).
    Per thread (the portal judges uploads in threads); a block inside another shares the outer one's listings."""
    outer = getattr(_SCOPE, "listings", None)
    if outer is None:
        _SCOPE.listings = {}
    try:
        yield
    finally:
        if outer is None:
            _SCOPE.listings = None


def accepted_submissions(settings: Settings, statuses: tuple[str, ...] = PUBLISHABLE,
                         source_id: str | None = None) -> pd.DataFrame:
    """The submissions in one of ``statuses`` whose validated file exists (``validated_path``); a web upload
    only once approved. ``source_id``: only that source's (the quality context and the import summary ask
    for one source, once per file a backfill validates)."""
    import os

    rows = []
    vdir = settings.validated_dir
    try:
        held = set(os.listdir(vdir))   # one listing, not a stat per submission
    except FileNotFoundError:
        held = set()
    for s in submissions(settings, source_id):
        name = f"{s['submission_id']}.parquet"
        if s["status"] in statuses and name in held:
            if s.get("channel") == "web" and s["status"] == "validated" and statuses == PUBLISHABLE:
                continue  # a web upload is published only once a reviewer has approved it
            rows.append({**s, "validated_path": str(vdir / name)})
    return pd.DataFrame(rows)
