"""Scheduled harvesting and punctuality (rule T2) in Dagster.

* ``harvest_source`` job: one op that calls ``pipelines.monitor.harvest.harvest`` for the configured source (a
  conditional request). A new file becomes a submission in the landing folder and the ``landing_sensor``
  requests its ingest run (a 304 or known bytes store nothing). The op has a RetryPolicy
  (``harvest_retry_policy``: HEMISTAT_HARVEST_MAX_RETRIES / HEMISTAT_HARVEST_RETRY_DELAY, read when the
  definitions load; exponential back-off with jitter): transient failures (network, timeouts, HTTP
  408/425/429/5xx) are retried, honouring Retry-After; permanent ones (other 4xx, size limit, an HTML
  page …) fail at once. Every attempt is a line of ``<data>/harvest/<source>.attempts.jsonl`` and is
  listed in the step's metadata (``attempts_in_run``); failures show in the UI.
* ``harvest_<source>`` schedules: one per source spec that has ``harvest: {url, cron}``. Which schedules
  exist is decided when definitions load, from the repository's ``reference/sources`` (like the rule
  catalogue in checks.py); each tick re-reads the spec from the run-time settings and skips when the
  source or its harvest URL is gone.
* ``source_freshness`` asset (group ``monitor``) and ``punctuality_sensor``: rule T2 for each source with
  a monthly/quarterly/annual cadence — late when the next period is overdue (latest period covered +
  cadence + expected_lag_days + the T2 grace). The sensor records one observation per late source on the
  asset and requests a refresh when the set of late sources changes; each tick's message lists them.
  (Not asset checks: every asset check of this code location is a quality rule on its layer.)
"""


import json
import logging
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from pipelines import settings as settings_module
from pipelines.defs import tags as run_tags
from pipelines.defs.resources import HemistatSettings
from pipelines.monitor.harvest import (HarvestError, check_url, harvest, harvest_config, read_attempts, read_state,
                                       retry_settings)
from pipelines.monitor.punctuality import expected_missing_all, lateness_all
from pipelines.settings import get_settings

log = logging.getLogger(__name__)
HARVEST_OP = "harvest_source_op"


def _reference_dir(reference_dir: Path | None = None) -> Path:
    return Path(reference_dir) if reference_dir else settings_module.REPO_ROOT / "reference"


def _specs(reference_dir: Path) -> dict:
    from pipelines.specs import load_all_specs

    try:
        return load_all_specs(reference_dir, strict=False)   # a broken spec: only its own source is missing
    except Exception as exc:  # noqa: BLE001 - a broken spec must not take the whole code location down
        log.warning("hemistat: cannot read source specs in %s (%s); no harvest schedules or T2 checks", reference_dir,
                    exc)
        return {}


# --------------------------------------------------------------------------------------------------
# harvest job + schedules
# --------------------------------------------------------------------------------------------------
class HarvestConfig(dg.Config):
    source_id: str


