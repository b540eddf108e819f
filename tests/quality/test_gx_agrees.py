"""GX renders the report people read; it must give the same verdicts as the engine on the same data."""

import pandas as pd
import pytest

from pipelines.harmonise import reference as ref
from pipelines.quality import evaluate, load_rules
from pipelines.quality.gx_suite import GX_CHECKS, run_suite
from tests.quality.conftest import REF, RULES, context


def _both(table, source="ar_snic"):
    rules = [r for r in load_rules(RULES, source, reference_dir=REF) if r.check in GX_CHECKS]
    engine = {r.rule.id: r.status for r in evaluate(table, rules, context(source, table))}
    gx = run_suite(table, rules, set(ref.countries(REF)["iso3"]))
    return engine, gx["verdicts"], gx


def test_same_verdicts_on_clean_real_file(pais_clean):
    engine, gx, res = _both(pais_clean)
    assert engine == gx == {rid: "pass" for rid in engine}
    assert res["evaluated"] >= 8


@pytest.mark.parametrize("defect,rule_id", [
    (lambda d: d.assign(sex=d["sex"].where(d.index != 3, "Mayor de edad")), "C3"),
    (lambda d: d.assign(country_iso3=d["country_iso3"].where(d.index != 7, "ESP")), "C3"),
    (lambda d: d.assign(value=d["value"].where(d.index != 5, 12.5)), "V1"),
    (lambda d: d.assign(value=d["value"].where(d.index != 5, -1.0)), "V1"),
    (lambda d: d.assign(obs_status=d["obs_status"].where(d.index != 2, "Z")), "F1"),
    (lambda d: d.assign(obs_status=d["obs_status"].where(d.index != 2, "E"), obs_note=None), "F1"),
    (lambda d: pd.concat([d, d.iloc[[10]]], ignore_index=True), "C4"),
])
def test_same_verdicts_on_each_defect(pais_clean, defect, rule_id):
    engine, gx, _ = _both(defect(pais_clean.copy()))
    assert engine[rule_id] == gx[rule_id] == "fail"
    assert engine == gx
