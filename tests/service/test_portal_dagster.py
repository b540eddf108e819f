"""The pipeline link: a file uploaded through the portal is picked up by Dagster's landing sensor (a
partition and an ingest run, its rule results recorded as asset checks), stays held for approval through
that run, and a reviewer's approval in the portal is what the approval sensor turns into a release."""

from __future__ import annotations

import json

import dagster as dg
import duckdb

from tests.service.conftest import good_file
from pipelines.storage.release import connect as release_connect

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _status(server, sid: str) -> str:
    return json.loads((server.data_dir / "landing" / sid / "status.json").read_text())["status"]


def test_web_upload_goes_through_the_dagster_sensors(app_factory, tmp_path, monkeypatch):
    server = app_factory(HEMISTAT_PUBLISH_ON_APPROVAL="0")   # publishing is left to Dagster
    server.user("dg.arg", "office", "ARG")
    server.user("dg.rev", "reviewer")
    office, reviewer = server.token("dg.arg"), server.token("dg.rev")
    url = server.url + "/api/submissions"
    code, v = server.curl(url, office, "-F", f"file=@{good_file(tmp_path)}", "-F", "source=ar_snic")
    assert code == 201 and v["status"] == "awaiting_review", v
    sid = v["submission_id"]

    monkeypatch.setenv("HEMISTAT_DATA_DIR", str(server.data_dir))
    from pipelines.definitions import defs
    from pipelines.defs.sensors import approval_sensor, landing_sensor

    with dg.instance_for_test() as instance:
        # the web upload is a new partition with an ingest run, like any other submission
        res = landing_sensor(dg.build_sensor_context(instance=instance))
        assert [r.partition_key for r in res.run_requests] == [sid]
        assert res.dynamic_partitions_requests[0].partition_keys == [sid]
        instance.add_dynamic_partitions("submissions", [sid])
        assert landing_sensor(dg.build_sensor_context(instance=instance)).run_requests == []

        run = defs.resolve_job_def("ingest_submission").execute_in_process(
            partition_key=sid, instance=instance, run_config=QUIET, raise_on_error=False)
        assert run.success
        checks = {e.check_name: e.passed for e in run.get_asset_check_evaluations()}
        assert checks["I1"] is False and checks["S1"] is True and len(checks) >= 20
        assert _status(server, sid) == "awaiting_review"            # the run keeps it held for approval
        assert approval_sensor(dg.build_sensor_context(instance=instance)).run_requests == []

        # a reviewer acknowledges and approves in the portal; with PUBLISH_ON_APPROVAL=0 nothing is published yet
        rules = sorted({f["rule_id"] for f in v["failures"] if f["severity"] == "warn"})
        code, r = server.curl(url + f"/{sid}/acknowledge", reviewer, "-H", "content-type: application/json",
                       "-d", json.dumps({"rules": rules, "reason": "known SNIC breakdowns"}))
        assert code == 200 and r["status"] == "awaiting_review"
        code, r = server.curl(url + f"/{sid}/decision", reviewer, "-H", "content-type: application/json",
                       "-d", json.dumps({"decision": "approve", "comment": "matches the SNIC release"}))
        assert code == 200 and r["status"] == "approved" and not r["published"], r
        assert not (server.data_dir / "hemistat.duckdb").exists()

        # an ingest run after the approval does not undo it
        rerun = defs.resolve_job_def("ingest_submission").execute_in_process(
            partition_key=sid, instance=instance, run_config=QUIET, raise_on_error=False)
        assert rerun.success and _status(server, sid) == "approved"

        reqs = approval_sensor(dg.build_sensor_context(instance=instance)).run_requests
        assert len(reqs) == 1 and sid in reqs[0].tags["hemistat/approved"]
        pub = defs.resolve_job_def("publish_warehouse").execute_in_process(instance=instance, run_config=QUIET,
                                                                          raise_on_error=False)
        assert pub.success
        assert _status(server, sid) == "published"
        assert approval_sensor(dg.build_sensor_context(instance=instance)).run_requests == []

    con = release_connect(server.data_dir / "hemistat.duckdb")
    try:
        got = con.execute("select year, value from published.indicators where submission_id = ? and iccs_code = '0101' "
                          "and measure = 'offences' and sex = '_T' and subdivision_code is null and month is null "
                          "order by year", [sid]).fetchall()
    finally:
        con.close()
    assert got == [(2000, 2653.0), (2001, 3053.0)]


def test_a_reviewers_refusal_survives_a_pipeline_rerun(data_env, tmp_path):
    """pipeline.validate re-run on a submission a reviewer refused keeps it refused."""
    from pipelines import pipeline
    from pipelines.storage import submissions as subs

    man, _ = pipeline.submit(data_env, good_file(tmp_path), "ar_snic", channel="web", uploaded_by="ana")
    pipeline.ingest(data_env, man.submission_id)
    pipeline.validate(data_env, man.submission_id)
    assert subs.read_status(data_env.landing_dir, man.submission_id)["status"] == "awaiting_review"
    subs.set_status(data_env.landing_dir, man.submission_id, "rejected", by="rev", detail="publication refused: x",
                    decision={"decision": "reject", "by": "rev", "comment": "x"})
    pipeline.ingest(data_env, man.submission_id)
    pipeline.validate(data_env, man.submission_id)
    assert subs.read_status(data_env.landing_dir, man.submission_id)["status"] == "rejected"
    assert pipeline.accepted_submissions(data_env).empty


