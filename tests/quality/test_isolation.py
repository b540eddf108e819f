"""Rules are isolated: a check that raises is reported as ``error_in_rule`` with its exception, the other
rules keep their normal results, and the verdict, the scorecard and the report say so (four languages)."""

from dataclasses import replace

import pandas as pd
import pytest
from markupsafe import escape

from pipelines.quality import evaluate, load_rules, registry, verdict
from pipelines.quality.results import QualityContext, RuleResult, error_result
from pipelines.quality.report import UI, build_report, render_html, render_text
from pipelines.i18n import LANGUAGES as LANGS
from tests.quality.conftest import REF, RULES, context, indicators


def _all_layers(table, tmp_path, ind):
    rules = load_rules(RULES, "ar_snic", reference_dir=REF)
    ctx = context("ar_snic", table)
    out = evaluate(table, rules, ctx, layer="raw", problems=[]) + evaluate(table, rules, ctx, layer="validated")
    out += evaluate(ind, rules, QualityContext(reference_dir=REF), layer="harmonised")
    return out


def _key(r: RuleResult):
    return (r.status, int(r.failing_rows), r.observed, tuple(r.notes))


@pytest.fixture(scope="module")
def pais_ind(pais_clean, tmp_path_factory):
    return indicators(pais_clean, tmp_path_factory.mktemp("ind"))


def _boom(*a, **k):
    raise ZeroDivisionError("boom in value_range")


def test_a_raising_rule_is_error_in_rule_and_the_other_27_run(pais_clean, pais_ind, tmp_path, monkeypatch, caplog):
    before = {r.rule.id: r for r in _all_layers(pais_clean, tmp_path, pais_ind)}
    assert len(before) == 28 and not any(r.status == "error_in_rule" for r in before.values())
    monkeypatch.setitem(registry.CHECKS, "value_range", _boom)
    with caplog.at_level("ERROR", logger="pipelines.quality.results"):
        after = {r.rule.id: r for r in _all_layers(pais_clean, tmp_path, pais_ind)}
    assert set(after) == set(before)
    v1 = after["V1"]
    assert v1.status == "error_in_rule" and v1.failing_rows == 0
    assert v1.observed == "ZeroDivisionError: boom in value_range"
    assert "could not be evaluated" in v1.notes[0] and "ZeroDivisionError: boom in value_range" in v1.notes[0]
    assert "V1" in caplog.text and "boom in value_range" in caplog.text   # logged, with the traceback
    others = [rid for rid in before if rid != "V1"]
    assert len(others) == 27
    assert {rid: _key(after[rid]) for rid in others} == {rid: _key(before[rid]) for rid in others}
    row = v1.as_row()
    assert row["status"] == "error_in_rule" and row["observed"].startswith("ZeroDivisionError")
    assert row["engine"] == "duckdb"


def test_a_missing_implementation_is_error_in_rule_too(pais_clean, monkeypatch):
    monkeypatch.delitem(registry.CHECKS, "unique_key")
    rules = [r for r in load_rules(RULES, "ar_snic", reference_dir=REF) if r.id in ("C4", "V1")]
    res = {r.rule.id: r for r in evaluate(pais_clean, rules, context("ar_snic", pais_clean))}
    assert res["C4"].status == "error_in_rule" and "NotImplementedError" in res["C4"].observed
    assert res["V1"].status == "pass"


def _rule(rid, severity=None):
    r = next(r for r in load_rules(RULES, "ar_snic", reference_dir=REF) if r.id == rid)
    return replace(r, severity=severity) if severity else r


@pytest.mark.parametrize("severity,expected", [("error", "rejected"), ("warn", "rejected"), ("info", "accepted")])
def test_verdict_of_a_rule_that_could_not_be_evaluated(severity, expected):
    errored = error_result(_rule("V1", severity), RuntimeError("x"))
    ok = RuleResult(_rule("C1"), "pass")
    assert errored.blocking is (expected == "rejected")
    assert verdict([ok, errored]) == expected
    # acknowledging never lets an unevaluated rule through
    assert verdict([ok, errored], acknowledged={"V1"}) == expected


def test_verdict_unchanged_otherwise():
    assert verdict([RuleResult(_rule("C1"), "pass"), RuleResult(_rule("P2"), "fail", 3)]) == "review"
    assert verdict([RuleResult(_rule("P2"), "fail", 3)], acknowledged={"P2"}) == "accepted"
    assert verdict([RuleResult(_rule("C1"), "fail", 1)]) == "rejected"


def test_report_names_the_unevaluated_rule_in_four_languages():
    errored = error_result(_rule("V1"), ZeroDivisionError("boom <b>"))
    rep = build_report([RuleResult(_rule("C1"), "pass"), errored], verdict="rejected", submission_id="s1",
                       source_id="ar_snic", file_name="snic-pais.csv")
    prob = [p for p in rep["problems"] if p["rule"] == "V1"]
    assert len(prob) == 1 and set(prob[0]["message"]) == set(LANGS)
    for lang in LANGS:
        assert "ZeroDivisionError: boom <b>" in prob[0]["message"][lang]
        text = render_text(rep, lang)
        assert UI[lang]["error_in_rule"] in text and "V1" in text and "boom" in text
        page = render_html(rep, lang)
        assert str(escape(UI[lang]["error_in_rule"])) in page
        assert str(escape(UI[lang]["error_in_rule_explained"])) in page
        assert "boom &lt;b&gt;" in page and "boom <b>" not in page
    assert len({UI[lang]["error_in_rule"] for lang in LANGS}) == 4


def test_ui_texts_exist_in_every_language():
    keys = set(UI["en"])
    assert all(set(UI[lang]) == keys for lang in LANGS)


def test_scorecard_frame_types_and_old_files():
    from pipelines.quality.results import SCORECARD_COLUMNS, scorecard_frame

    old = pd.DataFrame([{"rule_id": "C1", "check": "crosswalk_covers", "status": "pass", "failing_rows": 0},
                        {"rule_id": "C3", "check": "in_codelist", "status": "fail", "failing_rows": 2}])
    df = scorecard_frame(old)
    assert set(SCORECARD_COLUMNS) <= set(df.columns)
    assert list(df["engine"]) == ["duckdb", "pandera"]
    assert str(df["gx_unexpected"].dtype) == "Int64" and df["gx_unexpected"].isna().all()
