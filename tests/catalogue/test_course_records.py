"""The catalogue's records: every file passes its schema and the record rules; real offers carry their source and the
facts checked against it; sample records are labelled; a bad record is refused with file, field and rule named in
the reader's language."""

from __future__ import annotations

import json
from datetime import date

import pytest

from pipelines.knowledge import catalogue
from pipelines.knowledge.record_rules import RecordError

SHARED_COLUMNS = ["course_id", "kind", "provider", "title_en", "title_es", "country_iso3", "mispa_pillars", "iccs_areas",
                  "modality", "languages", "audience", "start_date", "end_date", "url", "citation", "sample"]


def test_records_load_with_the_shared_columns(cat_settings):
    df = catalogue.load_courses(cat_settings)
    assert len(df) == len(list((catalogue.courses_dir(cat_settings) / "records").glob("*.json"))) == 14
    assert list(df.columns[:len(SHARED_COLUMNS)]) == SHARED_COLUMNS
    assert set(df["kind"]) == {"course", "technical_assistance"}
    assert all(isinstance(v, list) for c in ("mispa_pillars", "iccs_areas", "languages", "audience") for v in df[c])
    real, sample = df[~df["sample"]], df[df["sample"]]
    assert len(real) == 8 and len(sample) == 6
    # every real offer cites a public source with its address; every sample says it is one
    assert real["citation"].str.len().min() > 20 and real["citation_url"].str.startswith("https://").all()
    assert sample["course_id"].str.startswith("sample-").all()
    assert all("(sample)" in t or "(muestra)" in t or "(amostra)" in t
               for t in sample["title_en"].fillna(sample["title_pt"]))
    assert (sample["provider"] == "Sample provider (illustrative)").all()


def test_real_offers_match_their_sources(cat_settings):
    """Values checked by hand against the cited pages (docs/CATALOGUE.md lists them)."""
    df = catalogue.load_courses(cat_settings).set_index("course_id")
    cde = df.loc["cde-gender-crime-statistics-2022"]          # CdE page: 21 Feb - 25 Mar 2022, online
    assert (cde["start_date"], cde["end_date"], cde["modality"]) == (date(2022, 2, 21), date(2022, 3, 25), "online")
    hnd = df.loc["redppol-police-course-hnd-2017"]            # Jornal da USP: 11 Sep - 10 Oct 2017, La Paz, Honduras
    assert (hnd["start_date"], hnd["end_date"], hnd["country_iso3"], hnd["city"]) == (
        date(2017, 9, 11), date(2017, 10, 10), "HND", "La Paz")
    bra = df.loc["redppol-police-course-bra"]                 # REDPPOL slide: 4 weeks, ES/EN/PT interpretation
    assert bra["duration_weeks"] == 4 and bra["languages"] == ["es", "en", "pt"] and bra["start_date"] is None
    assert "start_date" in bra["unverified"]                  # the dates are not in the source: said so
    ca = df.loc["infosegura-trainaction-cybersecurity"]       # InfoSegura: Central America and the Dominican Republic
    assert sorted(ca["eligible_countries"]) == ["CRI", "DOM", "GTM", "HND", "SLV"] and "languages" in ca["unverified"]


def test_schema_org_course_and_instance(cat_settings):
    df = catalogue.load_courses(cat_settings).set_index("course_id")
    ld = json.loads(df.loc["redppol-police-course-hnd-2017", "schema_org"])
    assert ld["@type"] == "Course" and ld["courseCode"] == "redppol-police-course-hnd-2017"
    inst = ld["hasCourseInstance"][0]
    assert inst["@type"] == "CourseInstance" and inst["courseMode"] == "onsite"
    assert (inst["startDate"], inst["endDate"]) == ("2017-09-11", "2017-10-10")
    assert inst["location"]["address"]["addressCountry"] == "HND"


def _write(settings, doc: dict) -> str:
    p = catalogue.courses_dir(settings) / "records" / f"{doc['course_id']}.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p.name


def test_bad_record_is_refused_naming_file_field_and_rule(ref_copy):
    src = catalogue.courses_dir(ref_copy) / "records" / "sample-chl-crime-analysis.json"
    doc = json.loads(src.read_text("utf-8"))
    doc.update(course_id="bad-offer", sample=False, topics=["police.telepathy"], country_iso3="XXX",
               start_date="2027-05-01", end_date="2027-04-01", citation={"text": "a source with no address", "url": None})
    name = _write(ref_copy, doc)
    with pytest.raises(RecordError) as e:
        catalogue.load_courses(ref_copy)
    msgs = e.value.messages
    assert any(f"reference/courses/records/{name}" in m and "topics = police.telepathy" in m and "[CAT3]" in m
               for m in msgs), msgs
    assert any("country_iso3 = XXX" in m and "[CAT3]" in m for m in msgs), msgs
    assert any("end_date 2027-04-01 is before the start date 2027-05-01" in m and "[CAT4]" in m for m in msgs), msgs
    assert any("citation_url" in m and "[CAT2]" in m for m in msgs), msgs
    with pytest.raises(RecordError) as e:
        catalogue.load_courses(ref_copy, "es")
    assert any("no es un código conocido" in m and name in m for m in e.value.messages), e.value.messages
    with pytest.raises(RecordError) as e:
        catalogue.load_courses(ref_copy, "pt")
    assert any("é anterior à data de início" in m for m in e.value.messages)


def test_schema_errors_name_the_file_and_field(ref_copy):
    folder = catalogue.courses_dir(ref_copy) / "records"
    doc = json.loads((folder / "sample-chl-crime-analysis.json").read_text("utf-8"))
    doc.update(course_id="bad-modality", modality="by pigeon")
    _write(ref_copy, doc)
    (folder / "broken.json").write_text("{not json", encoding="utf-8")
    doc2 = dict(doc, course_id="other-name", modality="online")
    (folder / "wrong-name.json").write_text(json.dumps(doc2), encoding="utf-8")
    with pytest.raises(RecordError) as e:
        catalogue.load_courses(ref_copy)
    text = "\n".join(e.value.messages)
    assert "reference/courses/records/bad-modality.json: field modality: 'by pigeon' is not one of" in text
    assert "reference/courses/records/broken.json: not valid JSON" in text
    assert "wrong-name.json: field course_id: 'other-name' must be the file name 'wrong-name'" in text
