"""A Great Expectations 1.x suite generated from the same rule YAML as the engine.

GX renders the validation people read; it must never disagree with the engine. Only rules whose
check has a faithful GX expectation are translated (``GX_CHECKS``); a test runs both on the same data
and compares verdicts. Key columns that may be empty (subdivision, month) are filled with a sentinel
before GX sees them, because the engine treats two empty keys as equal and GX would skip such rows.
"""

from __future__ import annotations

import logging

import pandas as pd

from pipelines.quality.rules import Rule

GX_CHECKS = {"in_codelist", "value_range", "obs_status_valid", "unique_key"}
_SENTINEL = "∅"


def _prepare(df: pd.DataFrame, rules: list[Rule]) -> pd.DataFrame:
    out = df.copy()
    for r in rules:
        if r.check == "unique_key":
            for c in r.params.get("columns", []):
                if c in out.columns:
                    out[c] = out[c].astype("str").fillna(_SENTINEL)
        if r.check == "value_range":
            units = list(r.params.get("integer_units", ["count"]))
            frac = (out["value"] - out["value"].round()).abs()
            out["__fraction_of_integer_units"] = frac.where(out["unit"].isin(units), 0.0)
    return out


def expectations_for(rule: Rule, countries: set[str]) -> list:
    import great_expectations as gx

    E = gx.expectations
    meta = {"rule_id": rule.id}
    if rule.check == "in_codelist":
        out = []
        for col, allowed in rule.params.get("columns", {}).items():
            vals = sorted(countries) if allowed == "reference:oas_members" else list(allowed)
            out.append(E.ExpectColumnValuesToBeInSet(column=col, value_set=vals, meta=meta))
            out.append(E.ExpectColumnValuesToNotBeNull(column=col, meta=meta))
        return out
    if rule.check == "value_range":
        return [E.ExpectColumnValuesToBeBetween(column="value", min_value=float(rule.params.get("min", 0)), meta=meta),
                E.ExpectColumnValuesToBeBetween(column="__fraction_of_integer_units", min_value=0, max_value=0,
                                                meta=meta)]
    if rule.check == "obs_status_valid":
        need = list(rule.params.get("note_required_for", []))
        return [E.ExpectColumnValuesToBeInSet(column="obs_status", value_set=list(rule.params["codes"]), meta=meta),
                E.ExpectColumnValuesToNotBeNull(column="obs_note", row_condition=f"obs_status.isin({need!r})",
                                                condition_parser="pandas", meta=meta)]
    if rule.check == "unique_key":
        return [E.ExpectCompoundColumnsToBeUnique(column_list=list(rule.params["columns"]), meta=meta)]
    return []


def run_suite(df: pd.DataFrame, rules: list[Rule], countries: set[str], name: str = "hemistat") -> dict:
    """Validate ``df`` with the generated suite; returns a JSON-able summary + per-rule verdicts."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    rules = [r for r in rules if r.enabled and r.check in GX_CHECKS]
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    bd = ctx.data_sources.add_pandas("pandas").add_dataframe_asset(name="table") \
        .add_batch_definition_whole_dataframe("all")
    suite = ctx.suites.add(gx.ExpectationSuite(name=f"{name}_suite"))
    for r in rules:
        for exp in expectations_for(r, countries):
            suite.add_expectation(exp)
    res = bd.get_batch(batch_parameters={"dataframe": _prepare(df, rules)}).validate(suite)
    results, per_rule = [], {}
    for x in res.results:
        cfg = x.expectation_config
        rid = (cfg.meta or {}).get("rule_id")
        n_bad = int((x.result or {}).get("unexpected_count") or 0)
        ok = bool(x.success)
        per_rule[rid] = per_rule.get(rid, True) and ok
        results.append({"rule_id": rid, "expectation": cfg.type, "column": cfg.kwargs.get("column")
                        or cfg.kwargs.get("column_list"), "success": ok, "unexpected_count": n_bad,
                        "partial_unexpected": [str(v) for v in (x.result or {}).get("partial_unexpected_list", [])[:5]]})
    stats = res.statistics or {}
    return {"suite": suite.name, "success": bool(res.success), "evaluated": stats.get("evaluated_expectations", 0),
            "unsuccessful": stats.get("unsuccessful_expectations", 0), "results": results,
            "verdicts": {k: ("pass" if v else "fail") for k, v in per_rule.items()}}
