"""What travels with every export: the release, the sources with their citations and licences, the definitions
of the columns and the meaning of the quality flags.

Citations are built from the source specs (``reference/sources/<id>.yaml``: title, publisher, url); licences
are the statements of ``reference/publication/licences.yaml`` (copied from each file's provenance record, an
unverified one marked so). Nothing here is invented: a column without a definition says so.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pipelines import yamlio
from pipelines.settings import Settings

PROJECT = "hemistat — Inter-American Network of Public Security Information and Knowledge (OAS)"

# obs_status: the SDMX CL_OBS_STATUS subset used by the warehouse (pipelines/contracts/tables.py)
OBS_STATUS = {
    "A": "normal value",
    "B": "break in series (a definition or coverage change; see obs_note)",
    "D": "definition differs from the ICCS category (e.g. a broader or narrower national offence)",
    "E": "estimated value",
    "M": "missing value",
    "P": "provisional value (the period is not complete or the publisher marks it provisional)",
    "I": "imputed value",
    "U": "low reliability",
}

COMPARABILITY = {
    "national": "the country's own official source (police, prosecution, statistical office)",
    "international": "an international compilation (e.g. UNODC CTS) of national data",
    "comparison": "a comparison series (World Bank WDI, Our World in Data) kept to check the others",
    "survey": "a survey estimate (not an offence count)",
}

# column -> definition (columns of the published tables; an export of a column not listed here says so)
COLUMNS = {
    "release_id": "the warehouse release the row comes from (hemistat release id, UTC time of publication)",
    "indicator_id": "identifier of the harmonised value within its release",
    "country_iso3": "country, ISO 3166-1 alpha-3 (OAS member states)",
    "subdivision_code": "first-level subdivision (province, state, department) in the source's own coding; empty: "
                        "the whole country",
    "subdivision_name": "name of the subdivision as the source gives it",
    "year": "reference year",
    "month": "reference month (1-12); empty: the whole year",
    "iccs_code": "UNODC International Classification of Crime for Statistical Purposes (ICCS) code",
    "iccs_level": "level of the ICCS code (1 section … 4)",
    "measure": "what is counted: offences (offences known to the police) or victims",
    "sex": "sex of the victims: F, M, _T total, _U unknown (SDMX conventions)",
    "age": "age group of the victims: _T total, _U unknown, Y_LT18 under 18, Y_GE18 18 and over",
    "relationship": "relationship of victim and perpetrator: _T total, IPFM intimate partner or family member, "
                    "KNOWN other known, UNKNOWN perpetrator unknown, _U not known",
    "value": "the count (number of offences or victims)",
    "population": "population used for the rate",
    "population_source": "where the population comes from",
    "rate_per_100k": "rate per 100,000 population (value / population x 100,000)",
    "rate_note": "how the rate was obtained",
    "obs_status": "observation status (SDMX CL_OBS_STATUS): " + "; ".join(f"{k} {v}" for k, v in OBS_STATUS.items()),
    "obs_note": "note on the value (break, provisional period, definition)",
    "source_id": "the source (see the sources table: publisher, title, citation, licence)",
    "submission_id": "the file received from the source the value comes from (traceable to file, row and column)",
    "n_submissions": "number of files that contributed to the value",
    "n_cells": "number of published cells combined into the value",
    "n_cells_reported": "number of those cells carrying a value",
    "months_reported": "months of the year the source reported (12: a complete year)",
    "derivation": "how the value was derived (reported, sum of subdivisions, roll-up of ICCS children …)",
    "comparability": "comparability of the source: " + "; ".join(f"{k}: {v}" for k, v in COMPARABILITY.items()),
    "comparability_flags": "flags on the comparability of the chosen value (definition differences, breaks, "
                           "partial years, coverage), separated by ';'",
    "quality_score": "quality score of the country-year, 0-100 (published.quality_summary)",
    "measure_unit": "unit of the value",
}


def describe(column: str) -> str:
    return COLUMNS.get(column, f"{column} (no definition recorded)")


@lru_cache(maxsize=4)
def _licences(path: str, mtime: float) -> dict:
    return yamlio.load(Path(path).read_text("utf-8")) or {}


def licences(reference_dir: Path) -> dict:
    p = Path(reference_dir) / "publication" / "licences.yaml"
    if not p.exists():
        return {}
    return _licences(str(p), p.stat().st_mtime)


def sources(settings: Settings, source_ids, release_id: str | None = None) -> list[dict]:
    """One record per source: source_id, title, publisher, url, comparability, citation, licence, licence_status,
    licence_spdx. A source without a spec (removed since) is listed with what is known: its id."""
    from pipelines.specs.source import load_all_specs

    specs = load_all_specs(settings.reference_dir, strict=False)
    lic = licences(settings.reference_dir)
    out = []
    for sid in sorted(set(s for s in source_ids if s)):
        spec = specs.get(sid)
        li = lic.get(sid) or {}
        title = spec.title if spec else sid
        publisher = spec.publisher if spec else "unknown (no source spec)"
        url = (spec.url or "") if spec else ""
        citation = f"{publisher}. {title}." + (f" {url}." if url else "")
        citation += (f" Harmonised to ICCS by hemistat, release {release_id}." if release_id
                     else " Harmonised to ICCS by hemistat.")
        out.append({"source_id": sid, "title": title, "publisher": publisher, "url": url,
                    "comparability": spec.comparability if spec else "",
                    "citation": citation, "licence": li.get("licence", "not stated"),
                    "licence_status": li.get("status", "not stated"), "licence_spdx": li.get("spdx", "")})
    return out
