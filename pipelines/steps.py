"""The pipeline's steps as plain functions (no Dagster): land -> raw -> validated -> harmonised -> published.

Dagster assets in ``pipelines/defs`` are thin wrappers around these; tests call them directly too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.adapters import Problem, SubmissionError, adapt_file, load_all_specs, load_spec
from pipelines.contracts.tables import ContractError, HarmonisedSchema, RawSchema, validate_layer
from pipelines.harmonise import harmonise
from pipelines.harmonise import reference as ref
from pipelines.settings import Settings
from pipelines.storage import release as rel
from pipelines.storage import submissions as subs
from pipelines.storage.files import write_parquet_atomic

PUBLISHABLE = ("validated", "approved", "published")


@dataclass
class StepResult:
    submission_id: str
    path: Path | None
    rows: int
    stats: dict
    seconds: float


def submit(settings: Settings, file: Path, source_id: str, *, uploaded_by: str = "cli",
           country_iso3: str | None = None, channel: str = "cli", original_name: str | None = None):
    """Store a file as a new submission (or return the existing one with the same checksum)."""
    settings.ensure_dirs()
    spec = load_spec(source_id, settings.reference_dir)  # unknown source -> KeyError, nothing stored
    country = country_iso3 or spec.raw.get("country_iso3")
    return subs.land_file(settings.landing_dir, Path(file), source_id=source_id, original_name=original_name,
                          uploaded_by=uploaded_by, country_iso3=country, channel=channel)


def _report(sid: str, man, verdict: str, problems: list[Problem], stats: dict) -> dict:
    return {"submission_id": sid, "source_id": man.source_id, "file": man.original_name,
            "sha256": man.sha256, "verdict": verdict, "problems": [p.as_dict() for p in problems],
            "stats": stats}


def contract_problems(df: pd.DataFrame, exc: ContractError, file_name: str) -> list[Problem]:
    """Turn pandera failure cases into problems that name file, line, column and rule."""
    out = []
    fc = exc.failures
    for _, f in fc.head(200).iterrows():
        idx = f.get("index")
        line = None
        if idx is not None and pd.notna(idx) and int(idx) in df.index:
            line = int(df.at[int(idx), "line"])
            col = f.get("column")
            col = df.at[int(idx), "column_name"] if col == "value" else col
        else:
            col = f.get("column")
        out.append(Problem(file_name, line, None if pd.isna(col) else str(col), "S1",
                           f"breaks the {exc.layer} contract: {f.get('check')}",
                           None if pd.isna(f.get("failure_case")) else str(f.get("failure_case"))))
    return out


def ingest(settings: Settings, sid: str) -> StepResult:
    """landing -> raw: verify the checksum, run the source's adapter, write raw/<sid>.parquet."""
    t0 = time.perf_counter()
    man = subs.verify(settings.landing_dir, sid)
    spec = load_spec(man.source_id, settings.reference_dir)
    countries = set(ref.countries(settings.reference_dir)["iso3"])
    path = subs.stored_file(settings.landing_dir, sid)
    try:
        table, stats = adapt_file(path, spec, submission_id=sid, file_name=man.original_name,
                                  allowed_countries=countries)
    except SubmissionError as exc:
        subs.write_report(settings.landing_dir, sid, _report(sid, man, "rejected", exc.problems, {}))
        subs.set_status(settings.landing_dir, sid, "rejected", detail=str(exc.problems[0]))
        raise
    out = write_parquet_atomic(table, settings.raw_dir / f"{sid}.parquet")
    return StepResult(sid, out, len(table), stats, time.perf_counter() - t0)


