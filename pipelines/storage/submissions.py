"""Submissions: every file received is stored immutably, content-addressed, before anything else.

Layout under ``<data>/landing/<submission_id>/``::

    original.<ext>   the bytes exactly as received (read-only, owner only: 0400)
    manifest.json    sha256, size, source, country, uploader, received_at, original name (0400)
    status.json      current status + append-only event list (rewritten atomically)
    report.json      the latest validation report, if any

``submission_id = <source>__<yyyymmdd>__<sha8>``. The same bytes for the same source are never stored
twice: a re-submission returns the existing submission. User file names are kept only as text in the
manifest; they never become paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from pipelines.settings import private_dir
from pipelines.storage.files import atomic_write_json, copy_stream

STATUSES = ["received", "rejected", "validated", "awaiting_review", "approved", "published", "superseded",
            "withdrawn"]
ALLOWED_EXT = {".csv", ".txt", ".xlsx", ".xls", ".json"}
SID_RE = re.compile(r"^[a-z][a-z0-9_]{2,40}__\d{8}__[0-9a-f]{8}$")


@dataclass
class Manifest:
    submission_id: str
    source_id: str
    country_iso3: str | None
    sha256: str
    size_bytes: int
    stored_name: str
    original_name: str
    received_at: str
    uploaded_by: str
    channel: str
    released_on: str | None = None      # the publisher's release date, as given by the submitter (ISO date)

    def as_dict(self) -> dict:
        return asdict(self)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _safe_display_name(name: str) -> str:
    base = os.path.basename(name.replace("\\", "/"))
    return re.sub(r"[^\w.\- ()]", "_", base)[:200] or "upload"


def _ext(name: str) -> str:
    ext = Path(_safe_display_name(name)).suffix.lower()
    return ext if ext in ALLOWED_EXT else ".bin"


def stored_name(original_name: str) -> str:
    """The name a file received as ``original_name`` is stored under in landing (``original.<ext>``): what the
    adapter reads, so a dry run reads the same (``hemistat validate`` and ``submit`` agree on a ``.xlsm``)."""
    return "original" + _ext(original_name)


def check_submission_id(sid: str) -> str:
    if not SID_RE.match(sid or ""):
        raise ValueError(f"not a submission id: {sid!r}")
    return sid


def submission_dir(landing_dir: Path, sid: str) -> Path:
    return landing_dir / check_submission_id(sid)


def find_by_checksum(landing_dir: Path, source_id: str, sha256: str) -> Manifest | None:
    pattern = f"{source_id}__*__{sha256[:8]}"
    for d in sorted(landing_dir.glob(pattern)):
        m = read_manifest(landing_dir, d.name)
        if m.sha256 == sha256 and m.source_id == source_id:
            return m
    return None


def land_file(landing_dir: Path, src: Path, *, source_id: str, original_name: str | None = None,
              uploaded_by: str = "cli", country_iso3: str | None = None, channel: str = "cli",
              now: datetime | None = None, released_on: str | None = None) -> tuple[Manifest, bool]:
    """Store ``src`` immutably. Returns (manifest, created). ``created`` is False for a duplicate."""
    private_dir(landing_dir)
    now = now or datetime.now(timezone.utc)
    original_name = _safe_display_name(original_name or src.name)
    # copy first into a private temp dir inside landing (same filesystem), hashing as we go
    tmpdir = Path(tempfile.mkdtemp(prefix=".incoming-", dir=landing_dir))
    try:
        stored = "original" + _ext(original_name)
        with open(src, "rb") as fin:
            size, sha = copy_stream(fin.read, tmpdir / stored)
        existing = find_by_checksum(landing_dir, source_id, sha)
        if existing:
            return existing, False
        sid = f"{source_id}__{now:%Y%m%d}__{sha[:8]}"
        man = Manifest(submission_id=sid, source_id=source_id, country_iso3=country_iso3, sha256=sha,
                       size_bytes=size, stored_name=stored, original_name=original_name,
                       received_at=now.isoformat(timespec="seconds"), uploaded_by=uploaded_by, channel=channel,
                       released_on=released_on)
        (tmpdir / "manifest.json").write_text(json.dumps(man.as_dict(), indent=2, ensure_ascii=False), "utf-8")
        # read-only, and readable by the owner only (unpublished national data): 0400 in a 0700 folder
        os.chmod(tmpdir / stored, 0o400)
        os.chmod(tmpdir / "manifest.json", 0o400)
        os.chmod(tmpdir, 0o700)
        atomic_write_json(tmpdir / "status.json", {"status": "received", "events": [
            {"at": man.received_at, "status": "received", "by": uploaded_by, "detail": f"sha256 {sha}"}]})
        try:
            os.rename(tmpdir, landing_dir / sid)  # atomic; fails if a concurrent upload won
        except OSError:
            existing = find_by_checksum(landing_dir, source_id, sha)
            if existing:
                return existing, False
            raise
        tmpdir = None
        return man, True
    finally:
        if tmpdir is not None and tmpdir.exists():
            shutil.rmtree(tmpdir, ignore_errors=True)


def read_manifest(landing_dir: Path, sid: str) -> Manifest:
    d = submission_dir(landing_dir, sid)
    return Manifest(**json.loads((d / "manifest.json").read_text("utf-8")))


def stored_file(landing_dir: Path, sid: str) -> Path:
    m = read_manifest(landing_dir, sid)
    return submission_dir(landing_dir, sid) / m.stored_name


def verify(landing_dir: Path, sid: str) -> Manifest:
    m = read_manifest(landing_dir, sid)
    actual = sha256_file(stored_file(landing_dir, sid))
    if actual != m.sha256:
        raise RuntimeError(f"submission {sid}: stored file checksum {actual} != manifest {m.sha256}")
    return m


class StatusFileError(ValueError):
    """One submission's status.json cannot be read: that submission is set aside (named in
    ``unreadable_submissions``), every other submission goes on as before."""

    def __init__(self, sid: str, path: Path, reason: str):
        super().__init__(f"submission {sid}: {path.parent.parent.name}/{sid}/status.json cannot be read "
                         f"({reason}); this submission is set aside until the file is repaired, the others are "
                         "unaffected")
        self.submission_id, self.path, self.reason = sid, path, reason


def read_status(landing_dir: Path, sid: str) -> dict:
    """The submission's status.json; StatusFileError (naming the file and why) when it is not a readable
    status record."""
    p = submission_dir(landing_dir, sid) / "status.json"
    if not p.exists():
        return {"status": "received", "events": []}
    try:
        st = json.loads(p.read_text("utf-8"))
    except UnicodeDecodeError as exc:
        raise StatusFileError(sid, p, f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise StatusFileError(sid, p, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except OSError as exc:
        raise StatusFileError(sid, p, exc.strerror or str(exc)) from None
    if not isinstance(st, dict) or st.get("status") not in STATUSES or not isinstance(st.get("events", []), list):
        raise StatusFileError(sid, p, "not a status record: an object with a known 'status' and an 'events' list "
                                      "is expected")
    return st


def status_of(landing_dir: Path, sid: str) -> str | None:
    """The submission's status, or None when its status.json cannot be read (it is then set aside)."""
    try:
        return read_status(landing_dir, sid).get("status")
    except StatusFileError:
        return None


