"""Scheduled harvesting of a source's published file, and punctuality (is a source late?).

``harvest(settings, source_id)`` downloads the URL of the spec's ``harvest:`` block::

    harvest:
      url: https://publisher.example/datos/estatal.csv   # http or https only
      cron: "0 6 * * *"                                   # when Dagster checks (pipelines/defs/schedules.py)
      file_name: estatal.csv                              # optional: name recorded in the manifest

* http/https only (redirects to anything else are refused), a timeout per read and an overall deadline,
  and a size limit (``HEMISTAT_HARVEST_MAX_BYTES``, default 512 MiB) checked while streaming.
* The bytes go to a private temporary file under ``<data>/harvest/``; the remote name is never used as a
  path (it is only recorded as text, as ``original_name`` of the submission).
* The file is stored through ``pipelines.steps.submit`` — the same path as an upload — which stores it
  only if its sha256 differs from every earlier submission of the source (``created`` is False for known
  bytes). The landing sensor then ingests the new submission.
* ``<data>/harvest/<source_id>.json`` records the last check, the last change, sha256, HTTP status, the
  submission and the errors (last 20 checks kept in ``history``).

``lateness(settings, source_id, now)`` is rule T2 (punctuality) for a source as a whole: the period after
the latest one its accepted submissions cover (validated Parquet) is due at its end + ``expected_lag_days``
+ the T2 grace (``quality_rules/timeliness.yaml``) — ``pipelines.quality.timeliness.due_date``, the same
function the T2 check applies to each submission; past that date the source is late.

No Dagster here: ``pipelines/defs/schedules.py`` wraps both.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

from pipelines.quality.timeliness import (CADENCE_MONTHS, DEFAULT_LAG_DAYS, due_date, expected_lag,  # noqa: F401
                                          next_period, period_bounds)
from pipelines.settings import Settings
from pipelines.storage.files import TooLarge, copy_stream

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_TIMEOUT = 60.0          # seconds per blocking socket operation
DEFAULT_DEADLINE = 30 * 60.0    # seconds for the whole download
HISTORY = 20
USER_AGENT = "hemistat-harvest/1.0 (+OAS Inter-American Network of Public Security Information)"
CONTENT_TYPES = {"text/csv": ".csv", "application/csv": ".csv", "text/plain": ".csv",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
                 "application/vnd.ms-excel": ".xls", "application/json": ".json"}
FILE_EXT = {".csv", ".txt", ".xlsx", ".xls", ".json"}


class HarvestError(RuntimeError):
    def __init__(self, message: str, http_status: int | None = None):
        super().__init__(message)
        self.http_status = http_status


# --------------------------------------------------------------------------------------------------
# state file
# --------------------------------------------------------------------------------------------------
def harvest_dir(settings: Settings) -> Path:
    return settings.data_dir / "harvest"


def state_path(settings: Settings, source_id: str) -> Path:
    if not re.fullmatch(r"[a-z][a-z0-9_]{2,40}", source_id or ""):
        raise ValueError(f"not a source id: {source_id!r}")
    return harvest_dir(settings) / f"{source_id}.json"


def read_state(settings: Settings, source_id: str) -> dict:
    p = state_path(settings, source_id)
    return json.loads(p.read_text("utf-8")) if p.exists() else {}


def _write_state(settings: Settings, source_id: str, state: dict) -> Path:
    from pipelines.storage.files import atomic_write_json

    p = state_path(settings, source_id)
    atomic_write_json(p, state)
    return p


# --------------------------------------------------------------------------------------------------
# download
# --------------------------------------------------------------------------------------------------
def check_url(url: str) -> str:
    """Only absolute http(s) URLs with a host."""
    u = urllib.parse.urlsplit(str(url or "").strip())
    if u.scheme not in ("http", "https") or not u.hostname:
        raise HarvestError(f"harvest.url must be an absolute http or https URL, not {url!r}")
    return urllib.parse.urlunsplit(u)


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = 5

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    # no FileHandler/FTPHandler/DataHandler: build the opener from http(s) handlers only
    opener = urllib.request.OpenerDirector()
    for h in (urllib.request.ProxyHandler(), urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(),
              urllib.request.HTTPDefaultErrorHandler(), _HttpOnlyRedirects(), urllib.request.HTTPErrorProcessor()):
        opener.add_handler(h)
    return opener


def _ext_for(url: str, content_type: str | None, file_name: str | None) -> str:
    for name in (file_name, urllib.parse.urlsplit(url).path):
        ext = Path(str(name or "")).suffix.lower()
        if ext in FILE_EXT:
            return ext
    ct = (content_type or "").split(";")[0].strip().lower()
    return CONTENT_TYPES.get(ct, ".csv")


def display_name(source_id: str, url: str, content_type: str | None, file_name: str | None) -> str:
    """Text recorded as the submission's original name (sanitised again by the landing store; never a path)."""
    if file_name:
        return str(file_name)
    base = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
    base = re.sub(r"[^\w.\- ()]", "_", base)[:200]
    if base and Path(base).suffix.lower() in FILE_EXT:
        return base
    return f"{source_id}{_ext_for(url, content_type, None)}"


