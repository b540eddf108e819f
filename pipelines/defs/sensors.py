"""Sensors: a new submission in the landing folder becomes a dynamic partition and an ingest run;
a successful ingest run triggers a publish run."""


import dagster as dg

from pipelines.defs.assets import submissions_partitions
from pipelines.defs.jobs import ingest_job, publish_job
from pipelines.settings import get_settings
from pipelines.storage import submissions as subs


@dg.sensor(job=ingest_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Watches <data>/landing for new submissions (file + manifest with sha256).")
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    settings = get_settings()
    known = set(context.instance.get_dynamic_partitions(submissions_partitions.name))
    new = [sid for sid in subs.list_submission_ids(settings.landing_dir)
           if sid not in known and subs.read_status(settings.landing_dir, sid).get("status") == "received"]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=sid, run_key=sid) for sid in new],
        dynamic_partitions_requests=[submissions_partitions.build_add_request(new)] if new else [],
    )


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[ingest_job],
                      request_job=publish_job, default_status=dg.DefaultSensorStatus.RUNNING,
                      description="After a submission is validated, rebuild harmonised and publish a release.")
def publish_after_ingest(context: dg.RunStatusSensorContext):
    return dg.RunRequest(run_key=f"publish-after-{context.dagster_run.run_id}")
