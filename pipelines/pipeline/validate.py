"""Step 3, raw -> validated: the layer contract and the quality rules decide accepted, review or rejected."""

from __future__ import annotations

import time

from pipelines.adapters import Problem, SubmissionError, load_spec
from pipelines.contracts.tables import ContractError, RawSchema, validate_parquet
from pipelines.pipeline.ingest import StepResult
from pipelines.pipeline.quality_files import _quality_tables, quality_dir
from pipelines.pipeline.review import HOLD_DETAIL, needs_approval, pipeline_may_set
from pipelines.quality.run import contract_problems, run_quality  # noqa: F401 - contract_problems re-exported
from pipelines.settings import Settings
from pipelines.storage import submissions as subs
from pipelines.storage.files import copy_file_atomic, write_parquet_atomic


def validate(settings: Settings, sid: str) -> StepResult:
    """raw -> validated: the layer contract plus every quality rule of the raw/validated layers.

    error rules block: the submission is quarantined (report kept, nothing deleted) and never reaches
    published. warn rules need a statistician's acknowledgement (status ``awaiting_review``).
    """
    t0 = time.perf_counter()
    man = subs.read_manifest(settings.landing_dir, sid)
    spec = load_spec(man.source_id, settings.reference_dir)
    raw = settings.raw_dir / f"{sid}.parquet"   # read in place (DuckDB, batches): never loaded whole
    problems: list[Problem] = []
    try:
        validate_parquet(raw, RawSchema)
    except ContractError as exc:
        problems.extend(contract_problems(None, exc, man.original_name))
    st = subs.read_status(settings.landing_dir, sid)
    acknowledged = {a["rule_id"] for a in st.get("acknowledgements", [])}
    from datetime import datetime

    results, v, report = run_quality(settings, spec, raw, file_name=man.original_name, sid=sid,
                                     received_at=datetime.fromisoformat(man.received_at), layout=st.get("layout"),
                                     problems=problems, acknowledged=acknowledged, sha256=man.sha256,
                                     release_date=subs.release_date(man.as_dict(), st)[0])
    qrows, fails, cy = _quality_tables(sid, man.source_id, results, raw)
    qd = quality_dir(settings)
    write_parquet_atomic(qrows, qd / f"{sid}.parquet")
    write_parquet_atomic(fails, qd / f"{sid}_failures.parquet")
    write_parquet_atomic(cy.assign(submission_id=sid, source_id=man.source_id), qd / f"{sid}_coverage.parquet")
    subs.write_report(settings.landing_dir, sid, report)
    stats = {**report["stats"], "verdict": v, "results": results}
    if v == "rejected":
        subs.set_status(settings.landing_dir, sid, "rejected",
                        detail="; ".join(f"{r.rule.id}: " + (f"the rule could not be evaluated ({r.observed})"
                                                      if r.status == "error_in_rule" else f"{r.failing_rows} row(s)")
                                         for r in results if r.blocking))
        copy_file_atomic(raw, settings.quarantine_dir / f"{sid}.parquet")
        (settings.validated_dir / f"{sid}.parquet").unlink(missing_ok=True)
        err = SubmissionError([Problem(f.get("file_name") or man.original_name, f.get("line"), f.get("column_name"),
                                       f["rule"], f["message"]["en"], None if f.get("value") is None else str(f["value"]))
                               for f in report["problems"]])
        err.results = results
        raise err
    out = copy_file_atomic(raw, settings.validated_dir / f"{sid}.parquet")
    (settings.quarantine_dir / f"{sid}.parquet").unlink(missing_ok=True)
    if pipeline_may_set(st):
        if v == "review":
            warns = [r.rule.id for r in results if r.status == "fail" and r.rule.severity == "warn"
                     and r.rule.id not in acknowledged]
            subs.set_status(settings.landing_dir, sid, "awaiting_review",
                            detail="warnings to acknowledge: " + ", ".join(warns))
        elif needs_approval(man):
            subs.set_status(settings.landing_dir, sid, "awaiting_review", detail=HOLD_DETAIL)
        else:
            subs.set_status(settings.landing_dir, sid, "validated", detail=f"{report['stats']['rows']} cells")
    return StepResult(sid, out, report["stats"]["rows"], stats, time.perf_counter() - t0)