def download(url: str, dest: Path, *, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES,
             deadline: float = DEFAULT_DEADLINE) -> dict:
    """Stream ``url`` into ``dest`` (a path we chose). Returns status, sha256, size, final URL and headers.
    Raises HarvestError (with the HTTP status when there is one)."""
    url = check_url(url)
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    t0 = time.monotonic()
    try:
        with _opener().open(req, timeout=timeout) as resp:
            status = getattr(resp, "status", None) or resp.getcode()
            final = check_url(resp.geturl())
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise HarvestError(f"the file is {int(length):,} bytes, above the {max_bytes:,}-byte limit", status)

            def in_time(_size):
                if time.monotonic() - t0 > deadline:
                    raise HarvestError(f"the download took longer than {deadline:.0f} s", status)

            try:
                size, sha = copy_stream(resp.read, dest, max_bytes=max_bytes, on_chunk=in_time)
            except TooLarge as exc:
                raise HarvestError(f"the download exceeds the {max_bytes:,}-byte limit", status) from exc
            return {"http_status": int(status), "sha256": sha, "size_bytes": size, "final_url": final,
                    "content_type": resp.headers.get("Content-Type"),
                    "last_modified": resp.headers.get("Last-Modified"), "etag": resp.headers.get("ETag")}
    except urllib.error.HTTPError as exc:
        raise HarvestError(f"HTTP {exc.code} {exc.reason}", exc.code) from exc
    except urllib.error.URLError as exc:
        raise HarvestError(f"cannot reach {url}: {exc.reason}") from exc
    except OSError as exc:  # timeouts, resets, disk errors
        raise HarvestError(f"download failed: {type(exc).__name__}: {exc}") from exc


def harvest_config(settings: Settings, source_id: str) -> dict | None:
    """The spec's ``harvest`` block, or None when the source has none (or no url)."""
    from pipelines.adapters import load_spec

    spec = load_spec(source_id, settings.reference_dir)
    h = spec.raw.get("harvest") or {}
    return h if h.get("url") else None


def harvest(settings: Settings, source_id: str, now: datetime | None = None, *,
            timeout: float = DEFAULT_TIMEOUT, max_bytes: int | None = None,
            deadline: float = DEFAULT_DEADLINE) -> dict:
    """Check the source's harvest URL once; store a new submission when the bytes are new.

    Returns ``{source_id, url, checked_at, ok, http_status, sha256, size_bytes, changed, created,
    submission_id, error, state_path}``. Errors (HTTP status, network, size, bad URL) are recorded in
    the state file and returned, never raised; an unknown source raises KeyError."""
    from pipelines import steps

    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    at = now.isoformat(timespec="seconds")
    max_bytes = int(max_bytes or os.environ.get("HEMISTAT_HARVEST_MAX_BYTES") or DEFAULT_MAX_BYTES)
    cfg = harvest_config(settings, source_id)  # KeyError for an unknown source
    prev = read_state(settings, source_id)
    url = (cfg or {}).get("url")
    result = {"source_id": source_id, "url": url, "checked_at": at, "ok": False, "http_status": None,
              "sha256": prev.get("sha256"), "size_bytes": None, "changed": False, "created": False,
              "submission_id": None, "error": None}
    tmpdir = None
    try:
        if not cfg:
            raise HarvestError(f"source {source_id!r} has no harvest.url in its spec")
        settings.ensure_dirs()
        harvest_dir(settings).mkdir(parents=True, exist_ok=True)
        tmpdir = Path(tempfile.mkdtemp(prefix=".download-", dir=harvest_dir(settings)))
        part = tmpdir / "download.part"
        info = download(url, part, timeout=timeout, max_bytes=max_bytes, deadline=deadline)
        name = display_name(source_id, info["final_url"], info.get("content_type"), cfg.get("file_name"))
        man, created = steps.submit(settings, part, source_id, uploaded_by="harvest", channel="harvest",
                                    original_name=name)
        result.update(ok=True, http_status=info["http_status"], sha256=info["sha256"], size_bytes=info["size_bytes"],
                      changed=info["sha256"] != prev.get("sha256"), created=bool(created),
                      submission_id=man.submission_id, original_name=name,
                      last_modified=info.get("last_modified"), etag=info.get("etag"))
    except HarvestError as exc:
        result.update(error=str(exc), http_status=exc.http_status)
    except Exception as exc:  # noqa: BLE001 - a failed check is recorded, the schedule keeps running
        result.update(error=f"{type(exc).__name__}: {exc}")
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)

    state = dict(prev)
    state.update(source_id=source_id, url=url, last_check=at, http_status=result["http_status"],
                 checks=int(prev.get("checks", 0)) + 1)
    if result["ok"]:
        state.update(sha256=result["sha256"], size_bytes=result["size_bytes"], last_success=at, last_error=None,
                     consecutive_errors=0, last_submission_id=result["submission_id"],
                     last_modified=result.get("last_modified"), etag=result.get("etag"))
        if result["changed"] or not prev.get("last_change"):
            state["last_change"] = at
        if result["created"]:
            state["last_new_submission"] = at
    else:
        state.update(last_error={"at": at, "error": result["error"], "http_status": result["http_status"]},
                     consecutive_errors=int(prev.get("consecutive_errors", 0)) + 1)
        state.setdefault("sha256", None)
        state.setdefault("last_change", None)
    hist = list(prev.get("history", []))
    hist.append({k: result[k] for k in ("checked_at", "ok", "http_status", "sha256", "changed", "created",
                                        "submission_id", "error")})
    state["history"] = hist[-HISTORY:]
    result["state_path"] = str(_write_state(settings, source_id, state))
    return result


