"""Issue 9, items 2, 9 and 10: rule parameters are typed, read, and checked against the reference folder
when the rules load; P1 reads hard_max; T2 and source freshness share one due date."""

from __future__ import annotations

import ast
import importlib
import inspect
import shutil
import textwrap
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipelines.quality import evaluate, load_rules
from pipelines.quality.registry import CHECKS, PROBLEM_CHECKS
from pipelines.quality.results import QualityContext
from tests.quality.conftest import REF, RULES, rule, run


# ---------------------------------------------------------------------------------------------------
# helpers: a private copy of quality_rules/ with one rule's params changed
# ---------------------------------------------------------------------------------------------------
def rules_copy(tmp_path: Path) -> Path:
    d = tmp_path / "quality_rules"
    shutil.copytree(RULES, d)
    return d


def set_params(rules_dir: Path, file: str, rule_id: str, **params) -> Path:
    p = rules_dir / file
    doc = yaml.safe_load(p.read_text("utf-8"))
    r = next(r for r in doc["rules"] if r["id"] == rule_id)
    r["params"] = {**r["params"], **params}
    p.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
    return p


def load_error(rules_dir: Path, source_id: str | None = None) -> str:
    with pytest.raises(ValueError) as exc:
        load_rules(rules_dir, source_id, reference_dir=REF)
    return str(exc.value)


# ---------------------------------------------------------------------------------------------------
# item 9: every parameter is typed, and unknown or ill-typed parameters are refused when the rules load
# ---------------------------------------------------------------------------------------------------
def test_unknown_parameter_is_refused_naming_file_rule_and_parameter(tmp_path):
    d = rules_copy(tmp_path)
    set_params(d, "plausibility.yaml", "P1", hard_maximum=150)
    msg = load_error(d)
    assert "plausibility.yaml" in msg and "rule P1" in msg and "parameter hard_maximum" in msg
    assert "not a parameter of check rate_range" in msg and "hard_max" in msg


def test_ill_typed_and_incoherent_parameters_are_refused(tmp_path):
    d = rules_copy(tmp_path)
    set_params(d, "plausibility.yaml", "P1", max="100")           # text, not a number
    msg = load_error(d)
    assert "rule P1" in msg and "parameter max" in msg and "'100'" in msg
    set_params(d, "plausibility.yaml", "P1", max=200, hard_max=150)  # the soft limit above the hard one
    msg = load_error(d)
    assert "rule P1" in msg and "max (200" in msg and "hard_max (150" in msg


def test_override_with_unknown_parameter_is_refused(tmp_path):
    d = rules_copy(tmp_path)
    p = d / "sources" / "ar_snic.yaml"
    doc = yaml.safe_load(p.read_text("utf-8"))
    next(o for o in doc["overrides"] if o["id"] == "X3")["params"] = {"tolerance": 0.02}
    p.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
    msg = load_error(d, "ar_snic")
    assert "sources/ar_snic.yaml" in msg and "rule X3" in msg and "parameter tolerance" in msg
    assert "tolerance_rel" in msg                                    # the close match
    # a broken override of one source is refused whichever source's rules are loaded
    assert "sources/ar_snic.yaml" in load_error(d, "mx_sesnsp")


def test_params_are_the_validated_model_with_defaults(tmp_path):
    d = rules_copy(tmp_path)
    p = d / "timeliness.yaml"
    doc = yaml.safe_load(p.read_text("utf-8"))
    next(r for r in doc["rules"] if r["id"] == "T2")["params"] = {}
    p.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
    t2 = next(r for r in load_rules(d, reference_dir=REF) if r.id == "T2")
    assert t2.params == {"grace_days": 30}


