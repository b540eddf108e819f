"""Step 4, validated -> harmonised: every accepted submission through the crosswalks to ICCS (DuckDB),
then the harmonised-layer rules."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.adapters import load_all_specs
from pipelines.specs.source import spec_load_errors
from pipelines.contracts.tables import HarmonisedSchema, validate_parquet
from pipelines.harmonise import HarmoniseError, harmonise
from pipelines.harmonise.engine import connect
from pipelines.pipeline.quality_files import _failure_frame, quality_dir
from pipelines.quality import evaluate, load_rules
from pipelines.quality.results import QualityContext, scorecard_frame
from pipelines.settings import Settings
from pipelines.storage import submissions as subs
from pipelines.storage.catalog import accepted_submissions
from pipelines.storage.files import write_parquet_atomic


def harmonise_all(settings: Settings) -> dict:
    """validated -> harmonised: every accepted submission, latest vintage per cell; then the
    harmonised-layer quality rules (cross-source, rates, completeness).

    DuckDB writes the tables straight to Parquet in a private folder (bounded memory, spilling to
    ``<data>/tmp``); the indicators are checked against their contract batch by batch, then each file
    replaces the previous one (``os.replace``)."""
    t0 = time.perf_counter()
    accepted = accepted_submissions(settings)
    specs = load_all_specs(settings.reference_dir, strict=False)
    # a broken spec of a source with nothing accepted touches nothing here; one whose source has accepted
    # submissions stops this harmonisation (leaving the source out would change what is published)
    broken = spec_load_errors(settings.reference_dir)
    needed = sorted(set(accepted["source_id"]) & set(broken)) if len(accepted) else []
    if needed:
        raise ValueError("cannot harmonise: " + "; ".join(e for sid in needed for e in broken[sid])
                         + " — fix the spec; the published warehouse is unchanged")
    d = settings.harmonised_dir
    work = d / f".run-{uuid.uuid4().hex[:8]}"
    try:
        accepted, res, isolated = _harmonise_isolating(settings, accepted, specs, work)
        validate_parquet(res.paths["indicators"], HarmonisedSchema)
        for name, path in res.paths.items():
            os.replace(path, d / f"{FILE_NAMES.get(name, name)}.parquet")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = harmonised_quality(settings, d / "indicators.parquet")
    return {**res.stats, "submissions": len(accepted), "seconds": round(time.perf_counter() - t0, 2),
            "path": str(d), "results": results, "isolated": isolated}


FILE_NAMES = {"used": "used_submissions"}   # harmonised/<file>.parquet of each table where the names differ


def _harmonise_isolating(settings: Settings, accepted: pd.DataFrame, specs, out_dir: Path) -> tuple:
    """Harmonise; a submission that breaks it (a code without a crosswalk row in force since the crosswalk
    changed, a crosswalk row pointing at no ICCS code) is isolated — status rejected with the reason — and
    the others are harmonised and published without it. Returns (accepted, result, {sid: reason})."""
    isolated: dict[str, str] = {}
    while True:
        try:
            con = connect(settings.data_dir / "tmp" / "duckdb")
            try:
                return accepted, harmonise(accepted, specs, settings.reference_dir, con, out_dir=out_dir,
                                           cache_dir=settings.harmonise_cache_dir if settings.harmonise_cache
                                           else None), isolated
            finally:
                con.close()
        except HarmoniseError as exc:
            d = exc.details
            bad: set[str] = set()
            if d is not None and "submissions" in d.columns:
                bad = {x for v in d["submissions"].dropna() for x in str(v).split(",")}
            elif d is not None and "source_id" in d.columns:
                bad = set(accepted.loc[accepted["source_id"].isin(set(d["source_id"])), "submission_id"])
            bad &= set(accepted["submission_id"])
            if not bad:
                raise
            first = str(exc).splitlines()[0]
            for sid in sorted(bad):
                rows = d[d["submissions"].fillna("").str.contains(sid, regex=False)] if "submissions" in d.columns \
                    else d[d["source_id"] == sid.split("__")[0]]
                what = "; ".join(f"{r.get('national_code')} {r.get('year', '')}".strip()
                                 for r in rows.head(5).to_dict("records"))
                reason = (f"harmonisation: {first} ({what}); fix reference/crosswalks, then "
                          f"hemistat reprocess {sid}")
                subs.set_status(settings.landing_dir, sid, "rejected", detail=reason, isolated=True)
                isolated[sid] = reason
            accepted = accepted[~accepted["submission_id"].isin(bad)]
            if accepted.empty:
                raise


def harmonised_quality(settings: Settings, indicators: pd.DataFrame | Path):
    """Run the harmonised-layer rules on the indicators (a table or its Parquet file); results are
    attributed to the submissions behind each row."""
    rules = load_rules(settings.rules_dir, reference_dir=settings.reference_dir)
    cmp_sources = sorted({s for r in rules if r.check == "two_source_ratio"
                          for s in r.params.get("comparison_sources", [])})
    con = duckdb.connect()
    try:
        if isinstance(indicators, pd.DataFrame):
            con.register("ind", indicators)
        else:
            con.read_parquet(str(indicators)).create_view("ind")
        comparison = con.execute(
            "select country_iso3, year, rate_per_100k as rate, source_id from ind where list_contains(?, source_id) "
            "and subdivision_code is null and month is null and sex = '_T' and rate_per_100k is not null",
            [cmp_sources]).df()
    finally:
        con.close()
    ctx = QualityContext(reference_dir=settings.reference_dir, comparison=comparison)
    results = evaluate(indicators, rules, ctx, layer="harmonised")
    rows, fails = [], []
    for r in results:
        rows.append({"submission_id": None, "source_id": None, **r.as_row()})
        if len(r.failures):
            fails.append(r.failures.assign(rule_id=r.rule.id))
    qd = quality_dir(settings)
    write_parquet_atomic(scorecard_frame(rows), qd / "harmonised.parquet")
    write_parquet_atomic(_failure_frame(fails, ["rule_id", "country_iso3", "year"]), qd / "harmonised_failures.parquet")
    return results
