"""Assets by layer. Each is: read -> pure domain function (pipelines.pipeline) -> write -> metadata."""


import dagster as dg
import pandas as pd

from pipelines import pipeline
from pipelines.adapters import SubmissionError
from pipelines.defs.checks import check_results, check_specs
from pipelines.defs.resources import HemistatSettings
from pipelines.storage.locks import pipeline_lock

submissions_partitions = dg.DynamicPartitionsDefinition(name="submissions")


def _failure(exc: SubmissionError, sid: str) -> dg.Failure:
    return dg.Failure(
        description=f"submission {sid} rejected: {exc.problems[0]}",
        metadata={"problems": dg.MetadataValue.md(
            "| file | line | column | rule | message | value |\n|---|---|---|---|---|---|\n" + "\n".join(
                f"| {p.file} | {p.line or ''} | {p.column or ''} | {p.rule} | {p.message} | {p.value or ''} |"
                for p in exc.problems[:50])),
            "problem_count": len(exc.problems)},
    )


def _preview(path, n: int = 10) -> pd.DataFrame:
    """The first ``n`` rows of a Parquet file, reading one small batch (not the file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.contracts.tables import arrow_to_pandas

    pf = pq.ParquetFile(path)
    batch = next(pf.iter_batches(batch_size=n), None)
    table = pa.Table.from_batches([batch]) if batch is not None else pf.schema_arrow.empty_table()
    return arrow_to_pandas(table.slice(0, n))


@dg.asset(partitions_def=submissions_partitions, group_name="ingest", kinds={"parquet"},
          description="Adapter output: the standard long table, one row per published cell, with "
                      "file/line/column back into the file exactly as received (checksum verified).")
def raw_table(context: dg.AssetExecutionContext, hemistat: HemistatSettings) -> dg.MaterializeResult:
    sid = context.partition_key
    settings = hemistat.get()
    try:
        with pipeline_lock(settings):
            res = pipeline.ingest(settings, sid)
    except SubmissionError as exc:
        raise _failure(exc, sid) from exc
    df = _preview(res.path)
    return dg.MaterializeResult(metadata={
        "rows": res.rows, "path": str(res.path), "layout": res.stats.get("layout"),
        "streamed": bool(res.stats.get("streamed")),
        "file_rows": res.stats.get("file_rows"), "out_of_scope_rows": res.stats.get("out_of_scope_rows"),
        "seconds": round(res.seconds, 2), "preview": dg.MetadataValue.md(df.to_markdown(index=False)
                                                                          if hasattr(df, "to_markdown") else str(df))})


def review_state(settings, sid: str) -> dict:
    """The submission's review state as asset metadata: its status, who acts next and what they do
    (``pipeline.status``), so a green run never hides a submission held for a statistician or a reviewer."""
    from pipelines.pipeline.review import HOLD_DETAIL
    from pipelines.pipeline.status import REVIEWER, STATISTICIAN, WAITING_FOR
    from pipelines.storage import submissions as subs

    st = subs.read_status(settings.landing_dir, sid)
    status, events = st.get("status", "received"), st.get("events") or []
    detail = events[-1].get("detail", "") if events else ""
    action = WAITING_FOR.get(status, "pipeline")
    if status == "awaiting_review":
        action = REVIEWER if detail.endswith(HOLD_DETAIL) else STATISTICIAN
    held = status in ("awaiting_review", "rejected")
    return {"review_state": status, "waiting_for": action.split(":")[0], "next_action": action,
            "held": held, "status_detail": detail,
            "review": ("HELD — " if held else "") + f"{status}: {action}"}


@dg.asset(partitions_def=submissions_partitions, group_name="ingest", deps=[raw_table], kinds={"parquet"},
          check_specs=check_specs("validated_table", ("raw", "validated")),
          description="Raw table checked against its contract and every raw/validated-layer quality rule. "
                      "error rules block (the submission is quarantined with its report, never deleted); "
                      "warn rules wait for a statistician's acknowledgement.")
def validated_table(context: dg.AssetExecutionContext, hemistat: HemistatSettings) -> dg.MaterializeResult:
    sid = context.partition_key
    settings = hemistat.get()
    try:
        with pipeline_lock(settings):
            res = pipeline.validate(settings, sid)
    except SubmissionError as exc:
        results = getattr(exc, "results", None)
        if results is None:
            raise _failure(exc, sid) from exc
        context.log.error(f"submission {sid} rejected: {exc.problems[0] if exc.problems else ''}")
        return dg.MaterializeResult(metadata={"verdict": "rejected", "quarantined": True,
                                              "problems": len(exc.problems), **review_state(settings, sid)},
                                    check_results=check_results(results, "validated_table"))
    results = res.stats.pop("results")
    review = review_state(settings, sid)
    if review["held"]:
        context.log.warning(f"submission {sid} is held: {review['review']}")
    return dg.MaterializeResult(metadata={"rows": res.rows, "path": str(res.path), "verdict": res.stats["verdict"],
                                          "missing_values": res.stats.get("missing_values"),
                                          "seconds": round(res.seconds, 2), **review},
                                check_results=check_results(results, "validated_table"))


@dg.asset(group_name="publish", deps=[validated_table], kinds={"duckdb", "parquet"},
          check_specs=check_specs("harmonised_indicators", ("harmonised",)),
          description="ICCS indicators from every accepted submission (latest vintage per cell), with "
                      "population and rates per 100,000; then the cross-source quality rules.")
def harmonised_indicators(context: dg.AssetExecutionContext, hemistat: HemistatSettings) -> dg.MaterializeResult:
    settings = hemistat.get()
    with pipeline_lock(settings):
        stats = pipeline.harmonise_all(settings)
    results = stats.pop("results")
    return dg.MaterializeResult(metadata={k: v for k, v in stats.items() if isinstance(v, (int, float, str))},
                                check_results=check_results(results, "harmonised_indicators"))


@dg.asset(group_name="publish", deps=[harmonised_indicators], kinds={"duckdb"},
          description="One atomic release: Parquet folder + hemistat.duckdb with the published.* views.")
def published_warehouse(context: dg.AssetExecutionContext, hemistat: HemistatSettings) -> dg.MaterializeResult:
    settings = hemistat.get()
    with pipeline_lock(settings):
        out = pipeline.publish_all(settings)
    # the review state of each submission this release changed (published, superseded …), on its partition of
    # validated_table: the asset shows where a submission stands, not only the run that checked it
    for sid in sorted(out.get("statuses") or {}):
        if context.instance.has_dynamic_partition(submissions_partitions.name, sid):
            context.log_event(dg.AssetObservation(asset_key="validated_table", partition=sid,
                                                  metadata={**review_state(settings, sid),
                                                            "release_id": out["release_id"]}))
    md = {"release_id": out["release_id"], "duckdb": out["duckdb"], "seconds": out["seconds"],
          "unchanged": bool(out.get("unchanged"))}   # nothing changed: the current release stays, none written
    md.update({f"rows_{k}": v for k, v in out["rows"].items()})
    return dg.MaterializeResult(metadata=md)
