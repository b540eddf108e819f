"""Issue 12 (backfill) and 14 (resubmit after a crash): accepted submissions not yet in a release are
published by one run per sensor tick for all of them — never one per ingest, never two at once — and a
submission a crash left 'validated' is published by the next tick."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.sensors import publish_pending_sensor
from pipelines.samples.synthetic import generate_sample
from pipelines import pipeline
from pipelines.storage import submissions as subs


def _landed(settings, tmp_path, n_validated: int):
    paths = generate_sample(tmp_path / "sample")
    files = [p for ps in paths.values() for p in ps]
    sids = []
    for f in files[:n_validated + 1]:
        source = f.parent.name
        man, _ = pipeline.submit(settings, f, source)
        sids.append(man.submission_id)
    for sid in sids[:n_validated]:
        subs.set_status(settings.landing_dir, sid, "validated", detail="test")
    subs.set_status(settings.landing_dir, sids[-1], "awaiting_review", detail="warnings to acknowledge: P2")
    return sids


def test_one_publication_for_every_pending_submission(data_env, tmp_path):
    sids = _landed(data_env, tmp_path, 3)
    with dg.instance_for_test() as instance:
        reqs = publish_pending_sensor(dg.build_sensor_context(instance=instance)).run_requests
        assert len(reqs) == 1                                  # one run for the three, not three runs
        again = publish_pending_sensor(dg.build_sensor_context(instance=instance)).run_requests
        assert [r.run_key for r in again] == [reqs[0].run_key]  # the same set: the same key (Dagster dedups)
        # a fourth accepted submission makes a new set, published by the next run
        subs.set_status(data_env.landing_dir, sids[-1], "validated", detail="acknowledged")
        nxt = publish_pending_sensor(dg.build_sensor_context(instance=instance)).run_requests
        assert len(nxt) == 1 and nxt[0].run_key != reqs[0].run_key


def test_no_second_publication_while_one_is_queued_or_running(data_env, tmp_path):
    _landed(data_env, tmp_path, 2)
    from pipelines.definitions import defs

    with dg.instance_for_test() as instance:
        job = defs.resolve_job_def("publish_warehouse")
        instance.create_run_for_job(job, run_config={}, status=dg.DagsterRunStatus.FAILURE)   # over: no block
        assert publish_pending_sensor(dg.build_sensor_context(instance=instance)).run_requests
        instance.create_run_for_job(job, run_config={}, status=dg.DagsterRunStatus.STARTED)
        res = publish_pending_sensor(dg.build_sensor_context(instance=instance))
        assert res.run_requests == [] and "queued or running" in res.skip_reason.skip_message


def test_a_publication_left_started_by_a_killed_process_does_not_block(data_env, tmp_path, monkeypatch):
    _landed(data_env, tmp_path, 1)
    from pipelines.defs import sensors
    from pipelines.definitions import defs

    with dg.instance_for_test() as instance:
        instance.create_run_for_job(defs.resolve_job_def("publish_warehouse"), run_config={},
                                    status=dg.DagsterRunStatus.STARTED)
        assert publish_pending_sensor(dg.build_sensor_context(instance=instance)).run_requests == []
        monkeypatch.setattr(sensors, "STALE_AFTER_S", -1)     # as if it had started hours ago
        assert publish_pending_sensor(dg.build_sensor_context(instance=instance)).run_requests