def unreadable_submissions(landing_dir: Path) -> list[dict]:
    """Submissions whose manifest.json or status.json cannot be read: submission_id, file, error."""
    out = []
    for sid in list_submission_ids(landing_dir):
        try:
            read_manifest(landing_dir, sid)
            read_status(landing_dir, sid)
        except StatusFileError as exc:
            out.append({"submission_id": sid, "file": str(exc.path), "error": str(exc)})
        except (OSError, ValueError, TypeError) as exc:
            out.append({"submission_id": sid, "file": str(submission_dir(landing_dir, sid) / "manifest.json"),
                        "error": f"submission {sid}: manifest.json cannot be read ({exc}); this submission is set "
                                 "aside until it is repaired, the others are unaffected"})
    return out


def set_status(landing_dir: Path, sid: str, status: str, *, by: str = "pipeline", detail: str = "", **extra) -> dict:
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    st = read_status(landing_dir, sid)
    st["status"] = status
    st.update(extra)
    st.setdefault("events", []).append({"at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                        "status": status, "by": by, "detail": detail})
    atomic_write_json(submission_dir(landing_dir, sid) / "status.json", st)
    return st


def update_status_fields(landing_dir: Path, sid: str, **fields) -> dict:
    """Record facts about a submission (e.g. which layout it matched) without a status change."""
    st = read_status(landing_dir, sid)
    st.update(fields)
    atomic_write_json(submission_dir(landing_dir, sid) / "status.json", st)
    return st


def write_report(landing_dir: Path, sid: str, report: dict) -> Path:
    p = submission_dir(landing_dir, sid) / "report.json"
    atomic_write_json(p, report)
    return p


def list_submission_ids(landing_dir: Path, source_id: str | None = None) -> list[str]:
    """The submissions held (a folder with a manifest), sorted; ``source_id``: only that source's (a
    submission id begins with its source id and ``__``)."""
    if not landing_dir.exists():
        return []
    prefix = f"{source_id}__" if source_id else ""
    with os.scandir(landing_dir) as it:
        names = [e.name for e in it if e.name.startswith(prefix) and SID_RE.match(e.name) and e.is_dir()]
    root = str(landing_dir)
    return sorted(n for n in names if os.path.exists(os.path.join(root, n, "manifest.json")))


def release_date(manifest: dict, status: dict) -> tuple[str, str]:
    """(ISO date, where it comes from) of the publisher's release of a submission: given by the submitter
    (``declared``), read from the file as its spec says (``file: …``, recorded at ingest), or, failing
    both, the day hemistat received it (``received``). Vintages are ordered by it, then by receipt."""
    if manifest.get("released_on"):
        return manifest["released_on"], "declared"
    if status.get("released_on"):
        return status["released_on"], status.get("released_on_from") or "file"
    return str(manifest["received_at"])[:10], "received"


def list_submissions(landing_dir: Path, keep_as: dict[str, str] | None = None,
                     source_id: str | None = None) -> list[dict]:
    """Every readable submission with its status. One whose manifest or status file cannot be read is left
    out (``unreadable_submissions`` names it and why): one broken file never hides the others. ``keep_as``
    (submission id -> status, e.g. the current release's): a submission whose status.json cannot be read but
    that is named there is listed with that status, so what is published stays published until the file is
    repaired. ``source_id``: only that source's submissions."""
    out = []
    for sid in list_submission_ids(landing_dir, source_id):
        d = submission_dir(landing_dir, sid)
        version = _files_version(d)
        hit = _LISTED.get(str(d))
        if version is not None and hit is not None and hit[0] == version:
            out.append(_copy_entry(hit[1]))   # the same files as when last read: a fresh copy of their entry
            continue
        try:
            m = read_manifest(landing_dir, sid).as_dict()
        except (OSError, ValueError, TypeError):
            continue
        try:
            st = read_status(landing_dir, sid)
        except StatusFileError as exc:
            if not keep_as or keep_as.get(sid) not in STATUSES:
                continue
            st = {"status": keep_as[sid], "status_file_error": str(exc), "events": [
                {"status": keep_as[sid], "detail": f"{exc}; kept as in the current release ({keep_as[sid]})"}]}
        m["status"] = st.get("status")
        m["report_path"] = str(submission_dir(landing_dir, sid) / "report.json") \
            if (submission_dir(landing_dir, sid) / "report.json").exists() else None
        m["status_detail"] = (st.get("events") or [{}])[-1].get("detail")
        m["layout"] = st.get("layout")
        m["release_date"], m["release_date_from"] = release_date(m, st)
        m["acknowledged"] = sorted({a["rule_id"] for a in st.get("acknowledgements", [])})
        if st.get("status_file_error"):
            m["status_file_error"] = st["status_file_error"]
        elif version is not None:
            _LISTED[str(d)] = (version, _copy_entry(m))
        out.append(m)
    # the id's prefix chose the folders; the manifest decides (a source id may itself hold "__")
    return out if not source_id else [m for m in out if m.get("source_id") == source_id]


# list_submissions' entries by submission folder, with the version of the files they were read from. A backfill
# lists the submissions once or twice per file it validates (previous vintages, the import summary): without this,
# every listing re-read and re-parsed every manifest and status file, a cost that grew with the submissions held
# (0.26 ms each, 14 s of a 169-file validation). An entry is used only while none of its files changed.
_LISTED: dict[str, tuple[tuple, dict]] = {}


def _copy_entry(m: dict) -> dict:
    """An entry's copy: its lists and dicts copied too (a manifest's values are plain JSON, one level deep)."""
    return {k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v) for k, v in m.items()}


def _files_version(d: Path) -> tuple | None:
    """(inode, size, modification time) of a submission's manifest, status and report files (None for one
    that is absent); None when the folder cannot be read. The status and report are replaced atomically
    (a new inode), so a rewrite is always seen, even within the clock's resolution."""
    out = []
    root = str(d)   # string paths: pathlib's joins were most of a listing's time (one listing per validated file)
    for name in ("manifest.json", "status.json", "report.json"):
        try:
            st = os.stat(os.path.join(root, name))
        except FileNotFoundError:
            out.append(None)
            continue
        except OSError:
            return None
        out.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(out)
