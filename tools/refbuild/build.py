"""Orchestrates the reference-table build (see ``tools/refbuild/__init__.py``)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tools.refbuild import countries, iccs, population
from tools.refbuild.common import (
    RefBuildError,
    csv_bytes,
    json_bytes,
    write_if_changed,
    write_provenance,
)
from pipelines.contracts.table_schema import validate_csv

# output file -> (schema file, schema dict); used by the build's own final validation and by the tests
TABLES = {
    "iccs/iccs.csv": ("iccs/iccs.schema.json", iccs.ICCS_SCHEMA),
    "iccs/iccs_notes.csv": ("iccs/iccs_notes.schema.json", iccs.NOTES_SCHEMA),
    "countries/oas_members.csv": ("countries/oas_members.schema.json", countries.SCHEMA),
    "population/national.csv": ("population/national.schema.json", population.NATIONAL_SCHEMA),
    "population/subnational.csv": ("population/subnational.schema.json", population.SUBNATIONAL_SCHEMA),
}
# foreign-key resource name (Table Schema "reference.resource") -> file under reference/
RESOURCES = {"iccs": "iccs/iccs.csv", "oas_members": "countries/oas_members.csv"}


@dataclass
class BuildReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def build_all(shared: Path, out: Path) -> BuildReport:
    shared, out = Path(shared), Path(out)
    if not shared.is_dir():
        raise RefBuildError(f"shared data folder not found: {shared} (use --shared DIR or HEMISTAT_SHARED_DIR)")
    report = BuildReport()

    # compute everything first, write afterwards: a failing source leaves the committed files untouched
    country_rows = countries.build()
    iccs_res = iccs.build(shared)
    pop_res = population.build(shared, countries.iso3_set())

    files: dict[str, bytes] = {
        "iccs/iccs.csv": csv_bytes(iccs.ICCS_HEADER, iccs_res.rows),
        "iccs/iccs_notes.csv": csv_bytes(iccs.NOTES_HEADER, iccs_res.notes),
        "countries/oas_members.csv": csv_bytes(countries.HEADER, country_rows),
        "population/national.csv": csv_bytes(population.NATIONAL_HEADER, pop_res.national),
        "population/subnational.csv": csv_bytes(population.SUBNATIONAL_HEADER, pop_res.subnational),
    }
    for schema_path, schema in TABLES.values():
        files[schema_path] = json_bytes(schema)
    report.rows = {
        "iccs/iccs.csv": len(iccs_res.rows),
        "iccs/iccs_notes.csv": len(iccs_res.notes),
        "countries/oas_members.csv": len(country_rows),
        "population/national.csv": len(pop_res.national),
        "population/subnational.csv": len(pop_res.subnational),
    }

    # validate every table against its schema (incl. foreign keys) BEFORE touching the output folder
    with tempfile.TemporaryDirectory(prefix="refbuild-") as tmp:
        stage = Path(tmp)
        for rel, data in files.items():
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            (stage / rel).write_bytes(data)
        resources = {name: stage / rel for name, rel in RESOURCES.items()}
        for rel, (_, schema) in TABLES.items():
            errors = validate_csv(stage / rel, schema, resources)
            if errors:
                raise RefBuildError(f"{rel} does not validate against its schema:\n  " + "\n  ".join(errors[:20]))

    for rel, data in files.items():
        (report.written if write_if_changed(out / rel, data) else report.unchanged).append(rel)
    provs = {
        "iccs/PROVENANCE.md": lambda d: iccs.provenance(iccs_res, d),
        "countries/PROVENANCE.md": lambda d: countries.provenance(country_rows, d),
        "population/PROVENANCE.md": lambda d: population.provenance(pop_res, d),
    }
    for rel, render in provs.items():
        (report.written if write_provenance(out / rel, render) else report.unchanged).append(rel)

    if iccs_res.en_fallbacks:
        report.warnings.append(f"ICCS codes without an English label in the PDF: {iccs_res.en_fallbacks}")
    return report
