"""Scheduled harvesting and punctuality: a real file served from a local HTTP server, a temporary copy of
reference/ whose ar_snic spec gets a harvest block, and private data folders."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import shutil
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import REPO, real

T0 = datetime(2026, 3, 1, 6, 0, tzinfo=timezone.utc)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        targets = {"/redirect-to-file": "file:///etc/hostname", "/redirect-to-ftp": "ftp://127.0.0.1/x.csv"}
        if self.path in targets:
            self.send_response(302)
            self.send_header("Location", targets[self.path])
            self.end_headers()
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    shutil.copyfile(real("ar_snic/snic-pais.csv"), www / "snic-pais.csv")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(www)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(5)


def _reference_with_harvest(root: Path, url: str) -> Path:
    ref = root / "reference"
    shutil.copytree(REPO / "reference", ref)
    spec = ref / "sources" / "ar_snic.yaml"
    spec.write_text(spec.read_text("utf-8") + f'harvest:\n  url: "{url}"\n  cron: "0 6 * * *"\n'
                    "expected_lag_days: 180\n", encoding="utf-8")
    return ref


@pytest.fixture
def env(tmp_path, monkeypatch, server):
    www, base = server
    ref = _reference_with_harvest(tmp_path / "repo", f"{base}/snic-pais.csv")
    monkeypatch.setenv("HEMISTAT_REFERENCE_DIR", str(ref))
    monkeypatch.setenv("HEMISTAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data" / "dagster_home"))
    from pipelines.settings import get_settings

    s = get_settings()
    s.ensure_dirs()
    return s, www, base, ref


def _touch_later(path: Path, seconds: int = 10) -> None:
    st = path.stat()
    os.utime(path, (st.st_atime + seconds, st.st_mtime + seconds))


def _submissions(settings):
    from pipelines.storage import submissions as subs

    return subs.list_submissions(settings.landing_dir)


def test_harvest_stores_new_bytes_only_and_records_checks(env):
    from pipelines.monitor.harvest import harvest, read_attempts, read_state

    s, www, _, _ = env
    body = (www / "snic-pais.csv").read_bytes()

    r1 = harvest(s, "ar_snic", now=T0)
    assert r1["ok"] and r1["created"] and r1["changed"] and r1["http_status"] == 200, r1
    assert r1["sha256"] == hashlib.sha256(body).hexdigest()
    [sub] = _submissions(s)
    assert sub["submission_id"] == r1["submission_id"] and sub["channel"] == "harvest"
    assert sub["original_name"] == "snic-pais.csv" and sub["uploaded_by"] == "harvest"
    from pipelines.storage import submissions as subs

    assert subs.stored_file(s.landing_dir, r1["submission_id"]).read_bytes() == body
    st = read_state(s, "ar_snic")
    assert st["last_check"] == st["last_change"] == T0.isoformat(timespec="seconds")
    assert st["sha256"] == r1["sha256"] and st["http_status"] == 200 and st["last_error"] is None

    # same bytes again: nothing stored, last check moves, last change does not (http.server sends
    # Last-Modified, so this is a conditional request answered 304)
    t1 = T0 + timedelta(days=1)
    r2 = harvest(s, "ar_snic", now=t1)
    assert r2["ok"] and not r2["created"] and not r2["changed"]
    assert r2["outcome"] == "unchanged_304" and r2["sent"]["If-Modified-Since"]
    assert r2["submission_id"] == r1["submission_id"]
    assert len(_submissions(s)) == 1
    st = read_state(s, "ar_snic")
    assert st["last_check"] == t1.isoformat(timespec="seconds")
    assert st["last_change"] == T0.isoformat(timespec="seconds")
    assert st["checks"] == 2

    # the publisher revises the file: a new submission, last change moves
    t2 = T0 + timedelta(days=2)
    (www / "snic-pais.csv").write_bytes(body.replace(b"2022;1;Homicidios dolosos;", b"2022;1;Homicidios dolosos ;", 1)
                                        if b"2022;1;Homicidios dolosos;" in body else body + b"\n")
    _touch_later(www / "snic-pais.csv")  # Last-Modified has one-second granularity
    r3 = harvest(s, "ar_snic", now=t2)
    assert r3["ok"] and r3["created"] and r3["changed"], r3
    assert r3["submission_id"] != r1["submission_id"]
    assert len(_submissions(s)) == 2
    st = read_state(s, "ar_snic")
    assert st["last_change"] == st["last_check"] == t2.isoformat(timespec="seconds")
    assert st["sha256"] == r3["sha256"] != r1["sha256"]

    # the file disappears: a 404 is recorded as an error, nothing stored, the last good sha256 kept
    t3 = T0 + timedelta(days=3)
    (www / "snic-pais.csv").unlink()
    r4 = harvest(s, "ar_snic", now=t3)
    assert not r4["ok"] and not r4["created"] and r4["http_status"] == 404 and "404" in r4["error"]
    assert len(_submissions(s)) == 2
    st = read_state(s, "ar_snic")
    assert st["last_check"] == t3.isoformat(timespec="seconds")
    assert st["last_change"] == t2.isoformat(timespec="seconds")
    assert st["sha256"] == r3["sha256"]
    assert st["last_error"]["http_status"] == 404 and st["consecutive_errors"] == 1
    assert [h["ok"] for h in st["history"]] == [True, True, True, False]
    # no temporary download is left behind
    assert sorted(p.name for p in (s.data_dir / "harvest").iterdir()) == ["ar_snic.attempts.jsonl", "ar_snic.json"]
    assert [a["outcome"] for a in read_attempts(s, "ar_snic")] == ["new_submission", "unchanged_304",
                                                                   "new_submission", "permanent_error"]


def test_harvest_refuses_other_schemes_redirects_and_oversize(env):
    from pipelines.monitor.harvest import HarvestError, check_url, download, harvest

    s, _, base, _ = env
    for bad in ("file:///etc/passwd", "ftp://example.org/x.csv", "data:text/plain,1", "/etc/passwd", "http://"):
        with pytest.raises(HarvestError):
            check_url(bad)
    with pytest.raises(HarvestError, match="not allowed"):   # urllib's own guard
        download(f"{base}/redirect-to-file", s.data_dir / "x.part")
    with pytest.raises(HarvestError, match="http or https"):  # ours: urllib would follow ftp
        download(f"{base}/redirect-to-ftp", s.data_dir / "x.part")
    r = harvest(s, "ar_snic", now=T0, max_bytes=100)
    assert not r["ok"] and "limit" in r["error"]
    assert _submissions(s) == []
    # a source without a harvest block is reported, not raised
    r = harvest(s, "mx_sesnsp", now=T0)
    assert not r["ok"] and "no harvest.url" in r["error"]
    with pytest.raises(KeyError):
        harvest(s, "no_such_source", now=T0)


def test_lateness_old_vs_fresh(env):
    from pipelines import pipeline
    from pipelines.monitor.harvest import harvest
    from pipelines.monitor.punctuality import lateness
    from pipelines.quality.timeliness import period_bounds

    s, _, _, _ = env
    before = lateness(s, "ar_snic", T0)
    assert before["late"] is None and "no accepted submission" in before["message"]

    sid = harvest(s, "ar_snic", now=T0)["submission_id"]
    pipeline.ingest(s, sid)
    pipeline.validate(s, sid)  # validated or awaiting review: both count as delivered

    # snic-pais.csv ends in 2022: 2023 was due by 2024-01-01 + 1 year + 180 days lag + 30 days grace
    fresh = lateness(s, "ar_snic", datetime(2023, 6, 1, tzinfo=timezone.utc))
    assert fresh["latest_period"] == "2022" and fresh["next_period"] == "2023"
    assert fresh["due"] == "2024-07-29" and fresh["lag_declared"] and fresh["grace_days"] == 30
    assert fresh["late"] is False and fresh["days_late"] == 0
    old = lateness(s, "ar_snic", datetime(2026, 3, 1, tzinfo=timezone.utc))
    assert old["late"] is True and old["days_late"] == (datetime(2026, 3, 1).date()
                                                        - datetime(2024, 7, 29).date()).days
    assert "late" in old["message"]

    assert period_bounds(2024, 11, "monthly")[0] == "2024-11"
    assert period_bounds(2024, 11, "quarterly")[0] == "2024-Q4"
    assert lateness(s, "unodc_cts", T0)["late"] is None  # nothing accepted


def test_schedule_in_definitions_requests_a_harvest_run(env, monkeypatch, tmp_path):
    from pipelines import settings as settings_module
    from pipelines.defs.resources import HemistatSettings
    from pipelines.defs.schedules import harvest_job, harvest_run_config, harvest_schedules
    from pipelines.defs.sensors import landing_sensor

    s, _, _, ref = env
    # the schedules are built from <REPO_ROOT>/reference when definitions load
    monkeypatch.setattr(settings_module, "REPO_ROOT", ref.parent)
    defs = dg.Definitions(jobs=[harvest_job], schedules=harvest_schedules(),
                          resources={"hemistat": HemistatSettings()})
    sched = defs.resolve_schedule_def("harvest_ar_snic")
    assert sched.cron_schedule == "0 6 * * *"
    assert [x.name for x in harvest_schedules(ref)] == ["harvest_ar_snic"]

    with dg.instance_for_test() as instance:
        ctx = dg.build_schedule_context(instance=instance, scheduled_execution_time=T0)
        data = sched.evaluate_tick(ctx)
        [req] = data.run_requests
        assert req.run_config == harvest_run_config("ar_snic")
        assert req.run_key == "harvest-ar_snic-20260301T0600"
        assert req.tags["hemistat/source"] == "ar_snic"

        # the run calls harvest: a new submission lands and the landing sensor requests its ingest
        res = defs.resolve_job_def("harvest_source").execute_in_process(run_config=req.run_config, instance=instance)
        assert res.success
        out = res.output_for_node("harvest_source_op")
        assert out["created"] and out["submission_id"]
        sensed = landing_sensor(dg.build_sensor_context(instance=instance))
        assert [r.partition_key for r in sensed.run_requests] == [out["submission_id"]]

        # a second run finds the same bytes: success, nothing new for the sensor
        instance.add_dynamic_partitions("submissions", [out["submission_id"]])
        res2 = defs.resolve_job_def("harvest_source").execute_in_process(run_config=req.run_config,
                                                                          instance=instance)
        assert res2.success and not res2.output_for_node("harvest_source_op")["created"]
        assert landing_sensor(dg.build_sensor_context(instance=instance)).run_requests == []

        # a tick after the harvest block was removed from the spec skips
        plain = tmp_path / "plain"
        shutil.copytree(REPO / "reference", plain)
        monkeypatch.setenv("HEMISTAT_REFERENCE_DIR", str(plain))
        skipped = sched.evaluate_tick(dg.build_schedule_context(instance=instance, scheduled_execution_time=T0))
        assert not skipped.run_requests and "no harvest.url" in skipped.skip_message


def test_failed_harvest_fails_the_run(env):
    from pipelines.defs.resources import HemistatSettings
    from pipelines.defs.schedules import harvest_job, harvest_run_config
    from pipelines.monitor.harvest import read_state

    s, www, _, _ = env
    (www / "snic-pais.csv").unlink()
    with dg.instance_for_test() as instance:
        res = harvest_job.execute_in_process(run_config=harvest_run_config("ar_snic"), instance=instance,
                                             resources={"hemistat": HemistatSettings()}, raise_on_error=False)
    assert not res.success
    assert read_state(s, "ar_snic")["last_error"]["http_status"] == 404


def test_real_definitions_have_punctuality_and_no_real_harvest():
    import yaml

    from pipelines.definitions import defs

    for p in sorted((REPO / "reference" / "sources").glob("*.yaml")):
        assert "harvest" not in yaml.safe_load(p.read_text("utf-8")), f"{p.name}: real publishers are unreachable here"
    assert not [x.name for x in defs.schedules if x.name.startswith("harvest_")]
    assert defs.resolve_job_def("harvest_source") is not None
    assert defs.resolve_job_def("check_source_freshness") is not None
    assert "punctuality_sensor" in {x.name for x in defs.sensors}
    # every asset check of the code location stays a quality rule on its layer
    assert not list(defs.resolve_assets_def("source_freshness").check_specs)


def test_punctuality_sensor_and_freshness_asset_flag_late_sources(env):
    from pipelines import pipeline
    from pipelines.defs.resources import HemistatSettings
    from pipelines.defs.schedules import punctuality_sensor, source_freshness
    from pipelines.monitor.harvest import harvest
    from pipelines.monitor.punctuality import lateness

    s, _, _, _ = env
    sid = harvest(s, "ar_snic", now=T0)["submission_id"]
    pipeline.ingest(s, sid)
    pipeline.validate(s, sid)
    expected = lateness(s, "ar_snic")
    assert expected["late"] is True  # snic-pais.csv ends in 2022: 2023 was due by 2024-07-29
    with dg.instance_for_test() as instance:
        res = punctuality_sensor(dg.build_sensor_context(instance=instance))
        [req] = res.run_requests
        assert req.run_key.startswith("freshness-") and req.tags["hemistat/rule"] == "T2"
        obs = {e.metadata["source_id"].value: e for e in res.asset_events}
        assert set(obs) == {"ar_snic"}  # nothing else was delivered: cannot be judged, not flagged
        assert obs["ar_snic"].asset_key == dg.AssetKey("source_freshness")
        assert obs["ar_snic"].metadata["days_late"].value == expected["days_late"]
        assert obs["ar_snic"].metadata["rule"].value == "T2"
        # same situation at the next tick: no new run, the tick says who is late
        again = punctuality_sensor(dg.build_sensor_context(instance=instance, cursor=res.cursor))
        assert not again.run_requests and not again.asset_events
        assert "ar_snic" in again.skip_reason.skip_message and "late" in again.skip_reason.skip_message

        mat = dg.materialize([source_freshness], instance=instance, resources={"hemistat": HemistatSettings()})
        assert mat.success
        [m] = mat.asset_materializations_for_node("source_freshness")
        assert m.metadata["late"].value == "ar_snic" and m.metadata["late_sources"].value == 1
        assert "ar_snic" in m.metadata["table"].value
    saved = json.loads((s.data_dir / "harvest" / "freshness.json").read_text("utf-8"))
    row = next(r for r in saved["sources"] if r["source_id"] == "ar_snic")
    assert row["harvest_last_check"] == T0.isoformat(timespec="seconds") and row["due"] == "2024-07-29"
    assert row["late"] is True