# --------------------------------------------------------------------------------------------------
# punctuality (rule T2 for the source as a whole; the due date is pipelines.quality.timeliness's)
# --------------------------------------------------------------------------------------------------
def latest_period(settings: Settings, source_id: str) -> dict | None:
    """Latest (year, month) with a value among the source's submissions that passed validation
    (validated, awaiting review, approved or published): delivery is what punctuality measures."""
    from pipelines import steps

    acc = steps.accepted_submissions(settings, statuses=steps.PUBLISHABLE + ("awaiting_review",))
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
    from pipelines.quality.rules import load_rules

    t2 = next(r for r in load_rules(settings.rules_dir, source_id, reference_dir=settings.reference_dir)
              if r.id == "T2")
    return int(t2.params["grace_days"])


def lateness(settings: Settings, source_id: str, now: datetime | None = None) -> dict:
    """Is the source late? ``{source_id, cadence, latest_period, latest_period_end, next_period,
    expected_lag_days, lag_declared, grace_days, due, late (True/False/None), days_late, message}``.

    ``due`` is ``timeliness.due_date`` of the period after the latest one covered (its end +
    expected_lag_days + T2's grace days), the same function T2 applies to each submission. ``late`` is
    None when it cannot be judged (irregular cadence, nothing accepted yet)."""
    from pipelines.adapters import load_spec

    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    spec = load_spec(source_id, settings.reference_dir)
    cadence = spec.raw.get("cadence")
    lag = spec.raw.get("expected_lag_days")
    out = {"source_id": source_id, "cadence": cadence, "checked_at": now.isoformat(timespec="seconds"),
           "latest_period": None, "latest_period_end": None, "next_period": None,
           "expected_lag_days": lag, "lag_declared": lag is not None, "grace_days": t2_grace_days(settings, source_id),
           "due": None, "late": None, "days_late": None, "submission_id": None, "message": ""}
    if cadence not in CADENCE_MONTHS:
        out["message"] = f"cadence {cadence or 'not declared'}: punctuality cannot be judged"
        return out
    out["expected_lag_days"], _ = expected_lag(spec.raw, cadence)
    lp = latest_period(settings, source_id)
    if lp is None:
        out["message"] = "no accepted submission yet: punctuality cannot be judged"
        return out
    latest = due_date(lp["year"], lp["month"], cadence=cadence, spec=spec.raw, grace_days=out["grace_days"])
    ny, nm = next_period(lp["year"], lp["month"], latest.cadence)
    nxt = due_date(ny, nm, cadence=cadence, spec=spec.raw, grace_days=out["grace_days"])
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
    from pipelines.adapters import load_all_specs

    return [lateness(settings, sid, now) for sid in sorted(load_all_specs(settings.reference_dir))]
