"""Great Expectations beside the engine: its verdict on each rule it evaluates is recorded on the result
(scorecard columns gx_status / gx_unexpected), a disagreement is reported, a GX failure never breaks the
engine's verdict, and GX's Data Docs are built per submission without any value from the file."""

import json

import pytest

from pipelines.harmonise import reference as ref
from pipelines.quality import evaluate, gx_suite, load_rules
from pipelines.quality.report import build_report, render_html
from tests.conftest import real
from tests.quality.conftest import REF, RULES, context
from pipelines.storage.release import connect as release_connect

HOSTILE = "<script>alert(1)</script>"


def _rules():
    return load_rules(RULES, "ar_snic", reference_dir=REF)


def _countries():
    return set(ref.countries(REF)["iso3"])


def test_gx_status_sits_beside_the_engine_on_every_gx_rule(pais_clean):
    rules = _rules()
    results = evaluate(pais_clean, rules, context("ar_snic", pais_clean), layer="validated")
    gx = gx_suite.run_for_submission(results, pais_clean, rules, _countries(), name="ar_snic", docs=None)
    by = {r.rule.id: r for r in results}
    gx_rules = {r.id for r in rules if r.check in gx_suite.GX_CHECKS}
    assert gx_rules == {"C3", "C4", "V1", "F1"}
    for rid in gx_rules:
        row = by[rid].as_row()
        assert row["gx_status"] == row["status"] == "pass" and row["gx_unexpected"] == 0
        assert by[rid].gx["agrees"] is True
    assert by["C3"].as_row()["engine"] == "duckdb" and by["C4"].as_row()["engine"] == "duckdb"
    assert all(r.as_row()["gx_status"] is None for r in results if r.rule.id not in gx_rules)
    assert gx["disagreements"] == [] and gx["data_docs"] is None
    assert gx["seconds"]["total"] > 0


def test_a_disagreement_is_reported(pais_clean):
    """The engine passed C3 on the clean table; GX sees a copy with a bad sex code: they disagree."""
    rules = _rules()
    results = evaluate(pais_clean, rules, context("ar_snic", pais_clean), layer="validated")
    bad = pais_clean.assign(sex=pais_clean["sex"].where(pais_clean.index != 3, "Mayor de edad"))
    gx = gx_suite.run_for_submission(results, bad, rules, _countries(), name="ar_snic", docs=None)
    c3 = next(r for r in results if r.rule.id == "C3")
    assert c3.status == "pass" and c3.gx["status"] == "fail" and c3.gx["agrees"] is False
    assert c3.as_row()["gx_unexpected"] == 1
    assert any("disagrees" in n and "C3" in n for n in c3.notes)
    assert len(gx["disagreements"]) == 1 and "C3" in gx["disagreements"][0]
    rep = build_report(results, verdict="accepted", submission_id="s", source_id="ar_snic", file_name="f.csv", gx=gx)
    page = render_html(rep)
    assert "disagrees" in page and "✘" in page


def test_a_gx_failure_never_breaks_the_engine(pais_clean, monkeypatch):
    rules = _rules()
    results = evaluate(pais_clean, rules, context("ar_snic", pais_clean), layer="validated")
    before = {r.rule.id: r.status for r in results}

    def broken(*a, **k):
        raise RuntimeError("gx exploded")

    monkeypatch.setattr(gx_suite, "run_suite", broken)
    gx = gx_suite.run_for_submission(results, pais_clean, rules, _countries(), name="ar_snic", docs=None)
    assert "gx exploded" in gx["error"]
    assert {r.rule.id: r.status for r in results} == before
    assert {r.rule.id for r in results if r.gx and r.gx["status"] == "error_in_rule"} == {"C3", "C4", "V1", "F1"}