def test_an_approval_in_the_portal_is_a_recorded_dagster_run(app_factory, tmp_path):
    """One publish path: the portal asks Dagster to run publish_warehouse (the job the sensors run) in the
    data folder's instance; every publication — after an approval, a withdrawal — is a successful run there,
    and the audit event and the API answer name it."""
    srv = app_factory()
    srv.user("run.arg", "office", "ARG")
    srv.user("run.rev", "reviewer")
    office, reviewer = srv.token("run.arg"), srv.token("run.rev")
    url = srv.url + "/api/submissions"
    code, v = srv.curl(url, office, "-F", f"file=@{good_file(tmp_path)}", "-F", "source=ar_snic")
    assert code == 201, v
    sid = v["submission_id"]
    rules = sorted({f["rule_id"] for f in v["failures"] if f["severity"] == "warn"})
    code, r = srv.curl(url + f"/{sid}/acknowledge", reviewer, "-H", "content-type: application/json",
                       "-d", json.dumps({"rules": rules, "reason": "known SNIC breakdowns"}))
    assert code == 200
    code, r = srv.curl(url + f"/{sid}/decision", reviewer, "-H", "content-type: application/json",
                       "-d", json.dumps({"decision": "approve", "comment": "matches the SNIC release"}))
    assert code == 200 and r["status"] == "published" and r["published"] and r["run_id"], r
    approved = r
    code, r = srv.curl(url + f"/{sid}/withdraw", reviewer, "-H", "content-type: application/json",
                       "-d", json.dumps({"reason": "provisional"}))
    assert code == 200 and r["publish"] == "published" and r["run_id"] and r["run_id"] != approved["run_id"], r
    withdrawn = r

    events = [json.loads(e.detail) for e in srv.db.audit_events(50, action="publish", submission_id=sid)]
    assert [(e["after"], e["run_id"], e["release_id"], e["job"]) for e in reversed(events)] == [
        ("approve", approved["run_id"], approved["published"], "publish_warehouse"),
        ("withdraw", withdrawn["run_id"], withdrawn["published"], "publish_warehouse")]

    instance = dg.DagsterInstance.from_config(str(srv.data_dir / "dagster_home"))
    try:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name="publish_warehouse"))
        assert {run.run_id for run in runs} == {approved["run_id"], withdrawn["run_id"]}   # one run each, no other
        for run, after in ((instance.get_run_by_id(approved["run_id"]), "approve"),
                           (instance.get_run_by_id(withdrawn["run_id"]), "withdraw")):
            assert run.status == dg.DagsterRunStatus.SUCCESS
            assert run.tags["hemistat/after"] == after and run.tags["hemistat/submission"] == sid
            assert run.tags["hemistat/by"] == "run.rev" and run.tags["hemistat/channel"] == "portal"
            assert run.run_config["resources"]["hemistat"]["config"]["data_dir"] == str(srv.data_dir.resolve())
        latest = instance.get_latest_materialization_event(dg.AssetKey("published_warehouse"))
        assert latest.run_id == withdrawn["run_id"]
        assert latest.asset_materialization.metadata["release_id"].value == withdrawn["published"]
        # the harmonised-layer rules are asset checks of that run
        checks = instance.event_log_storage.get_logs_for_run(approved["run_id"])
        assert any(e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION" for e in checks)
    finally:
        instance.dispose()
    con = release_connect(srv.data_dir / "hemistat.duckdb")
    try:
        assert con.execute("select count(*) from published.indicators where submission_id = ?", [sid]).fetchone()[0] == 0
    finally:
        con.close()


def test_a_failed_publish_run_is_recorded_and_the_approval_stands(app_factory, tmp_path, monkeypatch):
    """A publish run that fails: the approval stands, the answer says `failed`, and the failed Dagster run is
    in the instance and in the audit event."""
    srv = app_factory()
    srv.user("fail.arg", "office", "ARG")
    srv.user("fail.rev", "reviewer")
    office, reviewer = srv.token("fail.arg"), srv.token("fail.rev")
    url = srv.url + "/api/submissions"
    code, v = srv.curl(url, office, "-F", f"file=@{good_file(tmp_path)}", "-F", "source=ar_snic")
    sid = v["submission_id"]
    rules = sorted({f["rule_id"] for f in v["failures"] if f["severity"] == "warn"})
    srv.curl(url + f"/{sid}/acknowledge", reviewer, "-H", "content-type: application/json",
             "-d", json.dumps({"rules": rules, "reason": "known"}))
    from pipelines import pipeline

    def broken(settings):
        raise OSError("disk full (test)")

    monkeypatch.setattr(pipeline, "publish_all", broken)
    code, r = srv.curl(url + f"/{sid}/decision", reviewer, "-H", "content-type: application/json",
                       "-d", json.dumps({"decision": "approve", "comment": "ok"}))
    assert code == 200 and r["status"] == "approved" and r["publish_error"] and r["run_id"], r
    assert "disk full (test)" in r["publish_error"]
    ev = json.loads(srv.db.audit_events(5, action="publish_failed", submission_id=sid)[0].detail)
    assert ev["run_id"] == r["run_id"] and ev["after"] == "approve"
    instance = dg.DagsterInstance.from_config(str(srv.data_dir / "dagster_home"))
    try:
        run = instance.get_run_by_id(r["run_id"])
        assert run.job_name == "publish_warehouse" and run.status == dg.DagsterRunStatus.FAILURE
    finally:
        instance.dispose()
    assert _status(srv, sid) == "approved"          # approval_sensor publishes it later
