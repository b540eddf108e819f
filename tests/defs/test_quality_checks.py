"""Each rule is a Dagster asset check; error rules block; warnings wait for an acknowledgement."""

import json

import dagster as dg

from pipelines import pipeline
from pipelines.definitions import defs
from pipelines.quality import load_rules
from pipelines.settings import REPO_ROOT
from pipelines.storage.release import connect as release_connect
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


def test_quality_summary_informs(data_env, tmp_path):
    """Issue 13 item 8: only country-years with data (a file whose cells for 1999 are all empty gives 1999 no
    score); per source as well as per country; dimensions that can vary — comparability (exact ICCS equivalents)
    and completeness (cells with a value) are measured on the cells, blocking rules (always passed by published
    data) are left out — each with what it measures beside it."""
    import duckdb

    from pipelines.defs import runner

    def with_empty_year(lines):
        # a copy of the 2000 rows as 1999 with every count empty: a year the file lists without data
        extra = []
        for ln in lines[1:]:
            if ln.startswith(b"2000;"):
                f = ln.split(b";")
                f[0] = b"1999"
                f[3:] = [b""] * (len(f) - 3)
                extra.append(b";".join(f))
        return lines[:1] + extra + lines[1:]

    man, _ = pipeline.submit(data_env, _small_pais(tmp_path, mutate=with_empty_year), "ar_snic")
    sid = man.submission_id
    with dg.instance_for_test() as inst:
        runner.ingest(data_env, [sid], inst, progress=lambda m: None)
        warns = pipeline.failing_warnings(data_env, sid)
        if warns:
            pipeline.acknowledge(data_env, sid, warns, by="t", reason="test of the quality summary")
        assert runner.publish(inst)
    con = release_connect(data_env.duckdb_path)   # the views name files relative to the data folder
    try:
        years = {r[0] for r in con.execute("select distinct year from published.quality_summary "
                                           "where country_iso3 = 'ARG'").fetchall()}
        assert years == {2000, 2001}, years                    # 1999 has no value: no score
        summ = con.execute("select dimension, score, measures, basis from published.quality_summary "
                           "where country_iso3 = 'ARG' and year = 2000").df()
        dims = set(summ["dimension"])
        assert {"comparability", "completeness", "accuracy"} <= dims and "accessibility" not in dims
        assert summ["measures"].str.len().min() > 40          # what each dimension measures, beside it
        comp = dict(zip(summ["dimension"], summ["score"]))
        assert 0 < comp["comparability"] < 100                 # SNIC has narrower/broader/partial categories
        assert 0 < comp["completeness"] <= 100
        by_src = con.execute("select distinct source_id, country_iso3, year from "
                             "published.quality_summary_by_source").fetchall()
        assert set(by_src) == {("ar_snic", "ARG", 2000), ("ar_snic", "ARG", 2001)}
        assert con.execute("select count(*) from published.quality_dimensions").fetchone()[0] == 6
    finally:
        con.close()