def harvest_retry_policy(max_retries: int | None = None, delay: float | None = None) -> dg.RetryPolicy:
    """The harvest op's RetryPolicy: ``retry_settings()`` (HEMISTAT_HARVEST_MAX_RETRIES, default 3;
    HEMISTAT_HARVEST_RETRY_DELAY, default 60 s), exponential back-off ((2^n - 1) x delay) with ± delay of jitter."""
    r = retry_settings()
    return dg.RetryPolicy(max_retries=r["max_retries"] if max_retries is None else int(max_retries),
                          delay=r["delay"] if delay is None else float(delay),
                          backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def _attempt_md(rec: dict) -> dict:
    sent = ", ".join(f"{k}: {v}" for k, v in (rec.get("sent") or {}).items()) or "none"
    return {"source_id": rec["source_id"], "url": dg.MetadataValue.url(rec["url"]) if rec.get("url") else "none",
            "outcome": rec["outcome"], "http_status": rec.get("http_status"),
            "bytes": int(rec.get("bytes") or 0), "sha256": str(rec.get("sha256") or ""), "validators_sent": sent,
            "retry_number": int(rec.get("retry_number") or 0), "submission_id": str(rec.get("submission_id") or ""),
            "error": str(rec.get("error") or ""), "checked_at": rec["at"]}


def _attempts_table(recs: list[dict]) -> str:
    head = "| # | at | HTTP | outcome | bytes | sha256 | validators sent | error |\n|---|---|---|---|---|---|---|---|\n"
    return head + "\n".join(
        f"| {r.get('retry_number', 0)} | {r['at']} | {r.get('http_status') or ''} | {r['outcome']} | "
        f"{r.get('bytes') if r.get('bytes') is not None else ''} | {str(r.get('sha256') or '')[:12]} | "
        f"{', '.join((r.get('sent') or {}).keys())} | {str(r.get('error') or '').replace('|', '/')} |" for r in recs)


def _run_md(settings, res: dict, run_id: str) -> dict:
    md = _attempt_md(res["attempt"])
    md.update(created=bool(res["created"]), changed=bool(res["changed"]), state_path=str(res.get("state_path")),
              attempts_path=dg.MetadataValue.path(res["attempts_path"]),
              attempts_in_run=dg.MetadataValue.md(_attempts_table(read_attempts(settings, res["source_id"],
                                                                               run_id=run_id))))
    return md


def make_harvest_op(retry_policy: dg.RetryPolicy | None = None) -> dg.OpDefinition:
    """The harvest op with its RetryPolicy (default ``harvest_retry_policy()``, read when definitions load).

    One call of ``pipelines.monitor.harvest.harvest`` per attempt. A transient failure (network, timeout, HTTP
    408/425/429/5xx) raises a retryable ``dg.Failure``, so the policy retries it with back-off; a server's
    ``Retry-After`` (up to HEMISTAT_HARVEST_MAX_RETRY_AFTER) lengthens the wait through ``dg.RetryRequested``.
    A permanent failure (other 4xx, size limit, HTML page, no harvest.url …) raises
    ``dg.Failure(allow_retries=False)``: no retry. Each attempt is one line of the attempt log; the
    step's metadata (output or failure) lists the attempts of the run."""
    policy = retry_policy or harvest_retry_policy()

    @dg.op(name=HARVEST_OP, retry_policy=policy,
           description="Download the source's harvest.url with a conditional request; store it as a submission "
                       "only when the server reports a change and its sha256 is new (the landing sensor then "
                       f"ingests it). Transient failures are retried ({policy.max_retries} retries, exponential "
                       "back-off); every attempt is recorded in <data>/harvest/<source>.attempts.jsonl.")
    def harvest_source_op(context: dg.OpExecutionContext, config: HarvestConfig,
                          hemistat: HemistatSettings) -> dg.Output:
        settings = hemistat.get()
        sid = config.source_id
        n = context.retry_number
        try:
            res = harvest(settings, sid, retry_number=n, run_id=context.run_id)
        except Exception as exc:  # noqa: BLE001 - unknown source, bad settings: retrying would not help
            raise dg.Failure(description=f"harvest of {sid} cannot start (not retried): {type(exc).__name__}: {exc}",
                             allow_retries=False) from exc
        md = _run_md(settings, res, context.run_id)
        context.log.info(f"harvest attempt {n + 1}: {json.dumps(res['attempt'], ensure_ascii=False)}")
        if res["ok"]:
            if res["created"]:
                context.log.info(f"new submission {res['submission_id']} stored; landing_sensor will request its "
                                 "ingest run")
            elif res["outcome"] == "unchanged_304":
                context.log.info(f"304 Not Modified: nothing downloaded (submission {res['submission_id']})")
            else:
                context.log.info(f"no new bytes (sha256 {str(res['sha256'])[:16]}…, submission "
                                 f"{res['submission_id']})")
            return dg.Output({k: res[k] for k in ("source_id", "outcome", "created", "changed", "submission_id",
                                                  "sha256", "http_status")}, metadata=md)
        where = f"harvest of {sid} from {res['url'] or '(no url)'}"
        if not res["transient"]:
            raise dg.Failure(description=f"{where} failed permanently (not retried): {res['error']}", metadata=md,
                             allow_retries=False)
        left = policy.max_retries - n
        failure = dg.Failure(description=f"{where} failed (transient, attempt {n + 1} of {policy.max_retries + 1}"
                                         f"{', will retry' if left > 0 else ', no retries left'}): {res['error']}",
                             metadata=md, allow_retries=True)
        if res["retry_after"] is not None and left > 0:
            wait = min(max(float(res["retry_after"]), float(policy.calculate_delay(n + 1))),
                       retry_settings()["max_retry_after"])
            context.log.warning(f"{where}: the server asks to retry after {res['retry_after']:g} s; waiting {wait:g} s")
            raise dg.RetryRequested(max_retries=policy.max_retries, seconds_to_wait=wait) from failure
        raise failure

    return harvest_source_op


def _job_for(op: dg.OpDefinition) -> dg.JobDefinition:
    @dg.job(name="harvest_source", description="Check one source's published file (harvest.url) and store new "
                                               "bytes as a submission; transient failures are retried.")
    def _harvest_job():
        op()

    return _harvest_job


def build_harvest_job(retry_policy: dg.RetryPolicy | None = None) -> dg.JobDefinition:
    """A ``harvest_source`` job whose op has ``retry_policy`` (default ``harvest_retry_policy()``, read now)."""
    return _job_for(make_harvest_op(retry_policy))


harvest_source_op = make_harvest_op()
harvest_job = _job_for(harvest_source_op)


def harvest_run_config(source_id: str) -> dict:
    return {"ops": {HARVEST_OP: {"config": {"source_id": source_id}}}}


def _harvest_schedule(source_id: str, cron: str, url: str, country: str | None = None) -> dg.ScheduleDefinition:
    @dg.schedule(name=f"harvest_{source_id}", cron_schedule=cron, job=harvest_job, execution_timezone="UTC",
                 default_status=dg.DefaultScheduleStatus.RUNNING,
                 description=f"Harvest {source_id} from {url} ({cron}, UTC); new bytes become a submission.")
    def _schedule(context: dg.ScheduleEvaluationContext):
        settings = get_settings()
        try:
            cfg = harvest_config(settings, source_id)
        except KeyError:
            return dg.SkipReason(f"source {source_id!r} has no spec in {settings.reference_dir} any more")
        if not cfg:
            return dg.SkipReason(f"source {source_id!r} has no harvest.url in its spec any more")
        try:
            check_url(cfg.url)
        except HarvestError as exc:
            return dg.SkipReason(str(exc))
        t = context.scheduled_execution_time
        return dg.RunRequest(run_key=f"harvest-{source_id}-{t:%Y%m%dT%H%M}" if t else None,
                             run_config=harvest_run_config(source_id),
                             tags=run_tags.run_tags("harvest", source=source_id, country=country, channel="harvest",
                                                    submitted_by=f"schedule harvest_{source_id}"))

    return _schedule


def harvest_schedules(reference_dir: Path | None = None) -> list[dg.ScheduleDefinition]:
    """One schedule per spec with ``harvest: {url, cron}`` (default: the repository's reference/)."""
    out = []
    for sid, spec in sorted(_specs(_reference_dir(reference_dir)).items()):
        h = spec.harvest
        if not (h and h.cron and h.url):
            continue
        try:
            out.append(_harvest_schedule(sid, str(h.cron), str(h.url), spec.country_iso3))
        except Exception as exc:  # noqa: BLE001 - e.g. an invalid cron string: report, keep the rest
            log.warning("hemistat: no harvest schedule for %s: %s", sid, exc)
    return out


# --------------------------------------------------------------------------------------------------
# punctuality: source_freshness asset + punctuality_sensor (rule T2 per source)
# --------------------------------------------------------------------------------------------------
def _md_table(rows: list[dict]) -> str:
    head = "| source | cadence | latest period | next due | late | days late | last harvest check | note |\n" \
           "|---|---|---|---|---|---|---|---|\n"
    return head + "\n".join(
        f"| {r['source_id']} | {r['cadence'] or ''} | {r['latest_period'] or ''} | {r['due'] or ''} | "
        f"{'' if r['late'] is None else ('LATE' if r['late'] else 'no')} | {r['days_late'] or ''} | "
        f"{r.get('harvest_last_check') or ''} | {r['message']} |" for r in rows)


def _missing_table(rows: list[dict]) -> str:
    """Expected and not received, per source and period ("ARG 2024 not received")."""
    if not rows:
        return "every period due so far has been received"
    return "| source | country | period | due by | days overdue |\n|---|---|---|---|---|\n" + "\n".join(
        f"| {r['source_id']} | {r['country_iso3']} | {r['period']} | {r['due']} | {r['days_overdue']} |" for r in rows)


def punctuality_rows(settings, now: datetime | None = None) -> list[dict]:
    """lateness() of every source plus its last harvest check (pipelines.monitor.harvest)."""
    rows = lateness_all(settings, now or datetime.now(timezone.utc))
    for r in rows:
        st = read_state(settings, r["source_id"])
        r["harvest_last_check"] = st.get("last_check")
        r["harvest_last_change"] = st.get("last_change")
        r["harvest_last_error"] = (st.get("last_error") or {}).get("error")
        r["harvest_last_outcome"] = st.get("last_outcome")
    return rows


def _late_text(rows: list[dict]) -> str:
    late = [r for r in rows if r["late"]]
    if not late:
        return "no late source"
    return f"{len(late)} late source(s) (rule T2): " + "; ".join(
        f"{r['source_id']} {r['days_late']} days late ({r['next_period']} due {r['due']})" for r in late)


@dg.asset(name="source_freshness", group_name="monitor", kinds={"json"},
          description="Punctuality of every source (rule T2): latest reference period covered by its delivered "
                      "submissions, when the next one is due (cadence + expected_lag_days + grace) and whether it "
                      "is late; plus the last harvest check. Written to <data>/harvest/freshness.json. Refreshed by "
                      "punctuality_sensor whenever a source becomes late or catches up.")
def source_freshness(context: dg.AssetExecutionContext, hemistat: HemistatSettings) -> dg.MaterializeResult:
    from pipelines.storage.files import atomic_write_json

    settings = hemistat.get()
    now = datetime.now(timezone.utc)
    rows = punctuality_rows(settings, now)
    missing = expected_missing_all(settings, now)
    path = settings.data_dir / "harvest" / "freshness.json"
    atomic_write_json(path, {"checked_at": now.isoformat(timespec="seconds"), "sources": rows,
                             "expected_missing": missing})
    late = [r["source_id"] for r in rows if r["late"]]
    for r in rows:
        if r["late"]:
            context.log.warning(f"[T2 punctuality] {r['source_id']}: {r['message']}")
    return dg.MaterializeResult(metadata={
        "path": str(path), "sources": len(rows), "late_sources": len(late), "late": ", ".join(late) or "none",
        "summary": _late_text(rows), "table": dg.MetadataValue.md(_md_table(rows)),
        "expected_missing_count": len(missing),
        "expected_missing": dg.MetadataValue.md(_missing_table(missing))})


freshness_job = dg.define_asset_job("check_source_freshness", selection=dg.AssetSelection.assets(source_freshness),
                                    description="Recompute source punctuality (rule T2) for every source.")


def _state_key(rows: list[dict]) -> str:
    import hashlib
    import json

    key = sorted((r["source_id"], r["late"], r["latest_period"]) for r in rows if r["late"] is not None)
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]


