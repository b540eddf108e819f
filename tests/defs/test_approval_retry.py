"""Issue 9, item 3: a publish that failed leaves approved submissions 'approved', and the approval sensor
asks for a new publish run (a new run key) instead of waiting forever on the failed one."""

from __future__ import annotations

import dagster as dg

from pipelines import pipeline
from pipelines.storage import submissions as subs
from tests.conftest import real

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def test_failed_publish_is_retried_under_a_new_run_key(data_env):
    from pipelines.definitions import defs
    from pipelines.defs.sensors import MAX_PUBLISH_ATTEMPTS, approval_sensor

    man, _ = pipeline.submit(data_env, real("ar_snic/snic-pais.csv"), "ar_snic", channel="web")
    subs.set_status(data_env.landing_dir, man.submission_id, "approved", by="reviewer")
    with dg.instance_for_test() as instance:
        first = approval_sensor(dg.build_sensor_context(instance=instance)).run_requests
        assert len(first) == 1
        keys = [first[0].run_key]
        for _ in range(MAX_PUBLISH_ATTEMPTS):
            # nothing was ingested, so the publish run fails; the status stays 'approved'
            run = defs.resolve_job_def("publish_warehouse").execute_in_process(
                instance=instance, run_config=QUIET, raise_on_error=False,
                tags={"dagster/run_key": keys[-1]})
            assert not run.success
            assert subs.read_status(data_env.landing_dir, man.submission_id)["status"] == "approved"
            nxt = approval_sensor(dg.build_sensor_context(instance=instance)).run_requests
            if not nxt:
                break
            assert nxt[0].run_key not in keys
            keys.append(nxt[0].run_key)
        assert len(keys) == MAX_PUBLISH_ATTEMPTS          # retried, then left to a statistician
