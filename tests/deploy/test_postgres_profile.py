"""The ``postgres`` deployment profile (deploy/postgres/dagster.yaml) against a real PostgreSQL the test
starts (tests/pg.py): a submission goes through the pipeline with the in-process runner, and its runs —
ingest and publish — are recorded in PostgreSQL with their hemistat tags; the queued run coordinator loads
with the per-country limits and applies them; every profile's dagster.yaml validates; the multiprocess
executor runs a job against the same instance.

Input: the synthetic SNIC national file (pipelines/samples/synthetic.py), so the test needs no real file."""

from __future__ import annotations

import csv
import io
import os
import uuid
from pathlib import Path

import dagster as dg
import duckdb
import psycopg
import pytest
import yaml

from tests.conftest import environ
from pipelines.storage.release import connect as release_connect

REPO = Path(__file__).resolve().parents[2]
PROFILES = sorted(p.parent.name for p in (REPO / "deploy").glob("*/dagster.yaml"))
TAG_KEYS = ("hemistat/source", "hemistat/country", "hemistat/channel", "hemistat/submitted_by", "hemistat/stage")


def _libpq(pg_url: str) -> dict:
    hostport, db = pg_url.split("@", 1)[1].split("/", 1)
    host, port = hostport.rsplit(":", 1)
    return {"host": host, "port": int(port), "user": "postgres", "dbname": db}


