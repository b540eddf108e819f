"""`hemistat doctor` reports every load error (every spec, every crosswalk, the rules, the settings) with the
same text as the load error, and exits 1."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from pipelines.cli import app
from tests.conftest import environ
from tests.specs.conftest import REPO, edit_spec


def _doctor(ref, rules, data):
    with environ({"HEMISTAT_REFERENCE_DIR": str(ref), "HEMISTAT_RULES_DIR": str(rules),
                  "HEMISTAT_DATA_DIR": str(data)}):
        return CliRunner().invoke(app, ["doctor"])


def test_doctor_reports_a_broken_spec_and_a_broken_rule(tmp_path):
    ref = tmp_path / "reference"
    shutil.copytree(REPO / "reference", ref)
    rules = tmp_path / "quality_rules"
    shutil.copytree(REPO / "quality_rules", rules)
    p = edit_spec(ref, "ar_snic", lambda raw: raw["layouts"][0]["columns"]["year"] and
                  raw["layouts"][0].update(readr={}))
    q = edit_spec(ref, "cl_cead", lambda raw: raw.update(cadence="weekly"))
    acc = rules / "accuracy.yaml"
    acc.write_text(acc.read_text(encoding="utf-8").replace("params: {tolerance_rel: 0.005}",
                                                           "params: {tolerance_rel: 0.005, tolerance_abs: 1}"),
                   encoding="utf-8")
    res = _doctor(ref, rules, tmp_path / "data")
    assert res.exit_code == 1, res.output
    out = res.output
    assert "[FAIL] source specs" in out
    assert f"{p}: invalid source spec: layouts[0].readr: unknown field (did you mean 'reader'?)" in out
    assert f"{q}: invalid source spec: cadence: Input should be" in out
    # the crosswalks of the broken specs are still checked
    assert "[ok] crosswalk ar_snic" in out and "[ok] crosswalk cl_cead" in out
    assert "[FAIL] quality rules" in out and str(acc) in out and "tolerance_abs" in out


def test_doctor_reports_bad_settings(tmp_path):
    with environ({"HEMISTAT_SAMPLE": "foo", "HEMISTAT_DATA_DIR": str(tmp_path)}):
        res = CliRunner().invoke(app, ["doctor"])
    assert res.exit_code == 1
    assert "HEMISTAT_SAMPLE: Input should be 'auto', 'real' or 'synthetic' (found 'foo')" in res.output


def test_doctor_passes_on_the_repository_specs(tmp_path):
    res = _doctor(REPO / "reference", REPO / "quality_rules", tmp_path / "data")
    assert "[ok] source specs" in res.output and "[ok] quality rules" in res.output
