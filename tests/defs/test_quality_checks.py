"""Each rule is a Dagster asset check; error rules block; warnings wait for an acknowledgement."""

import json

import dagster as dg

from pipelines import pipeline
from pipelines.definitions import defs
from pipelines.quality import load_rules
from pipelines.settings import REPO_ROOT
from tests.conftest import real
from pipelines.storage.release import connect as release_connect


def test_every_rule_is_an_asset_check_and_errors_block():
    rules = {r.id: r for r in load_rules(REPO_ROOT / "quality_rules", reference_dir=REPO_ROOT / "reference")}
    checks = {}
    for key in defs.resolve_asset_graph().asset_check_keys:
        checks[key.name] = key.asset_key.to_user_string()
    assert set(checks) == set(rules)
    for rid, asset in checks.items():
        expected = "harmonised_indicators" if rules[rid].layer == "harmonised" else "validated_table"
        assert asset == expected
    specs = {s.name: s for s in defs.resolve_assets_def("validated_table").check_specs}
    assert specs["C1"].blocking and specs["V1"].blocking and not specs["P2"].blocking


def _small_pais(tmp_path, n=63, mutate=None):
    lines = real("ar_snic/snic-pais.csv").read_bytes().split(b"\r\n")[:n]
    if mutate:
        lines = mutate(lines)
    p = tmp_path / "snic-pais.csv"
    p.write_bytes(b"\r\n".join(lines) + b"\r\n")
    return p


def test_rejected_submission_is_quarantined_with_failed_blocking_checks(data_env, tmp_path):
    from pipelines.defs import runner

    def bad(lines):
        f = lines[9].split(b";")
        f[1] = b"99"  # unmapped code -> C1
        lines[9] = b";".join(f)
        return lines

    man, _ = pipeline.submit(data_env, _small_pais(tmp_path, mutate=bad), "ar_snic")
    with dg.instance_for_test() as inst:
        res = runner.ingest(data_env, [man.submission_id], inst, progress=lambda m: None)
        assert res[man.submission_id] == "rejected"
        evals = inst.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("validated_table"), "C1")])
        ev = list(evals.values())[0]
        assert ev.status.value in ("FAILED", "SUCCEEDED") and ev.evaluation is not None
        assert ev.evaluation.passed is False
    assert (data_env.quarantine_dir / f"{man.submission_id}.parquet").exists()
    assert not (data_env.validated_dir / f"{man.submission_id}.parquet").exists()
    report = json.loads((data_env.landing_dir / man.submission_id / "report.json").read_text())
    assert report["verdict"] == "rejected"
    assert any(p["rule"] == "C1" and p["line"] == 10 for p in report["problems"])


def test_warnings_wait_for_acknowledgement_then_publish(data_env, tmp_path):
    from pipelines.defs import runner

    def spike(lines):  # threats 2001 x5: a year-on-year warning (P2), nothing blocking
        for i, ln in enumerate(lines):
            if ln.startswith(b"2001;13;"):
                f = ln.split(b";")
                f[3] = str(int(f[3]) * 5).encode()
                lines[i] = b";".join(f)
        return lines

    man, _ = pipeline.submit(data_env, _small_pais(tmp_path, mutate=spike), "ar_snic")
    sid = man.submission_id
    with dg.instance_for_test() as inst:
        assert runner.ingest(data_env, [sid], inst, progress=lambda m: None)[sid] == "awaiting_review"
        assert pipeline.accepted_submissions(data_env).empty  # not publishable yet
        warns = pipeline.failing_warnings(data_env, sid)
        assert "P2" in warns
        st = pipeline.acknowledge(data_env, sid, warns, by="maria.statistician",
                               reason="threats 2001: reclassification confirmed by the SNIC focal point")
        assert st["status"] == "validated"
        ack = st["acknowledgements"][0]
        assert ack["by"] == "maria.statistician" and ack["at"] and "reclassification" in ack["reason"]
        assert runner.publish(inst)
    import duckdb

    con = release_connect(data_env.duckdb_path)
    sc = dict(con.execute("select rule_id, status from published.quality_scorecard where submission_id = ?",
                          [sid]).fetchall())
    assert sc["P2"] == "fail" and sc["C1"] == "pass" and sc["R1"] == "not_applicable"
    summ = con.execute("select dimension, score from published.quality_summary where country_iso3 = 'ARG' "
                       "and year = 2001 order by 1").fetchall()
    assert summ and all(0 <= s <= 100 for _, s in summ)
    acc = dict(summ)["accuracy"]
    assert acc < 100  # P2 failed in 2001
    assert dict(con.execute("select dimension, score from published.quality_summary where country_iso3 = 'ARG' "
                            "and year = 2000").fetchall())["accuracy"] > acc
    con.close()


def test_acknowledging_needs_a_reason_and_a_real_warning(data_env, tmp_path):
    import pytest

    from pipelines.defs import runner

    man, _ = pipeline.submit(data_env, _small_pais(tmp_path), "ar_snic")
    with dg.instance_for_test() as inst:
        runner.ingest(data_env, [man.submission_id], inst, progress=lambda m: None)
    with pytest.raises(ValueError):
        pipeline.acknowledge(data_env, man.submission_id, ["C1"], by="x", reason="because")  # C1 is not a failing warn
    with pytest.raises(ValueError):
        pipeline.acknowledge(data_env, man.submission_id, [], by="x", reason=" ")
