"""Each quality rule is a Dagster asset check on its layer; error rules are blocking.

The rule ids and severities shape the asset graph, so they are read from the repository's
``quality_rules/`` when definitions load; thresholds and overrides are applied at run time.
"""

import dagster as dg

from pipelines.quality.rules import load_rules
from pipelines.settings import REPO_ROOT

SEVERITY = {"error": dg.AssetCheckSeverity.ERROR, "warn": dg.AssetCheckSeverity.WARN,
            "info": dg.AssetCheckSeverity.WARN}


def rule_catalogue():
    return load_rules(REPO_ROOT / "quality_rules", reference_dir=REPO_ROOT / "reference")


def check_specs(asset_name: str, layers: tuple[str, ...]) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name=r.id, asset=asset_name, blocking=(r.severity == "error"),
                              description=f"[{r.severity}] {r.title['en']} — {r.rationale}")
            for r in rule_catalogue() if r.layer in layers]


def check_results(results, asset_name: str) -> list[dg.AssetCheckResult]:
    out = []
    for r in results:
        md = {"status": r.status, "failing_rows": r.failing_rows, "severity_in_rules": r.rule.severity,
              "threshold": r.rule.threshold_text() or "-", "dimension": r.rule.dimension}
        if r.notes:
            md["notes"] = dg.MetadataValue.text(" | ".join(r.notes)[:2000])
        if r.observed:
            md["observed"] = r.observed[:500]
        if len(r.failures):
            md["sample_failures"] = dg.MetadataValue.md(r.failures.head(10).to_markdown(index=False))
        out.append(dg.AssetCheckResult(asset_key=asset_name, check_name=r.rule.id, passed=r.status not in ("fail", "error_in_rule"),
                                       severity=SEVERITY[r.rule.severity], metadata=md))
    return out
