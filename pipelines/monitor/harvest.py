"""Scheduled harvesting of a source's published file (punctuality: ``pipelines.monitor.punctuality``).

``harvest(settings, source_id)`` makes one attempt at the URL of the spec's ``harvest:`` block::

    harvest:
      url: https://publisher.example/datos/estatal.csv   # http or https only
      cron: "0 6 * * *"                                   # when Dagster checks (pipelines/defs/schedules.py)
      file_name: estatal.csv                              # optional: name recorded in the manifest

An attempt behaves like a polite HTTP client:

* **Conditional request.** The ``ETag`` and ``Last-Modified`` of the last response whose bytes were stored
  (for the same URL) are sent back as ``If-None-Match`` / ``If-Modified-Since``; a ``304 Not Modified``
  downloads nothing and stores nothing (outcome ``unchanged_304``). Servers without validators are still
  deduplicated by checksum: the file is stored through ``pipelines.pipeline.submit`` — the same path as an
  upload — which stores it only if its sha256 differs from every earlier submission of the source
  (outcome ``unchanged_checksum``, else ``new_submission``). The landing sensor then ingests it.
* **Limits.** http/https only (redirects to anything else are refused), a timeout per blocking socket
  operation (``HEMISTAT_HARVEST_TIMEOUT``, default 60 s) and an overall deadline, and a size limit
  (``HEMISTAT_HARVEST_MAX_BYTES``, default 512 MiB) checked on ``Content-Length`` and while streaming.
  The bytes go to a private temporary file under ``<data>/harvest/``; the remote name is never used as a
  path (it is only recorded as text, as ``original_name`` of the submission).
* **Transient or permanent.** Connection errors, timeouts, HTTP 408/425/429 and 5xx are *transient*
  (``result["transient"]``; ``Retry-After`` is parsed into ``result["retry_after"]``); everything else —
  other 4xx, an unexpected 3xx, a file over the size limit, an HTML page where a data file was expected,
  a bad URL — is *permanent*. ``harvest()`` never retries: the Dagster op does, through its RetryPolicy
  (``retry_settings()``: ``HEMISTAT_HARVEST_MAX_RETRIES``, ``HEMISTAT_HARVEST_RETRY_DELAY``; exponential
  back-off with jitter).
* **Records.** ``<data>/harvest/<source_id>.attempts.jsonl`` gets one JSON line per attempt, append-only
  (time, URL, validators sent, HTTP status, bytes, sha256, outcome, error, retry number, Dagster run id);
  ``<data>/harvest/<source_id>.json`` keeps the state: last check, last change, sha256, validators, the
  last submission, the errors (last 20 checks in ``history``). ``hemistat harvest-log SOURCE`` prints the
  attempts.

No Dagster here: ``pipelines/defs/schedules.py`` wraps it.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import os
import re
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from pipelines import pipeline
from pipelines.settings import Settings
from pipelines.storage.files import TooLarge, copy_stream

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_TIMEOUT = 60.0          # seconds per blocking socket operation
DEFAULT_DEADLINE = 30 * 60.0    # seconds for the whole download
DEFAULT_MAX_RETRIES = 3         # Dagster retries of a transient failure (4 attempts in all)
DEFAULT_RETRY_DELAY = 60.0      # seconds; exponential back-off: ~1, 3, 7 minutes (± the delay as jitter)
DEFAULT_MAX_RETRY_AFTER = 3600.0  # a server's Retry-After is honoured up to this many seconds
HISTORY = 20
USER_AGENT = "hemistat-harvest/1.0 (+OAS Inter-American Network of Public Security Information)"
CONTENT_TYPES = {"text/csv": ".csv", "application/csv": ".csv", "text/plain": ".csv",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
                 "application/vnd.ms-excel": ".xls", "application/json": ".json"}
FILE_EXT = {".csv", ".txt", ".xlsx", ".xls", ".json"}
TRANSIENT_STATUS = frozenset({408, 425, 429})  # plus every 5xx
OUTCOMES = ("new_submission", "unchanged_304", "unchanged_checksum", "transient_error", "permanent_error")


class HarvestError(RuntimeError):
    """A failed attempt. ``transient`` errors (network, timeouts, 408/425/429/5xx) are worth retrying;
    ``retry_after`` is the server's Retry-After in seconds, when it sent one."""

    def __init__(self, message: str, http_status: int | None = None, *, transient: bool = False,
                 retry_after: float | None = None):
        super().__init__(message)
        self.http_status = http_status
        self.transient = transient
        self.retry_after = retry_after