def validate(settings: Settings, sid: str) -> StepResult:
    """raw -> validated: the layer contract plus the blocking structural rules.

    A failing submission is quarantined (its report kept, nothing deleted) and never reaches
    ``published``.
    """
    t0 = time.perf_counter()
    man = subs.read_manifest(settings.landing_dir, sid)
    df = pd.read_parquet(settings.raw_dir / f"{sid}.parquet")
    problems: list[Problem] = []
    try:
        validate_layer(df, RawSchema)
    except ContractError as exc:
        problems.extend(contract_problems(df, exc, man.original_name))
    countries = set(ref.countries(settings.reference_dir)["iso3"])
    bad = df[~df["country_iso3"].isin(countries)]
    for _, r in bad.head(50).iterrows():
        problems.append(Problem(man.original_name, int(r["line"]), r["column_name"], "C3",
                                "country is not an OAS member state (ISO 3166-1 alpha-3)", r["country_iso3"]))
    key = ["country_iso3", "subdivision_code", "year", "month", "national_code", "measure", "unit", "sex",
           "age", "relationship"]
    dup = df[df.duplicated(key, keep=False)]
    for _, r in dup.head(50).iterrows():
        problems.append(Problem(man.original_name, int(r["line"]), r["column_name"], "C4",
                                "duplicate cell: the same key appears more than once", r["national_code"]))
    stats = {"rows": len(df), "missing_values": int(df["value"].isna().sum())}
    if problems:
        subs.write_report(settings.landing_dir, sid, _report(sid, man, "rejected", problems, stats))
        subs.set_status(settings.landing_dir, sid, "rejected", detail=str(problems[0]))
        qdir = settings.quarantine_dir
        write_parquet_atomic(df, qdir / f"{sid}.parquet")
        raise SubmissionError(problems)
    out = write_parquet_atomic(df, settings.validated_dir / f"{sid}.parquet")
    subs.write_report(settings.landing_dir, sid, _report(sid, man, "accepted", [], stats))
    if subs.read_status(settings.landing_dir, sid).get("status") not in ("approved", "published"):
        subs.set_status(settings.landing_dir, sid, "validated", detail=f"{len(df)} cells")
    return StepResult(sid, out, len(df), stats, time.perf_counter() - t0)


def accepted_submissions(settings: Settings) -> pd.DataFrame:
    rows = []
    for s in subs.list_submissions(settings.landing_dir):
        vp = settings.validated_dir / f"{s['submission_id']}.parquet"
        if s["status"] in PUBLISHABLE and vp.exists():
            rows.append({**s, "validated_path": str(vp)})
    return pd.DataFrame(rows)


def harmonise_all(settings: Settings) -> dict:
    """validated -> harmonised: every accepted submission, latest vintage per cell."""
    t0 = time.perf_counter()
    accepted = accepted_submissions(settings)
    specs = load_all_specs(settings.reference_dir)
    res = harmonise(accepted, specs, settings.reference_dir)
    validate_layer(res.indicators, HarmonisedSchema)
    d = settings.harmonised_dir
    write_parquet_atomic(res.indicators, d / "indicators.parquet")
    write_parquet_atomic(res.cells, d / "cells.parquet")
    write_parquet_atomic(res.excluded, d / "excluded.parquet")
    write_parquet_atomic(res.unused_crosswalk, d / "unused_crosswalk.parquet")
    return {**res.stats, "submissions": len(accepted), "seconds": round(time.perf_counter() - t0, 2),
            "path": str(d)}


def submissions_table(settings: Settings) -> pd.DataFrame:
    cols = ["submission_id", "source_id", "country_iso3", "received_at", "uploaded_by", "sha256",
            "size_bytes", "original_name", "status", "report_path", "status_detail"]
    rows = subs.list_submissions(settings.landing_dir)
    df = pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame(columns=cols)
    return df[cols].astype({"size_bytes": "int64"}) if len(df) else df


def publish_all(settings: Settings) -> dict:
    """harmonised -> published: one atomic release (Parquet folder + rebuilt hemistat.duckdb)."""
    t0 = time.perf_counter()
    d = settings.harmonised_dir
    tables = {name: pd.read_parquet(d / f"{name}.parquet") for name in ("indicators", "cells", "excluded")}
    used = set(tables["cells"]["submission_id"].unique())
    for sid in used:
        if subs.read_status(settings.landing_dir, sid).get("status") != "published":
            subs.set_status(settings.landing_dir, sid, "published")
    tables["submissions"] = submissions_table(settings)
    reference_tables = {"countries": ref.countries(settings.reference_dir),
                        "iccs": ref.iccs(settings.reference_dir),
                        "population_national": ref.population_national(settings.reference_dir),
                        "population_subnational": ref.population_subnational(settings.reference_dir)}
    rid = rel.publish(settings.published_dir, settings.duckdb_path, settings.views_dir, tables,
                      reference_tables, metadata={"submissions": sorted(used)})
    return {"release_id": rid, "rows": {k: len(v) for k, v in tables.items()},
            "duckdb": str(settings.duckdb_path), "seconds": round(time.perf_counter() - t0, 2)}
