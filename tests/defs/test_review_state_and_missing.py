"""Issue 13 item 7: Dagster as a statistician expects it — the review state is visible on the asset (a green
ingest run no longer hides a submission held for review), and what each source should have delivered by now
from its declared cadence and has not is listed ("ARG 2024 not received")."""

from datetime import datetime, timezone

import dagster as dg

from pipelines import pipeline
from pipelines.monitor.punctuality import expected_missing
from tests.defs.test_quality_checks import _small_pais


def _spike(lines):  # threats 2001 x5: a year-on-year warning (P2), nothing blocking
    for i, ln in enumerate(lines):
        if ln.startswith(b"2001;13;"):
            f = ln.split(b";")
            f[3] = str(int(f[3]) * 5).encode()
            lines[i] = b";".join(f)
    return lines


def test_review_state_on_the_asset(data_env, tmp_path):
    from pipelines.defs import runner

    man, _ = pipeline.submit(data_env, _small_pais(tmp_path, mutate=_spike), "ar_snic")
    sid = man.submission_id
    key = dg.AssetKey("validated_table")
    with dg.instance_for_test() as inst:
        assert runner.ingest(data_env, [sid], inst, progress=lambda m: None)[sid] == "awaiting_review"
        ev = inst.get_latest_materialization_event(key)
        md = {k: v.value for k, v in ev.asset_materialization.metadata.items()}
        assert md["review_state"] == "awaiting_review" and md["held"] is True
        assert md["waiting_for"] == "statistician" and md["review"].startswith("HELD")
        pipeline.acknowledge(data_env, sid, pipeline.failing_warnings(data_env, sid), by="maria",
                             reason="threats 2001 confirmed")
        assert runner.publish(inst)
        obs = inst.fetch_observations(key, limit=5).records
        states = [(r.partition_key, r.asset_observation.metadata["review_state"].value) for r in obs]
        assert (sid, "published") in states


def test_expected_and_missing_per_source_and_period(data_env, tmp_path):
    """The SNIC national file of 2000-2001 only: every later year already due is expected and not received."""
    man, _ = pipeline.submit(data_env, _small_pais(tmp_path), "ar_snic")
    pipeline.ingest(data_env, man.submission_id)
    pipeline.validate(data_env, man.submission_id)
    rows = expected_missing(data_env, "ar_snic", now=datetime(2026, 11, 30, tzinfo=timezone.utc))
    periods = [r["period"] for r in rows]
    assert "2024" in periods and "2023" in periods and "2000" not in periods and "2001" not in periods
    assert "2026" not in periods                              # not due yet
    r2024 = next(r for r in rows if r["period"] == "2024")
    assert r2024["message"].startswith("ARG 2024 not received") and r2024["days_overdue"] > 0
    assert {r["country_iso3"] for r in rows} == {"ARG"}
    # a source without a cadence to expect from (irregular) expects nothing
    assert expected_missing(data_env, "owid_homicide") == []


def test_expected_delivery_schedule_per_source(data_env, tmp_path):
    """Every source with a monthly, quarterly or annual cadence has an expect_<source> schedule (from its
    declared cadence); its tick asks for a source_freshness refresh naming what is expected and missing, tagged
    with the source, its country and who started it."""
    from pipelines.definitions import defs
    from pipelines.defs import tags as run_tags

    names = {s.name: s for s in defs.schedules}
    assert {"expect_ar_snic", "expect_mx_sesnsp", "expect_br_sinesp"} <= set(names)
    assert "expect_owid_homicide" not in names and "expect_cr_oij" not in names   # irregular: nothing expected
    assert names["expect_mx_sesnsp"].cron_schedule == "0 6 * * *"                  # monthly: checked daily
    sched = names["expect_ar_snic"]
    ctx = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 1, 6, tzinfo=timezone.utc))
    assert isinstance(sched.evaluate_tick(ctx).skip_message, str)    # nothing received yet: nothing to expect
    man, _ = pipeline.submit(data_env, _small_pais(tmp_path), "ar_snic")
    pipeline.ingest(data_env, man.submission_id)
    pipeline.validate(data_env, man.submission_id)
    [req] = sched.evaluate_tick(ctx).run_requests
    assert "ARG 2024 not received" in req.tags["hemistat/expected_missing"]
    assert req.tags[run_tags.SOURCE] == "ar_snic" and req.tags[run_tags.COUNTRY] == "ARG"
    assert req.tags[run_tags.SUBMITTED_BY] == "schedule expect_ar_snic" and req.tags[run_tags.CHANNEL] == "schedule"
