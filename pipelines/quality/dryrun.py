"""`hemistat validate`: adapter + layer contract + every rule on a file, without storing or publishing anything.

The dry run judges a file as a submission would be judged (the raw layer's contract is part of it: a year
1800 is refused by both) and writes nothing in the data folder: its Parquet file and the Great Expectations
Data Docs go to a temporary folder (``reports_dir`` keeps the Data Docs), so it runs on a read-only one."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from pipelines.adapters import SubmissionError, adapt_to_parquet, load_all_specs, load_spec
from pipelines.contracts.tables import ContractError, RawSchema, read_table, validate_parquet
from pipelines.harmonise import reference as ref
from pipelines.settings import Settings
from pipelines.storage.submissions import stored_name


def dry_run(settings: Settings, file: Path, source_id: str, *, lang_file_name: str | None = None,
            reports_dir: Path | None = None) -> dict:
    """The report a submission of ``file`` would get. ``reports_dir``: where the GX Data Docs are kept
    (``<reports_dir>/reports/gx_docs/…``); default: a temporary folder removed afterwards."""
    from pipelines.harmonise import HarmoniseError, harmonise
    from pipelines.quality.run import contract_problems, run_quality
    from pipelines.quality import evaluate, load_rules, verdict
    from pipelines.quality.results import QualityContext
    from pipelines.quality.report import build_report

    spec = load_spec(source_id, settings.reference_dir)
    name = lang_file_name or Path(file).name
    countries = set(ref.countries(settings.reference_dir)["iso3"])
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "dry.parquet"
        # read under the name landing would store it as (original.<ext>), as the submission's ingest does
        stored = Path(tmp) / stored_name(name)
        try:
            os.link(file, stored)
        except OSError:
            shutil.copyfile(file, stored)
        try:
            _, _, stats = adapt_to_parquet(stored, spec, p, submission_id="dry-run", file_name=name,
                                           allowed_countries=countries)
        except SubmissionError as exc:
            _, _, report = run_quality(settings, spec, None, file_name=name, sid=None, problems=exc.problems,
                                       with_gx=False)
            report["problems"] = [q.as_dict() for q in exc.problems]   # as the submission's report.json
            report["verdict"] = "rejected"
            return report
        problems = []   # the raw layer's contract, as pipeline.validate checks it (a year 1800, a negative month)
        try:
            validate_parquet(p, RawSchema)
        except ContractError as exc:
            problems.extend(contract_problems(None, exc, name))
        # the rules still read a DataFrame here (the quality package is moving to the Parquet path)
        table = read_table(p)
        now = datetime.now(timezone.utc)
        results, v, report = run_quality(settings, spec, table, file_name=name, sid=None, received_at=now,
                                         layout=stats.get("layout"), problems=problems,
                                         docs_root=reports_dir or Path(tmp))
        # harmonised-layer rules on this file alone (+ comparison series already in the warehouse)
        if v != "rejected":
            try:
                h = harmonise(pd.DataFrame([{"submission_id": "dry-run", "source_id": source_id,
                                             "received_at": now.isoformat(), "validated_path": str(p)}]),
                              load_all_specs(settings.reference_dir, strict=False), settings.reference_dir)
                from pipelines.quality.context import comparison_series

                rules = load_rules(settings.rules_dir, source_id, reference_dir=settings.reference_dir)
                cmp_sources = sorted({s for r in rules if r.check == "two_source_ratio"
                                      for s in r.params.get("comparison_sources", [])})
                ctx = QualityContext(reference_dir=settings.reference_dir,
                                     comparison=comparison_series(settings, cmp_sources))
                results += evaluate(h.indicators, rules, ctx, layer="harmonised")
            except HarmoniseError:
                pass  # C1/C2 already report unmapped or invalid codes
            v = verdict(results)
            report = build_report(results, verdict=v, submission_id=None, source_id=source_id, file_name=name,
                                  stats=report["stats"], gx=report["gx"], impact=report.get("impact"))
    return report
