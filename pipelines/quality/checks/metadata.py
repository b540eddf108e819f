"""Checks of the rules in ``quality_rules/metadata.yaml``: the metadata a source must declare."""

from __future__ import annotations

import logging

import pandas as pd

from pipelines.quality.checks._common import _result
from pipelines.quality.registry import check
from pipelines.quality.results import RuleResult

log = logging.getLogger(__name__)


@check("metadata_present")
def check_metadata_present(rule, table, ctx, con):
    missing = [f for f in rule.params.get("fields", []) if not getattr(ctx.spec, f, None)]
    if missing:
        return _result(rule, pd.DataFrame([{"file_name": f"sources/{ctx.source_id}.yaml", "column_name": f,
                                            "observed": "missing", "expected": "a value"} for f in missing]))
    return RuleResult(rule, "pass")
