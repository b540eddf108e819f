"""Step 2, landing -> raw: the source's adapter reads the stored bytes into the standard long table."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.adapters import SubmissionError, adapt_to_parquet, load_spec
from pipelines.harmonise import reference as ref
from pipelines.pipeline.landing import release_date_from_file
from pipelines.pipeline.quality_files import _quality_tables, quality_dir
from pipelines.quality.run import run_quality
from pipelines.settings import Settings
from pipelines.storage import submissions as subs
from pipelines.storage.files import write_parquet_atomic


@dataclass
class StepResult:
    submission_id: str
    path: Path | None
    rows: int
    stats: dict
    seconds: float


def ingest(settings: Settings, sid: str) -> StepResult:
    """landing -> raw: verify the checksum, run the source's adapter, write raw/<sid>.parquet.

    The adapter writes the Parquet file itself (a large delimited file streams through DuckDB without a
    DataFrame: ``adapters.adapt_to_parquet``); the table is never loaded here."""
    t0 = time.perf_counter()
    man = subs.verify(settings.landing_dir, sid)
    spec = load_spec(man.source_id, settings.reference_dir)
    countries = set(ref.countries(settings.reference_dir)["iso3"])
    path = subs.stored_file(settings.landing_dir, sid)
    try:
        out, rows, stats = adapt_to_parquet(path, spec, settings.raw_dir / f"{sid}.parquet", submission_id=sid,
                                            file_name=man.original_name, allowed_countries=countries)
    except SubmissionError as exc:
        results, _, report = run_quality(settings, spec, None, file_name=man.original_name, sid=sid,
                                         problems=exc.problems, with_gx=False, sha256=man.sha256)
        report["problems"] = [p.as_dict() for p in exc.problems]
        report["verdict"] = "rejected"
        qrows, fails, _ = _quality_tables(sid, man.source_id, results, None)
        write_parquet_atomic(qrows, quality_dir(settings) / f"{sid}.parquet")
        write_parquet_atomic(fails, quality_dir(settings) / f"{sid}_failures.parquet")
        subs.write_report(settings.landing_dir, sid, report)
        for stale in (settings.raw_dir / f"{sid}.parquet", settings.validated_dir / f"{sid}.parquet"):
            stale.unlink(missing_ok=True)   # a re-reading that fails leaves nothing of an earlier reading
        subs.set_status(settings.landing_dir, sid, "rejected", detail=str(exc.problems[0]))
        exc.results = results
        raise
    released_on, released_from = release_date_from_file(spec, path, man.original_name)
    subs.update_status_fields(settings.landing_dir, sid, layout=stats.get("layout"),
                              **({"released_on": released_on, "released_on_from": released_from}
                                 if released_on else {}))
    return StepResult(sid, out, rows, stats, time.perf_counter() - t0)