def _strings_read(fn) -> set[str]:
    """String constants in a function's source: the keys it reads from rule.params."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _function(dotted: str):
    mod, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(mod), name)


def test_every_parameter_of_every_model_is_read():
    """No declared-but-ignored parameter (P1's hard_max was): each field of a check's model is read by the
    check function, or by the functions the model names in READ_BY."""
    from pipelines.quality.params import MODELS

    unread = []
    for check, model in MODELS.items():
        fn = {**CHECKS, **PROBLEM_CHECKS}[check]
        for field in model.model_fields:
            readers = [fn] + [_function(f) for f in model.READ_BY.get(field, ())]
            if not any(field in _strings_read(r) for r in readers):
                unread.append(f"{check}.{field}")
    assert not unread, f"parameters nothing reads: {unread}"


# ---------------------------------------------------------------------------------------------------
# item 9: P1 reads hard_max
# ---------------------------------------------------------------------------------------------------
def _rates(*rows) -> pd.DataFrame:
    """Harmonised national homicide rows of full years: (country, subdivision, year, rate)."""
    df = pd.DataFrame([{"source_id": "xx_test", "country_iso3": c, "subdivision_code": s, "year": y,
                        "month": None, "iccs_code": "0101", "measure": "offences", "sex": "_T", "age": "_T",
                        "relationship": "_T", "value": r * 1000, "rate_per_100k": float(r),
                        "comparability": "national"} for c, s, y, r in rows])
    return df.assign(months_reported=pd.array([pd.NA] * len(df), dtype="Int64"))   # annual rows: NULL


def test_P1_rate_above_hard_max_is_reported_as_above_the_hard_limit():
    p1 = rule("P1")
    assert p1.params["max"] == 100 and p1.params["hard_max"] == 150
    ind = _rates(("HND", None, 2011, 85.0), ("SLV", None, 2015, 103.0), ("MEX", "06", 2019, 1630.0))
    res = evaluate(ind, [p1], QualityContext(reference_dir=REF), layer="harmonised")[0]
    assert res.status == "fail" and res.failing_rows == 2
    assert res.rule.severity == "warn"          # reported, never blocking: the harmonised layer blocks nothing
    f = res.failures.set_index("country_iso3")
    assert "above the hard limit 150" in f.loc["MEX", "observed"] and "hard limit" in f.loc["MEX", "expected"]
    assert "hard limit" not in f.loc["SLV", "observed"] and f.loc["SLV", "expected"] == "<= 100"
    assert list(res.failures["country_iso3"]) == ["MEX", "SLV"]   # the likely errors first
    assert "1 of 2" in res.observed and any("MEX/06 2019" in n for n in res.notes)
    row = res.as_row()                                             # what the scorecard records
    assert row["severity"] == "warn" and "hard_max=150" in row["threshold"] and "hard limit" in row["notes"]
    # hard_max decides: raised above the rate, the same row is an ordinary warning
    res2 = evaluate(ind, [replace(p1, params={**p1.params, "hard_max": 2000})], QualityContext(reference_dir=REF),
                    layer="harmonised")[0]
    assert res2.failing_rows == 2 and not res2.notes
    assert "hard limit" not in res2.failures.set_index("country_iso3").loc["MEX", "observed"]


# ---------------------------------------------------------------------------------------------------
# item 2: parameters naming sources, ICCS codes, countries and columns are checked when the rules load
# ---------------------------------------------------------------------------------------------------
def test_X1_compares_with_the_world_bank_source():
    x1 = next(r for r in load_rules(RULES, reference_dir=REF) if r.id == "X1")
    assert x1.params["comparison_sources"] == ["wb_wdi", "owid_homicide"]
    from pipelines.adapters import load_all_specs

    assert set(x1.params["comparison_sources"]) <= set(load_all_specs(REF))


@pytest.mark.parametrize("file,rule_id,params,param,unknown,close", [
    ("accuracy.yaml", "X1", {"comparison_sources": ["wb_wdi_homicide", "owid_homicide"]}, "comparison_sources[0]",
     "wb_wdi_homicide", "wb_wdi"),
    ("plausibility.yaml", "P1", {"iccs_code": "0199"}, "iccs_code", "0199", None),
    ("completeness.yaml", "K1", {"core_iccs": ["0101", "9999"]}, "core_iccs[1]", "9999", None),
    ("classification.yaml", "C4", {"columns": ["country_iso3", "yaer"]}, "columns[1]", "yaer", "year"),
    ("classification.yaml", "C3", {"columns": {"sexo": ["F", "M"]}}, "columns key 'sexo'", "sexo", "sex"),
    ("classification.yaml", "C3", {"columns": {"country_iso3": ["ARG", "ESP"]}}, "columns.country_iso3[1]", "ESP",
     None),
    ("consistency.yaml", "I1", {"dimension": "gender"}, "dimension", "gender", None),
    ("metadata.yaml", "M1", {"fields": ["title", "publisher_url"]}, "fields[1]", "publisher_url", "publisher"),
])
def test_parameter_naming_something_unknown_is_refused(tmp_path, file, rule_id, params, param, unknown, close):
    d = rules_copy(tmp_path)
    set_params(d, file, rule_id, **params)
    msg = load_error(d)
    assert file in msg and f"rule {rule_id}" in msg and f"parameter {param}" in msg and repr(unknown) in msg, msg
    if close:
        assert "did you mean" in msg and close in msg, msg


def test_override_file_must_name_an_existing_source(tmp_path):
    d = rules_copy(tmp_path)
    (d / "sources" / "ar_sinc.yaml").write_text("source_id: ar_sinc\noverrides: []\n", "utf-8")
    msg = load_error(d)
    assert "ar_sinc.yaml" in msg and "'ar_sinc'" in msg and "ar_snic" in msg


def _indicators_for_x1() -> pd.DataFrame:
    nat = _rates(("MEX", None, 2019, 23.9), ("MEX", None, 2020, 23.3))
    wb = nat.assign(source_id="wb_wdi", measure="victims", comparability="comparison",
                    rate_per_100k=[28.7, 28.4], value=None)
    return pd.concat([nat, wb], ignore_index=True)


def test_harmonised_quality_compares_with_wb_wdi(data_env, monkeypatch):
    """pipeline.harmonised_quality builds X1's comparison from the sources its parameters name: the World
    Bank rows are in it, and X1 compares MEX 2019 and 2020 against wb_wdi."""
    import pipelines.pipeline.harmonise as harmonise_step
    from pipelines import pipeline

    seen = {}
    real_evaluate = harmonise_step.evaluate

    def spy(table, rules, ctx, **kw):
        seen["comparison"] = ctx.comparison
        return real_evaluate(table, rules, ctx, **kw)

    monkeypatch.setattr(harmonise_step, "evaluate", spy)
    results = pipeline.harmonised_quality(data_env, _indicators_for_x1())
    cmp = seen["comparison"]
    assert set(zip(cmp["source_id"], cmp["country_iso3"], cmp["year"])) == {("wb_wdi", "MEX", 2019),
                                                                            ("wb_wdi", "MEX", 2020)}
    x1 = next(r for r in results if r.rule.id == "X1")
    assert x1.status != "not_applicable" and x1.notes[0].startswith("0 of 2 country-years")
    assert any(n.startswith("MEX 2019") and "wb_wdi 28.7" in n for n in x1.notes)


# ---------------------------------------------------------------------------------------------------
# item 10: one due date for T2 and for source freshness
# ---------------------------------------------------------------------------------------------------
def test_T2_due_date_includes_expected_lag(pais_clean):
    """snic-pais.csv brings 2022 (annual; ar_snic declares no expected_lag_days: 180 by default). Due:
    2023-01-01 + 180 + 30 grace = 2023-07-30. The old engine formula (period end + one cadence + grace,
    2024-01-26) ignored the lag and found a delivery on 2023-09-01 on time."""
    recv = datetime(2023, 9, 1, tzinfo=timezone.utc)
    res = run("T2", pais_clean, "ar_snic", received_at=recv)
    assert res.status == "fail"
    assert res.failures.iloc[0]["observed"] == "33" and res.failures.iloc[0]["expected"] == "2023-07-30"
    assert "180 days lag (default)" in res.observed
    # the spec's expected_lag_days is read: a 300-day lag makes the same delivery punctual
    from pipelines.adapters import load_spec

    spec = load_spec("ar_snic", REF).model_copy(update={"expected_lag_days": 300})
    assert run("T2", pais_clean, "ar_snic", received_at=recv, spec=spec).status == "pass"
    # and grace_days is read: 65 days of grace cover the 33 days
    t2 = rule("T2", "ar_snic", grace_days=65)
    assert run("T2", pais_clean, "ar_snic", rule_obj=t2, received_at=recv).status == "pass"


def test_T2_monthly_due_date():
    from pipelines.adapters import load_spec
    from pipelines.quality.timeliness import due_date

    d = due_date(2024, 11, cadence="monthly", spec=None, grace_days=30)
    assert d.period == "2024-11" and d.period_end == date(2024, 12, 1) and d.date == date(2025, 2, 14)
    spec = load_spec("ar_snic", REF).model_copy(update={"expected_lag_days": 10})
    assert due_date(2024, 11, cadence="monthly", spec=spec, grace_days=0).date == date(2024, 12, 11)
    assert due_date(2024, 8, cadence="quarterly", spec=None, grace_days=0).period == "2024-Q3"


def test_freshness_and_T2_use_the_same_due_date(data_env, monkeypatch, pais_clean):
    """The sensor says 2023 is overdue exactly when a file bringing 2023 would be late for T2."""
    from pipelines.monitor import punctuality

    monkeypatch.setattr(punctuality, "latest_period",
                        lambda settings, sid: {"year": 2022, "month": None, "submission_id": "s1"})
    now = datetime(2024, 8, 1, tzinfo=timezone.utc)
    fresh = punctuality.lateness(data_env, "ar_snic", now)
    assert fresh["next_period"] == "2023" and fresh["grace_days"] == 30
    bring_2023 = pais_clean.assign(year=pais_clean["year"] + 1)     # latest period 2023
    on_due = datetime.fromisoformat(fresh["due"]).replace(tzinfo=timezone.utc)
    assert run("T2", bring_2023, "ar_snic", received_at=on_due).status == "pass"
    late = run("T2", bring_2023, "ar_snic", received_at=now)
    assert late.status == "fail" and late.failures.iloc[0]["expected"] == fresh["due"]
    assert int(late.failures.iloc[0]["observed"]) == fresh["days_late"]
