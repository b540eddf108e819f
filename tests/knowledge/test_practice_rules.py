"""The practice rules (quality_rules/records/practices.yaml) on the project's rule engine: the seed records pass;
each kind of defect is caught by its rule, named by file and field, in the four languages; the published
evidence level follows the mapping kept as data."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from pipelines.knowledge.practice_rules import check_records, evaluate_records, load_practice_rules

REPO = Path(__file__).resolve().parents[2]
REF, RULES = REPO / "reference", REPO / "quality_rules"
SEED = REF / "practices" / "records"


def seed(name: str) -> dict:
    return yaml.safe_load((SEED / f"{name}.yaml").read_text("utf-8"))


def problems(rec: dict, lang: str = "en", name: str | None = None):
    return check_records([(name or f"{rec['practice_id']}.yaml", rec)], reference_dir=REF, rules_dir=RULES, lang=lang)


def test_rules_load_with_four_languages_and_all_seed_records_pass():
    rules = load_practice_rules(RULES)
    assert [r.id for r in rules] == ["PR1", "PR2", "PR3", "PR4", "PR5"]
    for r in rules:
        assert set(r.message) == {"en", "es", "pt", "fr"}
        assert all(r.message[lang] != r.message["en"] for lang in ("es", "pt", "fr")), r.id
    items = [(p.name, yaml.safe_load(p.read_text("utf-8"))) for p in sorted(SEED.glob("*.yaml"))]
    assert len(items) >= 30
    results = evaluate_records(items, reference_dir=REF, rules_dir=RULES)
    assert {r.rule.id: r.status for r in results} == {f"PR{i}": "pass" for i in range(1, 6)}


def test_codes_must_exist():
    rec = seed("bra-fica-vivo")
    rec["iccs_codes"] = ["0101", "0199"]
    rec["country_iso3"] = "XXX"
    rec["topics"] = ["youth_violence", "space_piracy"]
    rec["ratings"][0]["rating"] = "3 excellent"
    got = {(p.rule_id, p.field) for p in problems(rec)}
    assert {("PR2", "iccs_codes[1]"), ("PR2", "country_iso3"), ("PR2", "topics[1]"),
            ("PR2", "ratings[0].rating")} <= got


def test_rating_must_fit_the_design():
    mst = seed("usa-multisystemic-therapy")
    mst["evaluation"]["design"] = "qed"               # Blueprints Model Plus needs randomised trials
    mst["evaluation"]["sms_level"] = 3
    assert ("PR3", "evaluation.design") in {(p.rule_id, p.field) for p in problems(mst)}
    cv = seed("col-medellin-metrocable")
    cv["evaluation"]["sms_level"] = 5                 # a natural experiment is not SMS 5
    got = {(p.rule_id, p.field) for p in problems(cv)}
    assert ("PR3", "evaluation.sms_level") in got and ("PR3", "ratings[0].rating") in got
    pp = seed("bra-diadema-alcohol-hours")
    pp["evaluation"] = {"design": "pre_post", "sms_level": 2, "studies_count": 1}
    pp["ratings"] = [{"body": "crimesolutions", "rating": "Promising", "detail": "One study", "url": "https://x.org/a"}]
    assert ("PR3", "ratings[0].rating") in {(p.rule_id, p.field) for p in problems(pp)}
    bos = seed("usa-boston-operation-ceasefire")
    bos["evaluation"]["studies_count"] = 1            # "More than one study" with one study
    assert ("PR3", "evaluation.studies_count") in {(p.rule_id, p.field) for p in problems(bos)}


def test_dates_in_order():
    rec = seed("bra-fica-vivo")
    rec["end_year"] = 1999                            # before start_year 2002
    rec["studies"][0]["end_year"] = 2001              # before the study's start 2002
    rec["studies"][0]["year"] = 2099
    got = {(p.rule_id, p.field) for p in problems(rec)}
    assert {("PR4", "end_year"), ("PR4", "studies[0].end_year"), ("PR4", "studies[0].year")} <= got


def test_unverified_is_marked_and_never_filled():
    rec = seed("usa-becoming-a-man")
    rec["unverified"] = [u for u in rec["unverified"] if u != "start_year"]     # empty and not marked
    rec["studies"][0]["url"] = ""
    rec["studies"][0]["doi"] = None
    got = {(p.rule_id, p.field) for p in problems(rec)}
    assert ("PR5", "start_year") in got and ("PR5", "studies[0].url") in got
    rec = seed("bra-fica-vivo")
    rec["studies"][0]["authors"] = ["Invented A"]     # listed as unverified, yet filled: refused
    assert ("PR5", "studies[0].authors") in {(p.rule_id, p.field) for p in problems(rec)}
    rec = seed("bra-fica-vivo")
    rec["unverified"].append("colour")                # not a field of the record
    assert ("PR2", "unverified[" + str(len(rec["unverified"]) - 1) + "]") in {(p.rule_id, p.field) for p in problems(rec)}


def test_required_fields_and_messages_in_four_languages():
    rec = seed("jam-irie-classroom-toolbox")
    del rec["title"]["es"]
    del rec["studies"]
    for lang, words in {"en": "field title.es is missing", "es": "el campo title.es falta",
                        "pt": "o campo title.es está ausente", "fr": "le champ title.es manque"}.items():
        ps = problems(rec, lang)
        mine = [p for p in ps if p.field == "title.es"]
        assert mine and mine[0].rule_id == "PR1"
        assert mine[0].message.startswith("jam-irie-classroom-toolbox.yaml") and words in mine[0].message
    assert "studies" in {p.field for p in problems(rec)}
    es = [p.message for p in problems(seed_with_bad_code(), "es") if p.rule_id == "PR2"][0]
    pt = [p.message for p in problems(seed_with_bad_code(), "pt") if p.rule_id == "PR2"][0]
    assert "no es un código conocido" in es and "não é um código conhecido" in pt


def seed_with_bad_code():
    rec = seed("bra-fica-vivo")
    rec["iccs_codes"] = ["0199"]
    return rec


def test_duplicate_ids_and_file_names():
    a = seed("bra-fica-vivo")
    b = copy.deepcopy(a)
    ps = check_records([("bra-fica-vivo.yaml", a), ("copy.yaml", b)], reference_dir=REF, rules_dir=RULES)
    got = {(p.rule_id, p.file, p.field) for p in ps}
    assert ("PR2", "copy.yaml", "practice_id") in got


@pytest.mark.parametrize("body,rating,detail,level", [
    ("crimesolutions", "Effective", "More than one study", 4), ("crimesolutions", "Effective", "One study", 3),
    ("crimesolutions", "Negative Effects", None, 0), ("blueprints", "Promising", None, 3),
    ("sms", "2 reduction", None, 2), ("sms", "5 no_effect", None, 1), ("clear_dol", "High causal evidence", None, None)])
def test_mapping_to_the_common_scale_is_the_data_file(body, rating, detail, level):
    from pipelines.knowledge.practice_reference import load_reference

    ref = load_reference(REF)
    assert ref.rating_level(body, rating, detail) == (True, level)
    table = yaml.safe_load((REF / "practices" / "evidence_scale.yaml").read_text("utf-8"))["bodies"][body]["ratings"]
    assert table.get(f"{rating}|{detail or ''}", table.get(f"{rating}|")) == level
