"""One submission through every raw- and validated-layer rule, GX beside the engine, and its report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.adapters import Problem
from pipelines.contracts.tables import ContractError
from pipelines.quality import gx_suite
from pipelines.quality.context import build_context
from pipelines.quality.engine import evaluate, verdict
from pipelines.quality.report import build_report
from pipelines.quality.rules import load_rules
from pipelines.quality.submission_checks import submission_problems
from pipelines.settings import Settings
from pipelines.storage.catalog import one_listing


def table_stats(table: pd.DataFrame | str | Path | None) -> dict:
    """Rows and missing values of the table (a Parquet file is counted by DuckDB, never loaded)."""
    if table is None:
        return {"rows": 0, "missing_values": 0}
    if isinstance(table, pd.DataFrame):
        return {"rows": len(table), "missing_values": int(table["value"].isna().sum())}
    from pipelines.storage import duck

    con = duck.cursor()
    try:
        n, miss = con.execute("select count(*), count(*) - count(value) from read_parquet(?)", [str(table)]).fetchall()[0]
    finally:
        con.close()
    return {"rows": int(n), "missing_values": int(miss)}


def import_summary(settings: Settings, spec, table: pd.DataFrame | str | Path | None, *, sid: str | None,
                   received_at=None, release_date: str | None = None) -> dict | None:
    """What the file does to the warehouse (values new, changed, unchanged, withdrawn) against the submissions of
    its source currently published (``harmonise.impact``); None when there is no table or it cannot be computed
    (the verdict never depends on it)."""
    import logging
    from datetime import datetime, timezone

    from pipelines.harmonise.impact import submission_impact
    from pipelines.storage.catalog import accepted_submissions

    if table is None:
        return None
    try:
        published = accepted_submissions(settings, statuses=("published",), source_id=spec.source_id)
        received = (received_at or datetime.now(timezone.utc)).isoformat()
        return submission_impact(table, submission_id=sid or "dry-run", spec=spec, received_at=received,
                                 release_date=release_date, published=published)
    except Exception as exc:  # noqa: BLE001 — a summary that cannot be computed never blocks a verdict
        logging.getLogger(__name__).warning("import summary of %s not computed: %s", sid, exc)
        return None


def contract_problems(df: pd.DataFrame | None, exc: ContractError, file_name: str) -> list[Problem]:
    """Turn pandera failure cases into problems that name file, line, column and rule. The failing row's line
    and column come from the failure cases (``validate_parquet``'s ``row_line``/``row_column_name``) or,
    for a contract checked on a DataFrame, from ``df``."""
    out = []
    fc = exc.failures
    for _, f in fc.head(200).iterrows():
        idx = f.get("index")
        line = None
        col = f.get("column")
        if "row_line" in fc.columns:
            if pd.notna(f.get("row_line")):
                line = int(f["row_line"])
                col = f.get("row_column_name") if col == "value" else col
        elif df is not None and idx is not None and pd.notna(idx) and int(idx) in df.index:
            line = int(df.at[int(idx), "line"])
            col = df.at[int(idx), "column_name"] if col == "value" else col
        out.append(Problem(file_name, line, None if pd.isna(col) else str(col), "S1",
                           value=None if pd.isna(f.get("failure_case")) else str(f.get("failure_case")),
                           key="breaks_contract", params={"layer": exc.layer, "check": str(f.get("check"))}))
    return out


def run_quality(settings: Settings, spec, table: pd.DataFrame | str | Path | None, *, file_name: str, sid: str | None,
                received_at=None, layout: str | None = None, problems: list[Problem] | None = None,
                acknowledged: set[str] | None = None, with_gx: bool = True, sha256: str | None = None,
                release_date: str | None = None, docs_root: Path | None = None):
    """All raw- and validated-layer rules (+ the GX suite) on one submission's table: a DataFrame, or the path
    of its Parquet file (read in place by DuckDB, in bounded memory).

    ``docs_root``: the folder whose ``reports/gx_docs/`` receives a dry run's Data Docs (default: the data
    folder); a dry run passes a temporary folder so that it writes nothing in the data folder.

    Returns (results, verdict, report)."""
    rules = load_rules(settings.rules_dir, spec.source_id, reference_dir=settings.reference_dir)
    # a period after receipt, a count written with a thousands separator the spec does not declare: blocking
    problems = [*(problems or []), *submission_problems(table, spec, received_at=received_at, layout=layout,
                                                        file_name=file_name)]
    # the quality context and the import summary read the source's listing: once (no status changes meanwhile)
    with one_listing():
        ctx = build_context(settings, spec, table, submission_id=sid, received_at=received_at, layout=layout)
        impact = import_summary(settings, spec, table, sid=sid, received_at=received_at, release_date=release_date)
    results = evaluate(table, rules, ctx, layer="raw", problems=problems or [])
    if table is not None:
        results += evaluate(table, rules, ctx, layer="validated")
    gx = None
    if with_gx and table is not None:  # GX beside the engine: scorecard columns gx_*, Data Docs (gx_suite)
        gx = gx_suite.run_for_submission(results, table, rules, ctx.countries or set(), name=spec.source_id,
                                         docs=gx_suite.docs_dir(docs_root or settings.data_dir, sid, file_name,
                                                                spec.source_id))
    v = verdict(results, acknowledged)
    stats = table_stats(table)
    report = build_report(results, verdict=v, submission_id=sid, source_id=spec.source_id, file_name=file_name,
                          sha256=sha256, stats=stats, gx=gx, impact=impact)
    return results, v, report