def is_transient_status(status: int | None) -> bool:
    return status is not None and (status in TRANSIENT_STATUS or 500 <= int(status) <= 599)


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        return float(raw) if raw not in (None, "") else default
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None


def retry_settings() -> dict:
    """Retry and timeout settings from the environment (read when called):

    * ``HEMISTAT_HARVEST_MAX_RETRIES`` (default 3) — retries of a transient failure;
    * ``HEMISTAT_HARVEST_RETRY_DELAY`` (default 60 s) — base delay; exponential back-off;
    * ``HEMISTAT_HARVEST_MAX_RETRY_AFTER`` (default 3600 s) — longest server Retry-After honoured;
    * ``HEMISTAT_HARVEST_TIMEOUT`` (default 60 s) — per blocking socket operation of each request."""
    raw = os.environ.get("HEMISTAT_HARVEST_MAX_RETRIES")
    try:
        max_retries = int(raw) if raw not in (None, "") else DEFAULT_MAX_RETRIES
    except ValueError:
        raise ValueError(f"HEMISTAT_HARVEST_MAX_RETRIES must be an integer, not {raw!r}") from None
    out = {"max_retries": max(0, max_retries),
           "delay": max(0.0, _env_float("HEMISTAT_HARVEST_RETRY_DELAY", DEFAULT_RETRY_DELAY)),
           "max_retry_after": max(0.0, _env_float("HEMISTAT_HARVEST_MAX_RETRY_AFTER", DEFAULT_MAX_RETRY_AFTER)),
           "timeout": _env_float("HEMISTAT_HARVEST_TIMEOUT", DEFAULT_TIMEOUT)}
    if out["timeout"] <= 0:
        raise ValueError("HEMISTAT_HARVEST_TIMEOUT must be positive")
    return out


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent/bad."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


# --------------------------------------------------------------------------------------------------
# state file and attempt log
# --------------------------------------------------------------------------------------------------
def harvest_dir(settings: Settings) -> Path:
    return settings.data_dir / "harvest"


def _check_source_id(source_id: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_]{2,40}", source_id or ""):
        raise ValueError(f"not a source id: {source_id!r}")
    return source_id


def state_path(settings: Settings, source_id: str) -> Path:
    return harvest_dir(settings) / f"{_check_source_id(source_id)}.json"


def attempts_path(settings: Settings, source_id: str) -> Path:
    return harvest_dir(settings) / f"{_check_source_id(source_id)}.attempts.jsonl"


def read_state(settings: Settings, source_id: str) -> dict:
    p = state_path(settings, source_id)
    return json.loads(p.read_text("utf-8")) if p.exists() else {}


def _write_state(settings: Settings, source_id: str, state: dict) -> Path:
    from pipelines.storage.files import atomic_write_json

    p = state_path(settings, source_id)
    atomic_write_json(p, state)
    return p


def _append_attempt(settings: Settings, source_id: str, record: dict) -> Path:
    """One JSON line, appended with a single O_APPEND write (never rewritten)."""
    p = attempts_path(settings, source_id)
    p.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
    fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return p


def read_attempts(settings: Settings, source_id: str, *, run_id: str | None = None,
                  last: int | None = None) -> list[dict]:
    """The attempt records of a source, oldest first (only ``run_id``'s when given; the ``last`` n)."""
    p = attempts_path(settings, source_id)
    if not p.exists():
        return []
    out = []
    for line in p.read_text("utf-8").splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:  # a torn last line (crash mid-write) is skipped, not fatal
            continue
        if run_id is None or rec.get("run_id") == run_id:
            out.append(rec)
    return out[-last:] if last else out


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


