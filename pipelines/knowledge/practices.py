"""Good practices in preventing violence and crime: reviewed records, checked when they load, published in the
warehouse in the same atomic release as the indicators.

Where records live
* ``reference/practices/records/<practice_id>.yaml`` — the reviewed seed records (in git);
* ``<data_dir>/practices/records/<practice_id>.yaml`` — practices a data office submitted in the portal and a
  reviewer published (written by the portal on publication, one file per practice, same schema).

Each record follows ``reference/practices/schema.json`` and is checked by the practice rules
(``practice_rules.py``, on the quality engine): every cross-reference (ICCS codes, countries, vocabularies,
topics, rating bodies and their ratings, designs), ratings consistent with the evaluation design, dates in
order, every study cited with a DOI or a stable URL, and every fact nobody could confirm listed in
``unverified``. Loading fails with every problem, each naming the file, the field and the rule.

Published tables (provider ``publish_tables`` in ``pipelines/pipeline/extra_tables.py``; views in
``warehouse/views/60_practices.sql``): ``practices`` (one row per practice), ``practice_studies`` (one row per
cited study) and ``practice_ratings`` (one row per rating, as the body gave it, with its level on the common
scale).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd
import yaml

from pipelines import yamlio
from pipelines.knowledge.practice_reference import LANGS, PracticeReference, load_reference
from pipelines.knowledge.practice_rules import PracticeRecordError, check_records
from pipelines.settings import Settings

RECORDS = Path("practices") / "records"

PRACTICE_COLUMNS = [
    "practice_id", "title_en", "title_es", "title_pt", "title_fr", "summary_en", "summary_es", "summary_pt",
    "summary_fr", "country_iso3", "country_name_en", "country_name_es", "is_oas_member", "city", "scope",
    "setting", "iccs_codes", "topics", "prevention_types", "prevention_level", "approach", "target_populations",
    "line_of_action", "evaluation_design", "sms_level", "studies_count", "evidence_level", "evidence_key",
    "evidence_label", "evidence_body", "evidence_rating", "languages", "start_year", "end_year", "citation",
    "url", "doi", "citations_count", "unverified", "review_status", "reviewer", "reviewed_on", "source_file",
    "origin",
]
STUDY_COLUMNS = ["practice_id", "study_no", "authors", "year", "title", "journal", "volume", "doi", "url", "design",
                 "start_year", "end_year", "finding_en", "finding_es", "citation"]
RATING_COLUMNS = ["practice_id", "rating_no", "body", "body_name", "rating", "detail", "evidence_level",
                  "evidence_label", "rated_by", "url", "accessed", "is_primary"]


def records_dirs(settings: Settings) -> list[Path]:
    return [settings.reference_dir / RECORDS, settings.data_dir / RECORDS]


def read_record_file(path: Path) -> dict:
    text = path.read_text("utf-8")
    try:
        doc = json.loads(text) if path.suffix == ".json" else yamlio.load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise PracticeRecordError([_parse_problem(path, exc)]) from exc
    return doc if isinstance(doc, dict) else {}


def _parse_problem(path: Path, exc: Exception):
    from pipelines.knowledge.practice_rules import Problem

    return Problem("PR1", path.name, "(file)", f"{path.name}: not valid YAML/JSON: {str(exc)[:300]}")


def record_files(settings: Settings) -> list[Path]:
    out = []
    for folder in records_dirs(settings):
        if folder.is_dir():
            out += sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
    return out


def signature(settings: Settings) -> tuple:
    """What the loaded records depend on (names, sizes, modification times): a cache key for the search index."""
    files = record_files(settings) + sorted((settings.reference_dir / "practices").glob("*.*"))
    return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files if p.exists())


def load_records(settings: Settings, lang: str = "en") -> list[dict]:
    """Every published practice record (seed and portal), checked; raises PracticeRecordError listing every
    problem (file, field, rule), in ``lang``."""
    items: list[tuple[str, dict]] = []
    origin: dict[str, str] = {}
    for path in record_files(settings):
        rec = read_record_file(path)
        items.append((path.name, rec))
        origin[path.name] = "portal" if settings.data_dir in path.parents else "seed"
    problems = check_records(items, reference_dir=settings.reference_dir, rules_dir=settings.rules_dir, lang=lang)
    if problems:
        raise PracticeRecordError(problems)
    out = []
    for name, rec in items:
        if (rec.get("review") or {}).get("status") != "published":
            continue
        out.append({**rec, "_file": name, "_origin": origin[name]})
    return out


# ---- citations ------------------------------------------------------------------------------------------------
def study_citation(s: dict) -> str:
    """Authors (year). Title. Journal volume. DOI or URL — with what is unknown said, never guessed."""
    authors = ", ".join(s.get("authors") or []) or "[authors unverified]"
    year = s.get("year") or "year unverified"
    parts = [f"{authors} ({year}). {s['title'].rstrip('.')}."]
    if s.get("journal"):
        parts.append(f"{s['journal']}" + (f", {s['volume']}" if s.get("volume") else "") + ".")
    parts.append(f"https://doi.org/{s['doi']}" if s.get("doi") else s["url"])
    return " ".join(parts)


# ---- published tables -----------------------------------------------------------------------------------------
def to_frames(records: list[dict], ref: PracticeReference) -> dict[str, pd.DataFrame]:
    rows, studies, ratings = [], [], []
    for rec in records:
        ev = ref.evidence(rec)
        first = rec["studies"][0]
        rows.append({
            "practice_id": rec["practice_id"],
            **{f"title_{lang}": rec["title"].get(lang) for lang in LANGS},
            **{f"summary_{lang}": rec["summary"].get(lang) for lang in LANGS},
            "country_iso3": rec.get("country_iso3"),
            "country_name_en": ref.country_name(rec.get("country_iso3"), "en") or None,
            "country_name_es": ref.country_name(rec.get("country_iso3"), "es") or None,
            "is_oas_member": bool(rec.get("country_iso3") in ref.oas_members),
            "city": rec.get("city"),
            "scope": rec.get("scope"),
            "setting": list(rec.get("setting") or []),
            "iccs_codes": list(rec["iccs_codes"]),
            "topics": list(rec["topics"]),
            "prevention_types": list(rec["prevention_level"]) + list(rec["approach"]),
            "prevention_level": list(rec["prevention_level"]),
            "approach": list(rec["approach"]),
            "target_populations": list(rec["target_populations"]),
            "line_of_action": rec["line_of_action"],
            "evaluation_design": rec["evaluation"]["design"],
            "sms_level": rec["evaluation"].get("sms_level"),
            "studies_count": rec["evaluation"].get("studies_count"),
            "evidence_level": ev["level"],
            "evidence_key": ev["key"],
            "evidence_label": ref.level_label(ev["level"], "en"),
            "evidence_body": ev["body"],
            "evidence_rating": ev["rating"],
            "languages": list(rec["languages"]),
            "start_year": rec.get("start_year"),
            "end_year": rec.get("end_year"),
            "citation": study_citation(first),
            "url": first["url"],
            "doi": first.get("doi"),
            "citations_count": len(rec["studies"]),
            "unverified": list(rec.get("unverified") or []),
            "review_status": rec["review"]["status"],
            "reviewer": rec["review"].get("reviewer"),
            "reviewed_on": rec["review"].get("reviewed_on"),
            "source_file": rec["_file"],
            "origin": rec["_origin"],
        })
        for i, s in enumerate(rec["studies"], start=1):
            studies.append({"practice_id": rec["practice_id"], "study_no": i, "authors": list(s.get("authors") or []),
                            "year": s.get("year"), "title": s["title"], "journal": s.get("journal"),
                            "volume": s.get("volume"), "doi": s.get("doi"), "url": s["url"], "design": s["design"],
                            "start_year": s.get("start_year"), "end_year": s.get("end_year"),
                            "finding_en": (s.get("finding") or {}).get("en"),
                            "finding_es": (s.get("finding") or {}).get("es"), "citation": study_citation(s)})
        for i, r in enumerate(rec.get("ratings") or [], start=1):
            _, level = ref.rating_level(r["body"], r["rating"], r.get("detail"))
            ratings.append({"practice_id": rec["practice_id"], "rating_no": i, "body": r["body"],
                            "body_name": ref.scale["bodies"][r["body"]]["name"], "rating": r["rating"],
                            "detail": r.get("detail"), "evidence_level": level,
                            "evidence_label": ref.level_label(level, "en") if level is not None else None,
                            "rated_by": r.get("by"), "url": r["url"], "accessed": r.get("accessed"),
                            "is_primary": ev["body"] == r["body"] and ev["rating"] is not None
                            and ev["rating"].startswith(r["rating"])})
    practices = pd.DataFrame(rows, columns=PRACTICE_COLUMNS)
    for c in ("sms_level", "studies_count", "evidence_level", "start_year", "end_year"):
        practices[c] = practices[c].astype("Int64")
    st = pd.DataFrame(studies, columns=STUDY_COLUMNS)
    for c in ("year", "start_year", "end_year"):
        st[c] = st[c].astype("Int64")
    rt = pd.DataFrame(ratings, columns=RATING_COLUMNS)
    rt["evidence_level"] = rt["evidence_level"].astype("Int64")
    return {"practices": practices.sort_values("practice_id", ignore_index=True),
            "practice_studies": st, "practice_ratings": rt}


def publish_tables(settings: Settings, tables: dict) -> dict:
    """The extra-tables provider: practices, practice_studies, practice_ratings (a bad record fails the publish,
    so nothing is half published)."""
    return to_frames(load_records(settings), load_reference(settings.reference_dir))


# ---- a practice published from the portal ---------------------------------------------------------------------
def write_portal_record(settings: Settings, record: dict) -> Path:
    """Write a reviewed, published practice as ``<data_dir>/practices/records/<practice_id>.yaml`` atomically.
    The id is checked against the schema's pattern first, so it never makes a path outside the folder."""
    import re

    pid = str(record.get("practice_id") or "")
    if not re.fullmatch(r"[a-z]{3}-[a-z0-9-]{3,60}", pid):
        raise ValueError(f"practice_id {pid!r} is not a valid id")
    folder = settings.data_dir / RECORDS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{pid}.yaml"
    text = ("# Practice submitted in the portal and published by a reviewer (review.history has who and when).\n"
            + yaml.safe_dump(record, allow_unicode=True, sort_keys=False, width=120))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{pid}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path