@dg.sensor(name="punctuality_sensor", job=freshness_job, minimum_interval_seconds=3600,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Rule T2 (punctuality, warn): flags sources whose next period is overdue. When a source "
                       "becomes late or catches up it records an observation per late source on source_freshness "
                       "and requests a refresh of that asset; otherwise the tick says which sources are late.")
def punctuality_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    rows = punctuality_rows(get_settings())
    key = _state_key(rows)
    text = _late_text(rows)
    if key == context.cursor:
        return dg.SensorResult(skip_reason=f"unchanged since the last tick: {text}", cursor=key)
    events = [dg.AssetObservation(asset_key="source_freshness", description=f"T2 punctuality: {r['source_id']} is late",
                                  metadata={"rule": "T2", "severity": "warn", "source_id": r["source_id"],
                                            "days_late": int(r["days_late"] or 0), "due": str(r["due"]),
                                            "latest_period": str(r["latest_period"]), "message": r["message"]})
              for r in rows if r["late"]]
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"freshness-{key}", tags={
        "hemistat/rule": "T2", **run_tags.run_tags("monitor", channel="sensor", submitted_by="punctuality_sensor")})],
                           asset_events=events, cursor=key)


# --------------------------------------------------------------------------------------------------
# expected deliveries: one schedule per source with a declared cadence
# --------------------------------------------------------------------------------------------------
# how often a source's deliveries are checked, from its cadence: a monthly source every day, a quarterly one every
# Monday, an annual one on the first of each month (UTC, 06:00)
EXPECT_CRON = {"monthly": "0 6 * * *", "quarterly": "0 6 * * 1", "annual": "0 6 1 * *"}