def _looks_like_html(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _timed_out(exc: BaseException) -> bool:
    return isinstance(exc, (TimeoutError, socket.timeout)) or "timed out" in str(exc).lower()


def download(url: str, dest: Path, *, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES,
             deadline: float = DEFAULT_DEADLINE, headers: dict | None = None) -> dict:
    """Stream ``url`` into ``dest`` (a path we chose), sending the extra request ``headers`` (validators).

    Returns ``{http_status, not_modified, sha256, size_bytes, final_url, content_type, last_modified,
    etag}``; a 304 (only possible when validators were sent) returns ``not_modified=True`` and writes
    nothing. Raises HarvestError (with the HTTP status when there is one, ``transient`` and ``retry_after``)."""
    url = check_url(url)
    sent = {k: v for k, v in (headers or {}).items() if v}
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*", **sent})
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
                    raise HarvestError(f"the download took longer than the {deadline:.0f} s deadline", status)

            try:
                size, sha = copy_stream(resp.read, dest, max_bytes=max_bytes, on_chunk=in_time)
            except TooLarge as exc:
                raise HarvestError(f"the download exceeds the {max_bytes:,}-byte limit", status) from exc
            return {"http_status": int(status), "not_modified": False, "sha256": sha, "size_bytes": size,
                    "final_url": final, "content_type": resp.headers.get("Content-Type"),
                    "last_modified": resp.headers.get("Last-Modified"), "etag": resp.headers.get("ETag")}
    except urllib.error.HTTPError as exc:
        hdrs = exc.headers or {}
        if exc.code == 304:
            if not sent:
                raise HarvestError("HTTP 304 Not Modified to a request without validators", 304) from exc
            return {"http_status": 304, "not_modified": True, "sha256": None, "size_bytes": 0,
                    "final_url": check_url(exc.geturl() or url), "content_type": None,
                    "last_modified": hdrs.get("Last-Modified"), "etag": hdrs.get("ETag")}
        transient = is_transient_status(exc.code)
        raise HarvestError(f"HTTP {exc.code} {exc.reason}", exc.code, transient=transient,
                           retry_after=parse_retry_after(hdrs.get("Retry-After")) if transient else None) from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        what = f"timed out after {timeout:g} s" if _timed_out(reason if isinstance(reason, BaseException) else exc) \
            else str(reason)
        raise HarvestError(f"cannot reach {url}: {what}", transient=True) from exc
    except http.client.HTTPException as exc:  # IncompleteRead, BadStatusLine, RemoteDisconnected …
        raise HarvestError(f"the connection broke: {type(exc).__name__}: {exc}", transient=True) from exc
    except OSError as exc:  # timeouts while waiting or reading, resets
        if _timed_out(exc):
            raise HarvestError(f"timed out after {timeout:g} s without data from {url}", transient=True) from exc
        raise HarvestError(f"download failed: {type(exc).__name__}: {exc}", transient=True) from exc


def harvest_config(settings: Settings, source_id: str):
    """The spec's ``harvest`` block (``pipelines.specs.source.Harvest``), or None when the source has none (or
    no url)."""
    from pipelines.adapters import load_spec

    spec = load_spec(source_id, settings.reference_dir)
    return spec.harvest if spec.harvest and spec.harvest.url else None


def _validators(prev: dict, url: str | None) -> dict:
    """Conditional-request headers from the last stored response of the same URL."""
    if not url or prev.get("validators_url") != url:
        return {}
    out = {}
    if prev.get("etag"):
        out["If-None-Match"] = prev["etag"]
    if prev.get("last_modified"):
        out["If-Modified-Since"] = prev["last_modified"]
    return out


def harvest(settings: Settings, source_id: str, now: datetime | None = None, *,
            timeout: float | None = None, max_bytes: int | None = None,
            deadline: float = DEFAULT_DEADLINE, retry_number: int = 0, run_id: str | None = None) -> dict:
    """Make one attempt at the source's harvest URL; store a new submission when the bytes are new.

    Returns ``{source_id, url, checked_at, ok, outcome, transient, retry_after, http_status, sha256,
    size_bytes, changed, created, submission_id, error, sent, state_path, attempts_path, attempt}``
    (``outcome`` is one of OUTCOMES; ``attempt`` is the line appended to the attempt log). Errors (HTTP
    status, network, size, bad URL) are recorded and returned, never raised; an unknown source raises
    KeyError. ``retry_number`` and ``run_id`` (from Dagster) are only recorded."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    at = now.isoformat(timespec="seconds")
    max_bytes = int(max_bytes or os.environ.get("HEMISTAT_HARVEST_MAX_BYTES") or DEFAULT_MAX_BYTES)
    timeout = float(timeout or retry_settings()["timeout"])
    cfg = harvest_config(settings, source_id)  # KeyError for an unknown source
    prev = read_state(settings, source_id)
    url = cfg.url if cfg else None
    sent = _validators(prev, url)
    result = {"source_id": source_id, "url": url, "checked_at": at, "ok": False, "outcome": "permanent_error",
              "transient": False, "retry_after": None, "http_status": None, "sha256": prev.get("sha256"),
              "size_bytes": None, "changed": False, "created": False, "submission_id": None, "error": None,
              "sent": sent}
    info: dict = {}
    tmpdir = None
    t0 = time.monotonic()
    try:
        if not cfg:
            raise HarvestError(f"source {source_id!r} has no harvest.url in its spec")
        settings.ensure_dirs()
        harvest_dir(settings).mkdir(parents=True, exist_ok=True)
        tmpdir = Path(tempfile.mkdtemp(prefix=".download-", dir=harvest_dir(settings)))
        part = tmpdir / "download.part"
        info = download(url, part, timeout=timeout, max_bytes=max_bytes, deadline=deadline, headers=sent)
        if info["not_modified"]:
            result.update(ok=True, outcome="unchanged_304", http_status=304, size_bytes=0,
                          submission_id=prev.get("last_submission_id"),
                          etag=info.get("etag") or prev.get("etag"),
                          last_modified=info.get("last_modified") or prev.get("last_modified"))
        else:
            if _looks_like_html(part):
                raise HarvestError(f"the server sent an HTML page ({info.get('content_type') or 'no content type'})"
                                   f", not the data file: check harvest.url", info["http_status"])
            name = display_name(source_id, info["final_url"], info.get("content_type"), cfg.file_name)
            man, created = pipeline.submit(settings, part, source_id, uploaded_by="harvest", channel="harvest",
                                        original_name=name)
            result.update(ok=True, outcome="new_submission" if created else "unchanged_checksum",
                          http_status=info["http_status"], sha256=info["sha256"], size_bytes=info["size_bytes"],
                          changed=info["sha256"] != prev.get("sha256"), created=bool(created),
                          submission_id=man.submission_id, original_name=name,
                          last_modified=info.get("last_modified"), etag=info.get("etag"))
    except HarvestError as exc:
        result.update(error=str(exc), http_status=exc.http_status, transient=exc.transient,
                      retry_after=exc.retry_after, outcome="transient_error" if exc.transient else "permanent_error")
    except Exception as exc:  # noqa: BLE001 - a failed check is recorded, the schedule keeps running
        result.update(error=f"{type(exc).__name__}: {exc}")
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)

    attempt = {"at": at, "source_id": source_id, "url": url, "final_url": info.get("final_url"), "sent": sent,
               "http_status": result["http_status"], "bytes": result["size_bytes"],
               "sha256": info.get("sha256"), "outcome": result["outcome"], "error": result["error"],
               "retry_after": result["retry_after"], "submission_id": result["submission_id"],
               "etag": result.get("etag"), "last_modified": result.get("last_modified"),
               "retry_number": int(retry_number), "run_id": run_id,
               "duration_ms": int((time.monotonic() - t0) * 1000)}
    result["attempt"] = attempt
    result["attempts_path"] = str(_append_attempt(settings, source_id, attempt))

    state = dict(prev)
    state.update(source_id=source_id, url=url, last_check=at, http_status=result["http_status"],
                 last_outcome=result["outcome"], checks=int(prev.get("checks", 0)) + 1)
    if result["ok"]:
        state.update(last_success=at, last_error=None, consecutive_errors=0,
                     last_submission_id=result["submission_id"] or prev.get("last_submission_id"),
                     last_modified=result.get("last_modified"), etag=result.get("etag"), validators_url=url)
        if result["outcome"] == "unchanged_304":
            state["last_not_modified"] = at
        else:
            state.update(sha256=result["sha256"], size_bytes=result["size_bytes"])
        if result["changed"] or not prev.get("last_change"):
            state["last_change"] = at
        if result["created"]:
            state["last_new_submission"] = at
    else:
        state.update(last_error={"at": at, "error": result["error"], "http_status": result["http_status"],
                                 "outcome": result["outcome"]},
                     consecutive_errors=int(prev.get("consecutive_errors", 0)) + 1)
        state.setdefault("sha256", None)
        state.setdefault("last_change", None)
    hist = list(prev.get("history", []))
    hist.append({k: result[k] for k in ("checked_at", "ok", "outcome", "http_status", "sha256", "changed", "created",
                                        "submission_id", "error")})
    state["history"] = hist[-HISTORY:]
    result["state_path"] = str(_write_state(settings, source_id, state))
    return result