@pytest.fixture(scope="module")
def dagster_db(pg_url):
    """An empty database for Dagster's tables on the session's PostgreSQL: the profile's environment variables."""
    pg = _libpq(pg_url)
    name = "dagster_" + uuid.uuid4().hex[:10]
    with psycopg.connect(host=pg["host"], port=pg["port"], user=pg["user"], dbname="postgres", autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    return {"HEMISTAT_DAGSTER_PG_HOST": pg["host"], "HEMISTAT_DAGSTER_PG_PORT": str(pg["port"]),
            "HEMISTAT_DAGSTER_PG_USER": pg["user"], "HEMISTAT_DAGSTER_PG_PASSWORD": "", "HEMISTAT_DAGSTER_PG_DB": name}


def _connect(db: dict):
    return psycopg.connect(host=db["HEMISTAT_DAGSTER_PG_HOST"], port=int(db["HEMISTAT_DAGSTER_PG_PORT"]),
                           user=db["HEMISTAT_DAGSTER_PG_USER"], dbname=db["HEMISTAT_DAGSTER_PG_DB"])


@pytest.fixture(scope="module")
def pg_env(tmp_path_factory, dagster_db):
    """A data folder whose Dagster instance is the postgres profile pointed at ``dagster_db``."""
    tmp = tmp_path_factory.mktemp("pgprofile")
    with environ({"HEMISTAT_DATA_DIR": str(tmp / "data"), "HEMISTAT_DAGSTER_PROFILE": "postgres",
                  "HEMISTAT_SAMPLE": "synthetic", "DAGSTER_HOME": None, **dagster_db}):
        from pipelines.settings import get_settings

        s = get_settings()
        s.ensure_dirs()
        yield s, tmp


@pytest.fixture(scope="module")
def published(pg_env):
    """The synthetic SNIC national file submitted, ingested and published with the in-process runner."""
    from pipelines import pipeline
    from pipelines.defs import runner
    from pipelines.samples.synthetic import generate_sample

    s, tmp = pg_env
    pais = next(p for p in generate_sample(tmp / "sample")["ar_snic"] if p.name.startswith("snic-pais"))
    man, _ = pipeline.submit(s, pais, "ar_snic", uploaded_by="statistician@ar")
    sid = man.submission_id
    instance = runner.instance_at(s)
    status = runner.ingest(s, [sid], instance, progress=lambda m: None)[sid]
    if status == "awaiting_review":
        pipeline.acknowledge(s, sid, pipeline.failing_warnings(s, sid), by="test", reason="synthetic sample")
    run = runner.publish_run(s, instance)
    assert run["success"], run["error"]
    yield s, sid, instance, pais, run
    instance.dispose()


def test_the_postgres_profile_records_a_submission_s_runs_in_postgresql(published, dagster_db):
    s, sid, instance, pais, run = published
    # the instance is the profile's: PostgreSQL storage, queued run coordinator
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    assert (s.dagster_home / "dagster.yaml").read_text() == (REPO / "deploy/postgres/dagster.yaml").read_text()
    assert not list(s.dagster_home.rglob("*.db")), "no SQLite storage beside the PostgreSQL one"

    # the runs, in PostgreSQL's own tables (read with psycopg, not through Dagster)
    with _connect(dagster_db) as con:
        rows = con.execute("select run_id, pipeline_name, status from runs order by create_timestamp").fetchall()
        tags = {}
        for run_id, key, value in con.execute("select run_id, key, value from run_tags"):
            tags.setdefault(run_id, {})[key] = value
        n_events = con.execute("select count(*) from event_logs where run_id = %s", (run["run_id"],)).fetchone()[0]
    assert [(r[1], r[2]) for r in rows] == [("ingest_submission", "SUCCESS"), ("publish_warehouse", "SUCCESS")]
    ingest_id, publish_id = rows[0][0], rows[1][0]
    assert publish_id == run["run_id"] and n_events > 0
    assert tags[ingest_id]["dagster/partition"] == sid
    expected = {"hemistat/source": "ar_snic", "hemistat/country": "ARG", "hemistat/channel": "cli",
                "hemistat/submitted_by": "statistician@ar"}
    assert {k: tags[ingest_id][k] for k in expected} == expected
    assert tags[ingest_id]["hemistat/stage"] == "ingest" and tags[publish_id]["hemistat/stage"] == "publish"
    assert all(k in tags[publish_id] for k in TAG_KEYS)

    # the same through Dagster's API, and the published release's materialization is in the event log
    runs = instance.get_runs()
    assert {r.run_id for r in runs} == {ingest_id, publish_id}
    assert instance.get_runs(filters=dg.RunsFilter(tags={"hemistat/country": "ARG"}))[0].run_id == ingest_id
    mat = instance.get_latest_materialization_event(dg.AssetKey("published_warehouse"))
    assert mat is not None and mat.run_id == publish_id

    # and the warehouse has the file's values: homicides (SNIC code 1) by year, summed by hand
    rows = list(csv.reader(io.StringIO(pais.read_text("utf-8")), delimiter=";"))
    head = rows[0]
    hand = {int(r[0]): float(r[head.index("cantidad_hechos")]) for r in rows[1:]
            if r and r[head.index("codigo_delito_snic_id")] == "1"}
    con = release_connect(s.duckdb_path)
    try:
        got = dict(con.execute("""select year, value from published.indicators where source_id = 'ar_snic'
                                  and iccs_code = '0101' and measure = 'offences' and sex = '_T'
                                  and subdivision_code is null and month is null and derivation = 'reported'""")
                   .fetchall())
    finally:
        con.close()
    assert got == hand


def test_the_queued_run_coordinator_limits_runs_per_country(published):
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster._utils.tags import TagConcurrencyLimitsCounter

    instance = published[2]
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    q = instance.get_concurrency_config().run_queue_config
    assert q.max_concurrent_runs == 8
    limits = {(t["key"], str(t.get("value"))): t["limit"] for t in q.tag_concurrency_limits}
    assert limits[("hemistat/country", str({"applyLimitPerUniqueValue": True}))] == 1
    assert limits[("hemistat/stage", "publish")] == 1

    # what the daemon's dequeue asks: with an Argentine run going, another Argentine one waits; a Brazilian
    # one starts; a second publication waits for the first
    def run(country, stage):
        return dg.DagsterRun(job_name="x", run_id=uuid.uuid4().hex,
                             tags={"hemistat/country": country, "hemistat/stage": stage})

    counter = TagConcurrencyLimitsCounter(q.tag_concurrency_limits, [run("ARG", "ingest")])
    assert counter.is_blocked(run("ARG", "ingest"))
    assert not counter.is_blocked(run("BRA", "ingest"))
    counter = TagConcurrencyLimitsCounter(q.tag_concurrency_limits, [run("all", "publish")])
    assert counter.is_blocked(run("MEX", "publish")) and not counter.is_blocked(run("MEX", "ingest"))


def test_the_sensors_request_runs_with_the_hemistat_tags(published):
    """The landing sensor's ingest request and the publish-after-ingest request carry the tags the queue limits by."""
    from pipelines import pipeline
    from pipelines.defs import tags as run_tags
    from pipelines.defs.sensors import landing_sensor

    s, sid, instance, pais = published[:4]
    prov = pais.with_name("snic-provincias.csv")
    new, _ = pipeline.submit(s, prov, "ar_snic", uploaded_by="harvest", channel="harvest")
    res = landing_sensor(dg.build_sensor_context(instance=instance))
    (req,) = [r for r in res.run_requests if r.partition_key == new.submission_id]
    assert {k: req.tags[k] for k in TAG_KEYS} == {
        "hemistat/source": "ar_snic", "hemistat/country": "ARG", "hemistat/channel": "harvest",
        "hemistat/submitted_by": "harvest", "hemistat/stage": "ingest"}
    after = run_tags.carried({**req.tags, "dagster/partition": new.submission_id}, "publish")
    assert after["hemistat/country"] == "ARG" and after["hemistat/stage"] == "publish"
    assert "dagster/partition" not in after


@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_s_dagster_yaml_loads(profile, tmp_path, dagster_db):
    """DagsterInstance.from_config accepts every profile (the postgres one with its database reachable)."""
    from dagster._core.instance.config import dagster_instance_config

    home = tmp_path / "home"
    home.mkdir()
    text = (REPO / "deploy" / profile / "dagster.yaml").read_text()
    (home / "dagster.yaml").write_text(text)
    assert yaml.safe_load(text)["telemetry"] == {"enabled": False}
    with environ(dagster_db):
        dagster_instance_config(str(home))                 # schema validation
        inst = dg.DagsterInstance.from_config(str(home))
        try:
            assert inst.get_runs(limit=1) is not None
        finally:
            inst.dispose()


def test_an_unknown_profile_is_refused(monkeypatch, tmp_path):
    from pipelines.defs import runner

    monkeypatch.setenv("HEMISTAT_DAGSTER_PROFILE", "nowhere")
    with pytest.raises(ValueError, match="no such deployment profile"):
        runner.profile_yaml()
    monkeypatch.setenv("HEMISTAT_DAGSTER_PROFILE", "local")
    assert runner.profile_yaml() == (REPO / "deploy/local/dagster.yaml").read_text()
    own = tmp_path / "mine.yaml"
    own.write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("HEMISTAT_DAGSTER_PROFILE", str(own))
    assert runner.profile_yaml() == own.read_text()


def test_the_multiprocess_executor_runs_an_ingest_against_the_postgres_instance(published):
    """The same ingest job with Dagster's multiprocess executor (each step in its own process, as the
    daemon's runs execute): the step processes record their events in PostgreSQL too."""
    from pipelines import pipeline
    from pipelines.defs import runner
    from pipelines.storage import submissions as subs

    s, _, instance, pais = published[:4]
    man, _ = pipeline.submit(s, pais.with_name("snic-provincias.csv"), "ar_snic", uploaded_by="harvest",
                             channel="harvest")
    res = runner.execute_multiprocess(s, instance, "ingest_submission", partition_key=man.submission_id)
    assert res.success
    run = instance.get_run_by_id(res.run_id)
    assert run.tags["hemistat/country"] == "ARG" and run.tags["dagster/partition"] == man.submission_id
    assert run.run_config["execution"]["config"]["multiprocess"]["max_concurrent"] == 2
    events = [e.dagster_event for e in instance.all_logs(res.run_id) if e.is_dagster_event]
    started = {e.step_key: e.pid for e in events if e.event_type_value == "STEP_START"}
    assert {e.step_key for e in events if e.event_type_value == "STEP_WORKER_STARTED"} == set(started)
    assert {"raw_table", "validated_table"} <= set(started)
    assert os.getpid() not in started.values(), "each step ran in a process of its own"
    assert subs.read_status(s.landing_dir, man.submission_id)["status"] in ("validated", "awaiting_review")
