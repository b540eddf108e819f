"""One submission through every raw- and validated-layer rule, GX beside the engine, and its report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.adapters import Problem
from pipelines.quality import gx_suite
from pipelines.quality.context import build_context
from pipelines.quality.engine import evaluate, verdict
from pipelines.quality.report import build_report
from pipelines.quality.rules import load_rules
from pipelines.quality.submission_checks import submission_problems
from pipelines.settings import Settings


def table_stats(table: pd.DataFrame | str | Path | None) -> dict:
    """Rows and missing values of the table (a Parquet file is counted by DuckDB, never loaded)."""
    if table is None:
        return {"rows": 0, "missing_values": 0}
    if isinstance(table, pd.DataFrame):
        return {"rows": len(table), "missing_values": int(table["value"].isna().sum())}
    import duckdb

    con = duckdb.connect()
    try:
        n, miss = con.execute("select count(*), count(*) - count(value) from read_parquet(?)", [str(table)]).fetchall()[0]
    finally:
        con.close()
    return {"rows": int(n), "missing_values": int(miss)}


def run_quality(settings: Settings, spec, table: pd.DataFrame | str | Path | None, *, file_name: str, sid: str | None,
                received_at=None, layout: str | None = None, problems: list[Problem] | None = None,
                acknowledged: set[str] | None = None, with_gx: bool = True, sha256: str | None = None):
    """All raw- and validated-layer rules (+ the GX suite) on one submission's table: a DataFrame, or the path
    of its Parquet file (read in place by DuckDB, in bounded memory).

    Returns (results, verdict, report)."""
    rules = load_rules(settings.rules_dir, spec.source_id, reference_dir=settings.reference_dir)
    # a period after receipt, a count written with a thousands separator the spec does not declare: blocking
    problems = [*(problems or []), *submission_problems(table, spec, received_at=received_at, layout=layout,
                                                        file_name=file_name)]
    ctx = build_context(settings, spec, table, submission_id=sid, received_at=received_at, layout=layout)
    results = evaluate(table, rules, ctx, layer="raw", problems=problems or [])
    if table is not None:
        results += evaluate(table, rules, ctx, layer="validated")
    gx = None
    if with_gx and table is not None:  # GX beside the engine: scorecard columns gx_*, Data Docs (gx_suite)
        gx = gx_suite.run_for_submission(results, table, rules, ctx.countries or set(), name=spec.source_id,
                                         docs=gx_suite.docs_dir(settings.data_dir, sid, file_name, spec.source_id))
    v = verdict(results, acknowledged)
    stats = table_stats(table)
    report = build_report(results, verdict=v, submission_id=sid, source_id=spec.source_id, file_name=file_name,
                          sha256=sha256, stats=stats, gx=gx)
    return results, v, report