def test_data_docs_per_submission_carry_no_value_from_the_file(pais_clean, tmp_path):
    rules = _rules()
    bad = pais_clean.assign(sex=pais_clean["sex"].where(pais_clean.index != 3, HOSTILE))
    results = evaluate(bad, rules, context("ar_snic", bad), layer="validated")
    docs = gx_suite.docs_dir(tmp_path, "ar_snic__20250101__00000000", "snic-pais.csv", "ar_snic")
    assert docs == tmp_path / "quality" / "gx_docs" / "ar_snic__20250101__00000000"
    gx = gx_suite.run_for_submission(results, bad, rules, _countries(), name="ar_snic", docs=docs)
    assert gx["data_docs"] == str(docs / "index.html") and (docs / "index.html").exists()
    pages = list(docs.rglob("*.html"))
    assert len(pages) >= 3   # index, the suite, the validation
    for p in pages:
        text = p.read_text("utf-8")
        assert "alert(1)" not in text                       # GX does not escape values: none is given to it
        assert "Content-Security-Policy" in text and "script-src 'none'" in text
    c3 = next(r for r in results if r.rule.id == "C3")
    assert c3.status == c3.gx["status"] == "fail"
    # the hemistat report links the docs and escapes the value
    rep = build_report(results, verdict="rejected", submission_id="s", source_id="ar_snic", file_name="f.csv", gx=gx)
    assert json.loads(json.dumps(rep, default=str))["gx"]["data_docs"] == str(docs / "index.html")
    page = render_html(rep)
    assert (docs / "index.html").resolve().as_uri() in page
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_dry_run_docs_go_beside_the_reports(tmp_path):
    d = gx_suite.docs_dir(tmp_path, None, "../../etc/snic país.csv", "ar_snic")
    assert d.parent == tmp_path / "reports" / "gx_docs" and "/" not in d.name and d.name.endswith(".ar_snic")


@pytest.mark.parametrize("value", [float("inf"), -1.0, 2.5])
def test_gx_and_engine_agree_on_value_edge_cases(pais_clean, value):
    rules = [r for r in _rules() if r.id == "V1"]
    bad = pais_clean.assign(value=pais_clean["value"].where(pais_clean.index != 5, value))
    results = evaluate(bad, rules, context("ar_snic", bad))
    gx_suite.run_for_submission(results, bad, rules, _countries(), name="ar_snic", docs=None)
    assert results[0].status == "fail" and results[0].gx["status"] == "fail" and results[0].gx["agrees"]


def _small_pais(tmp_path, n=63):
    lines = real("ar_snic/snic-pais.csv").read_bytes().split(b"\r\n")[:n]
    p = tmp_path / "snic-pais.csv"
    p.write_bytes(b"\r\n".join(lines) + b"\r\n")
    return p


def test_published_scorecard_has_gx_beside_the_engine(data_env, tmp_path, monkeypatch):
    """submit -> validate -> publish: the scorecard view keeps its columns and adds engine / gx_status /
    gx_unexpected; report.json links the submission's Data Docs; a rule that raised is error_in_rule in
    the scorecard and counted in quality_summary.rules_not_evaluated, not in the score."""

    from pipelines import pipeline
    from pipelines.quality import registry

    def boom(*a, **k):
        raise ValueError("T1 broke")

    monkeypatch.setitem(registry.CHECKS, "time_lag", boom)   # an info rule: reported, not blocking
    man, _ = pipeline.submit(data_env, _small_pais(tmp_path), "ar_snic")
    sid = man.submission_id
    pipeline.ingest(data_env, sid)
    pipeline.validate(data_env, sid)
    report = json.loads((data_env.landing_dir / sid / "report.json").read_text())
    docs = data_env.data_dir / "quality" / "gx_docs" / sid / "index.html"
    assert report["gx"]["data_docs"] == str(docs) and docs.exists()
    assert {r["rule_id"]: r["gx_status"] for r in report["rules"] if r["gx_status"]} == \
        {"C3": "pass", "C4": "pass", "V1": "pass", "F1": "pass"}
    pipeline.harmonise_all(data_env)
    pipeline.publish_all(data_env)
    con = release_connect(data_env.duckdb_path)
    cols = [r[0] for r in con.execute("describe published.quality_scorecard").fetchall()]
    assert cols == ["submission_id", "source_id", "country_iso3", "rule_id", "dimension", "severity", "status",
                    "failing_rows", "threshold", "observed", "notes", "override_reason", "engine", "gx_status",
                    "gx_unexpected"]
    sc = {r[0]: r[1:] for r in con.execute(
        "select rule_id, status, engine, gx_status, gx_unexpected, observed from published.quality_scorecard "
        "where submission_id = ?", [sid]).fetchall()}
    assert sc["C3"][:4] == ("pass", "duckdb", "pass", 0) and sc["C4"][:4] == ("pass", "duckdb", "pass", 0)
    assert sc["C1"][2] is None and sc["M1"][1] == "python"
    assert sc["T1"][0] == "error_in_rule" and sc["T1"][4] == "ValueError: T1 broke"
    assert con.execute("select count(*) from published.quality_scorecard where gx_status in ('pass', 'fail') "
                       "and gx_status <> status").fetchone()[0] == 0
    summ = con.execute("select rules_not_evaluated, rules_applied from published.quality_summary "
                       "where country_iso3 = 'ARG' and dimension = 'timeliness'").fetchall()
    assert summ and all(n == 1 for n, _ in summ)
    con.close()
