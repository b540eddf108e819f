"""Sensors: every new submission in the landing folder — from `hemistat submit`, a harvest or the upload
portal — becomes a dynamic partition and an ingest run; accepted submissions not yet published, and a
reviewer's approval of a web upload, trigger one publish run per tick (never two at once)."""

import hashlib

import dagster as dg

from pipelines.defs.assets import submissions_partitions
from pipelines.defs import tags as run_tags
from pipelines.defs.jobs import ingest_job, publish_job
from pipelines.pipeline.status import missing_from_release
from pipelines.settings import get_settings
from pipelines.storage import submissions as subs

IN_A_RELEASE = ("published", "superseded")
MAX_PUBLISH_ATTEMPTS = 5
RUN_KEY_TAG = "dagster/run_key"


@dg.sensor(job=ingest_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Watches <data>/landing for submissions Dagster has not seen (file + manifest with sha256), "
                       "whatever the channel (cli, harvest, web). Each becomes a partition and an ingest run; a "
                       "web upload the portal already checked is run again, so that its rule results are asset "
                       "checks here too (the steps are deterministic and never undo a reviewer's decision).")
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    settings = get_settings()
    known = set(context.instance.get_dynamic_partitions(submissions_partitions.name))
    new = [sid for sid in subs.list_submission_ids(settings.landing_dir) if sid not in known]
    # a submission whose status.json cannot be read is set aside (status_of: None), never ingested blindly
    run = [sid for sid in new if subs.status_of(settings.landing_dir, sid) not in (*IN_A_RELEASE, None)]
    if new:
        context.log.info(f"{len(new)} new submission(s), {len(run)} to ingest")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=sid, run_key=sid,
                                    tags=run_tags.submission_tags(settings, sid, "ingest")) for sid in run],
        dynamic_partitions_requests=[submissions_partitions.build_add_request(new)] if new else [],
    )


IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
STALE_AFTER_S = 2 * 3600   # a publication 'started' longer ago than this was killed (no process left to end it)


def publication_in_flight(instance) -> bool:
    """A publish run queued or going, created within STALE_AFTER_S (a run left 'started' by a killed process
    must not block publishing for ever)."""
    import time

    recs = instance.get_run_records(filters=dg.RunsFilter(job_name=publish_job.name, statuses=IN_FLIGHT), limit=5)
    return any(time.time() - r.create_timestamp.timestamp() < STALE_AFTER_S for r in recs)


def _publish_request(context, settings, pending: list[str], prefix: str, channel: str,
                     extra_tags: dict | None = None) -> dg.SensorResult:
    """One publish run for every submission in ``pending``: none while a publication is queued or going (it
    takes what was accepted before it; the next tick takes the rest); a publication that failed is tried
    again under a new run key, up to MAX_PUBLISH_ATTEMPTS times for the same set."""
    if not pending:
        return dg.SensorResult(run_requests=[])
    if publication_in_flight(context.instance):
        return dg.SensorResult(run_requests=[], skip_reason="a publication is queued or running; next tick")
    key = f"{prefix}-{hashlib.sha256('+'.join(sorted(pending)).encode()).hexdigest()[:16]}"
    for attempt in range(MAX_PUBLISH_ATTEMPTS):
        run_key = key if attempt == 0 else f"{key}-retry{attempt}"
        runs = context.instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key}), limit=1)
        if not runs or runs[0].status != dg.DagsterRunStatus.FAILURE:
            break
    else:
        context.log.warning(f"publishing {len(pending)} submission(s) failed {MAX_PUBLISH_ATTEMPTS} "
                            "times; see the failed publish runs, then launch publish_warehouse by hand")
        return dg.SensorResult(run_requests=[])
    tags = {**run_tags.submissions_tags(settings, pending, "publish", channel=channel), **(extra_tags or {})}
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=run_key, tags=tags)])


def _with_status(settings, status: str) -> list[str]:
    return [sid for sid in subs.list_submission_ids(settings.landing_dir)
            if subs.status_of(settings.landing_dir, sid) == status]


@dg.sensor(job=publish_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Accepted submissions not yet in a release (status 'validated': every ingest that passed "
                       "its rules, and one a crash left out of the release): one publication for all of them per "
                       "tick, never two at once, so a backfill of hundreds of files is published a few times, "
                       "not once per file.")
def publish_pending_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    settings = get_settings()
    pending = _with_status(settings, "validated")
    # marked published, yet the current release does not hold it (a publication lost in a crash)
    lost = [sid for sid in missing_from_release(settings) if sid not in pending
            and subs.status_of(settings.landing_dir, sid) == "published"]
    return _publish_request(context, settings, pending + lost, "publish-validated", "sensor")


@dg.sensor(job=publish_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="A reviewer approved a web upload in the portal (status 'approved') and the portal did not "
                       "publish it itself (HEMISTAT_PUBLISH_ON_APPROVAL=0): publish a release with it.")
def approval_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    settings = get_settings()
    approved = _with_status(settings, "approved")
    return _publish_request(context, settings, approved, "publish-approved", "sensor",
                            {"hemistat/approved": ",".join(approved)[:1000]})