def _expected_schedule(source_id: str, cadence: str, country: str | None) -> dg.ScheduleDefinition:
    @dg.schedule(name=f"expect_{source_id}", cron_schedule=EXPECT_CRON[cadence], job=freshness_job,
                 execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
                 description=f"Expected deliveries of {source_id} ({cadence}): is its next period overdue (rule T2), "
                             "and which periods already due were never received ('ARG 2024 not received')? "
                             "Refreshes source_freshness; the tick names what is missing.")
    def _schedule(context: dg.ScheduleEvaluationContext):
        from pipelines.monitor.punctuality import expected_missing

        settings = get_settings()
        try:
            missing = expected_missing(settings, source_id)
        except KeyError:
            return dg.SkipReason(f"source {source_id!r} has no spec in {settings.reference_dir} any more")
        if not missing:
            return dg.SkipReason(f"{source_id}: every period due so far has been received")
        t = context.scheduled_execution_time
        return dg.RunRequest(run_key=f"expect-{source_id}-{t:%Y%m%d}" if t else None,
                             tags={"hemistat/expected_missing": "; ".join(m["message"] for m in missing)[:1000],
                                   **run_tags.run_tags("monitor", source=source_id, country=country,
                                                       channel="schedule", submitted_by=f"schedule expect_{source_id}")})

    return _schedule


def expected_delivery_schedules(reference_dir: Path | None = None) -> list[dg.ScheduleDefinition]:
    """One ``expect_<source>`` schedule per spec whose cadence is monthly, quarterly or annual."""
    return [_expected_schedule(sid, spec.cadence, spec.country_iso3)
            for sid, spec in sorted(_specs(_reference_dir(reference_dir)).items()) if spec.cadence in EXPECT_CRON]
