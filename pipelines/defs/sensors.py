"""Sensors: every new submission in the landing folder — from `hemistat submit`, a harvest or the upload
portal — becomes a dynamic partition and an ingest run; a successful ingest run, or a reviewer's approval
of a web upload, triggers a publish run."""

import hashlib

import dagster as dg

from pipelines.defs.assets import submissions_partitions
from pipelines.defs import tags as run_tags
from pipelines.defs.jobs import ingest_job, publish_job
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
    run = [sid for sid in new if subs.read_status(settings.landing_dir, sid).get("status") not in IN_A_RELEASE]
    if new:
        context.log.info(f"{len(new)} new submission(s), {len(run)} to ingest")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=sid, run_key=sid,
                                    tags=run_tags.submission_tags(settings, sid, "ingest")) for sid in run],
        dynamic_partitions_requests=[submissions_partitions.build_add_request(new)] if new else [],
    )


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[ingest_job],
                      request_job=publish_job, default_status=dg.DefaultSensorStatus.RUNNING,
                      description="After a submission is validated, rebuild harmonised and publish a release.")
def publish_after_ingest(context: dg.RunStatusSensorContext):
    return dg.RunRequest(run_key=f"publish-after-{context.dagster_run.run_id}",
                         tags=run_tags.carried(context.dagster_run.tags, "publish"))


@dg.sensor(job=publish_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="A reviewer approved a web upload in the portal (status 'approved') and the portal did not "
                       "publish it itself (HEMISTAT_PUBLISH_ON_APPROVAL=0): publish a release with it.")
def approval_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    settings = get_settings()
    approved = [sid for sid in subs.list_submission_ids(settings.landing_dir)
                if subs.read_status(settings.landing_dir, sid).get("status") == "approved"]
    # one release for everything approved since the last tick; run keys make each approval count once
    if not approved:
        return dg.SensorResult(run_requests=[])
    key = f"publish-approved-{hashlib.sha256('+'.join(approved).encode()).hexdigest()[:16]}"
    # a publish that failed leaves the statuses 'approved' (statuses follow the release): try again under
    # a new run key, up to MAX_PUBLISH_ATTEMPTS times; a run still queued or going is not doubled
    for attempt in range(MAX_PUBLISH_ATTEMPTS):
        run_key = key if attempt == 0 else f"{key}-retry{attempt}"
        runs = context.instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key}), limit=1)
        if not runs or runs[0].status != dg.DagsterRunStatus.FAILURE:
            break
    else:
        context.log.warning(f"publishing {len(approved)} approved submission(s) failed {MAX_PUBLISH_ATTEMPTS} "
                            "times; see the failed publish runs, then launch publish_warehouse by hand")
        return dg.SensorResult(run_requests=[])
    tags = {**run_tags.submissions_tags(settings, approved, "publish", channel="sensor"),
            "hemistat/approved": ",".join(approved)[:1000]}
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=run_key, tags=tags)])
