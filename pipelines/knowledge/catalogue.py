"""The catalogue of training courses and technical assistance (issue 16 item 3; DOMAIN.md 4.1-4.3).

One JSON file per offer in ``reference/courses/records/<course_id>.json`` (schema ``reference/courses/course.schema.json``),
with the code lists it uses beside it: ``pillars.csv`` (the five MISPA pillars of AG/RES. 2866), ``topics.csv``
(the finer topics under each pillar, a project proposal), ``audiences.csv``. A record is either a real offer with
the public source that documents it (``citation``; what the source does not confirm is listed in ``unverified``)
or a sample made up for the demonstration (``sample: true``).

``load_courses`` reads and checks every record (the JSON Schema, then the record rules CAT* of
``quality_rules/records/catalogue.yaml`` through the quality engine) and returns the published table
``courses`` (one row per offer, the columns of ``COLUMNS``). ``schema_org`` gives one record as schema.org
``Course`` JSON-LD with its ``CourseInstance``.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pandas as pd

from pipelines.i18n import LANGUAGES
from pipelines.knowledge import codes, record_rules

# the columns other parts of the product rely on (the public site, the Network's course suggestions) come first
COLUMNS = ["course_id", "kind", "provider", "title_en", "title_es", "country_iso3", "mispa_pillars", "iccs_areas",
           "modality", "languages", "audience", "start_date", "end_date", "url", "citation", "sample",
           # and the rest of the record
           "title_pt", "title_fr", "description_en", "description_es", "provider_type", "provider_country_iso3",
           "city", "topics", "level", "duration_weeks", "duration_hours", "duration_text", "eligible_countries",
           "eligibility", "capacity", "cost_free", "cost", "contact", "credential", "deliverables", "citation_url",
           "citation_year", "unverified", "notes", "schema_org"]


def courses_dir(settings) -> Path:
    return codes.courses_dir(settings)


def read_records(settings) -> list[tuple[Path, dict]]:
    """Every record file with its parsed JSON; a file that is not JSON, or breaks the schema, raises
    ``RecordError`` naming the file, the field and the reason."""
    folder = courses_dir(settings) / "records"
    schema = json.loads((courses_dir(settings) / "course.schema.json").read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    out, problems = [], []
    for p in sorted(folder.glob("*.json")):
        rel = f"reference/courses/records/{p.name}"
        try:
            doc = json.loads(p.read_text("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(f"{rel}: not valid JSON ({exc})")
            continue
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        for e in errors:
            where = ".".join(str(x) for x in e.path) or "(record)"
            problems.append(f"{rel}: field {where}: {e.message}")
        if not errors and doc["course_id"] != p.stem:
            problems.append(f"{rel}: field course_id: {doc['course_id']!r} must be the file name {p.stem!r}")
        if not errors:
            out.append((p, doc))
    if problems:
        raise record_rules.RecordError(problems)
    return out


def flatten(doc: dict, file: str | None = None) -> dict:
    """One record as a row of the published table."""
    title, desc = doc.get("title") or {}, doc.get("description") or {}
    prov, elig = doc.get("provider") or {}, doc.get("eligibility") or {}
    dur, cost, cit = doc.get("duration") or {}, doc.get("cost") or {}, doc.get("citation") or {}
    row = {
        "course_id": doc.get("course_id"), "kind": doc.get("kind"), "provider": prov.get("name"),
        "provider_name": prov.get("name"), "provider_type": prov.get("type"),
        "provider_country_iso3": prov.get("country_iso3"),
        "title": next((title[k] for k in LANGUAGES if title.get(k)), None),
        **{f"title_{k}": title.get(k) for k in LANGUAGES},
        "description_en": desc.get("en"), "description_es": desc.get("es"),
        "country_iso3": doc.get("country_iso3"), "city": doc.get("city"),
        "mispa_pillars": list(doc.get("mispa_pillars") or []), "topics": list(doc.get("topics") or []),
        "iccs_areas": list(doc.get("iccs_areas") or []), "modality": doc.get("modality"),
        "languages": list(doc.get("languages") or []), "audience": list(doc.get("audience") or []),
        "level": doc.get("level"), "duration_weeks": dur.get("weeks"), "duration_hours": dur.get("hours"),
        "duration_text": dur.get("text"), "start_date": doc.get("start_date"), "end_date": doc.get("end_date"),
        "eligible_countries": list(elig["countries"]) if elig.get("countries") is not None else None,
        "eligibility": elig.get("text"), "capacity": doc.get("capacity"), "cost_free": cost.get("free"),
        "cost": cost.get("text"), "contact": doc.get("contact"), "url": doc.get("url"),
        "credential": doc.get("credential"), "deliverables": doc.get("deliverables"),
        "citation": cit.get("text"), "citation_url": cit.get("url"), "citation_year": cit.get("year"),
        "unverified": list(doc.get("unverified") or []), "notes": doc.get("notes"),
        "sample": bool(doc.get("sample")),
        "__file": file, "__line": None,
    }
    row["schema_org"] = json.dumps(schema_org(doc), ensure_ascii=False, sort_keys=True)
    return row


def schema_org(doc: dict) -> dict:
    """The record as schema.org ``Course`` JSON-LD (DOMAIN.md 4.2), its dates and mode as a ``CourseInstance``."""
    title = doc.get("title") or {}
    course = {"@context": "https://schema.org", "@type": "Course", "courseCode": doc["course_id"],
              "name": next((title[k] for k in LANGUAGES if title.get(k)), None),
              "provider": {"@type": "Organization", "name": (doc.get("provider") or {}).get("name")},
              "availableLanguage": doc.get("languages"), "about": doc.get("topics"),
              "audience": [{"@type": "Audience", "audienceType": a} for a in doc.get("audience") or []]}
    if doc.get("description"):
        course["description"] = next(iter(doc["description"].values()))
    if doc.get("url"):
        course["url"] = doc["url"]
    if doc.get("level"):
        course["educationalLevel"] = doc["level"]
    if doc.get("credential"):
        course["educationalCredentialAwarded"] = doc["credential"]
    if (doc.get("cost") or {}).get("free") is not None:
        course["isAccessibleForFree"] = doc["cost"]["free"]
    inst = {"@type": "CourseInstance", "courseMode": doc.get("modality")}
    for k, v in (("startDate", doc.get("start_date")), ("endDate", doc.get("end_date")),
                 ("maximumAttendeeCapacity", doc.get("capacity")),
                 ("courseWorkload", (doc.get("duration") or {}).get("text"))):
        if v is not None:
            inst[k] = v
    if doc.get("country_iso3") or doc.get("city"):
        inst["location"] = {"@type": "Place", "address": {"@type": "PostalAddress",
                                                           "addressCountry": doc.get("country_iso3"),
                                                           "addressLocality": doc.get("city")}}
    course["hasCourseInstance"] = [inst]
    return course


def load_courses(settings, lang: str = "en", *, check: bool = True) -> pd.DataFrame:
    """The published ``courses`` table; raises ``RecordError`` (messages in ``lang``) when a record breaks the
    schema or an error rule."""
    rows = [flatten(doc, f"reference/courses/records/{p.name}") for p, doc in read_records(settings)]
    df = pd.DataFrame(rows)
    if check and len(df):
        record_rules.raise_for(record_rules.check_records(settings, "courses", df), lang)
    return published_frame(df)


def published_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.reindex(columns=COLUMNS).copy() if len(df) else pd.DataFrame({c: [] for c in COLUMNS})
    for c in ("start_date", "end_date"):
        out[c] = pd.to_datetime(out[c], errors="coerce").dt.date.astype("object")
        out[c] = out[c].where(out[c].notna(), None)
    for c in ("duration_weeks", "duration_hours"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("Float64")
    for c in ("capacity", "citation_year"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
    out["cost_free"] = out["cost_free"].astype("boolean")
    out["sample"] = out["sample"].astype(bool)
    return out.sort_values("course_id").reset_index(drop=True)


def existing_offers(courses: pd.DataFrame, survey: pd.DataFrame | None) -> pd.DataFrame:
    """Courses that exist in a country, by topic: the catalogue's offers with a host country and the survey's
    ``existing_course`` answers. Columns ``country_iso3, topic, what, origin`` (origin: catalogue | survey)."""
    rows = []
    for r in courses.to_dict("records"):
        if isinstance(r.get("country_iso3"), str) and r["country_iso3"]:
            for t in r["topics"]:
                rows.append({"country_iso3": r["country_iso3"], "topic": t, "what": r["course_id"], "origin": "catalogue"})
    if survey is not None and len(survey):
        for r in survey[survey["kind"] == "existing_course"].to_dict("records"):
            rows.append({"country_iso3": r["country_iso3"], "topic": r["topic"],
                         "what": r.get("existing_course_title") or r["response_id"], "origin": "survey"})
    return pd.DataFrame(rows, columns=["country_iso3", "topic", "what", "origin"])
