"""The matching of demands to offers and the gap report on the sample survey.

* the gap report names the topics and countries with demand no offer covers;
* its numbers are recomputed here from the input files with plain Python (csv, json: not the matching module);
* one demand's scores are worked out by hand, part by part, from the weights in reference/survey/matching.yaml;
* the weights are data: changing the file changes the score.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipelines.knowledge import catalogue, matching, survey


@pytest.fixture
def built(cat_settings):
    return matching.build(cat_settings, catalogue.load_courses(cat_settings), survey.answers(cat_settings))


def test_gap_report_names_topics_and_countries_with_unmet_demand(built):
    g = built["course_gaps"]
    not_covered = {(c, t): s for c, t, s in zip(g["country_iso3"], g["topic"], g["status"]) if s != "covered"}
    assert not_covered == {("GTM", "prevention.youth"): "partly", ("JAM", "police.investigation"): "partly",
                           ("MEX", "prevention.situational"): "partly", ("TTO", "participation.community"): "unmet"}
    assert g["sample"].all() and built["course_demands"]["sample"].all()      # the sample survey, labelled
    row = g.set_index(["country_iso3", "topic"])
    # a course that exists in one country (the sample youth course in Jamaica) and is demanded by another
    assert row.loc[("GTM", "prevention.youth"), "exists_elsewhere_countries"] == ["JAM"]
    assert row.loc[("JAM", "police.investigation"), "exists_elsewhere_countries"] == ["CHL"]
    # Mexico reports its own situational-prevention course; no other country has one
    assert row.loc[("MEX", "prevention.situational"), "exists_in_country"] == ["Sample situational prevention course"]
    assert row.loc[("MEX", "prevention.situational"), "exists_elsewhere_countries"] == []
    summary = matching.gap_summary(g)
    assert set(summary["topic"]) == {"prevention.youth", "police.investigation", "prevention.situational",
                                     "participation.community"}


def _hand(reference: Path) -> dict:
    """The gap table recomputed from the files alone, written out rule by rule (DOMAIN.md 4.4 and matching.yaml)."""
    w = yaml.safe_load((reference / "survey" / "matching.yaml").read_text("utf-8"))
    W, P = w["weights"], w["parts"]
    pillar = {r["topic"]: r["pillar"] for r in csv.DictReader(open(reference / "courses" / "topics.csv", encoding="utf-8"))}
    offers = [json.loads(p.read_text("utf-8")) for p in sorted((reference / "courses" / "records").glob("*.json"))]
    rows = list(csv.DictReader(open(reference / "survey" / "sample_answers.csv", encoding="utf-8")))
    D = lambda s: date.fromisoformat(s) if s else None  # noqa: E731
    out: dict = {}
    for d in (r for r in rows if r["kind"] == "demand"):
        best_same = best_pillar = 0.0
        for o in offers:
            topic = 1.0 if d["topic"] in o["topics"] else P["topic_same_pillar"] if pillar[d["topic"]] in o["mispa_pillars"] else 0.0
            lang = 1.0 if d["language"] in o["languages"] else 0.0
            aud = 1.0 if d["audience"] in o["audience"] else 0.0
            mod = 1.0 if d["modality"] in ("any", o["modality"]) else P["modality_blended"] if "blended" in (d["modality"], o["modality"]) else 0.0
            if not o["start_date"] and not o["end_date"]:
                per = P["period_undated"]
            else:
                per = 1.0 if D(o["start_date"]) <= D(d["period_end"]) and D(o["end_date"]) >= D(d["period_start"]) else 0.0
            ok = o["eligibility"]["countries"] is None or d["country_iso3"] in o["eligibility"]["countries"]
            if (d["language_mandatory"] == "true" and not lang) or not ok:
                continue
            s = (W["topic"] * topic + W["language"] * lang + W["audience"] * aud + W["modality"] * mod
                 + W["period"] * per + W["eligibility"] * 1.0)
            if topic == 1.0:
                best_same = max(best_same, s)
            if topic > 0:
                best_pillar = max(best_pillar, s)
        key = (d["country_iso3"], d["topic"])
        prev = out.get(key, {"demands": 0, "people": 0, "max_priority": 0, "same": 0.0, "pillar": 0.0})
        out[key] = {"demands": prev["demands"] + 1, "people": prev["people"] + int(d["people"] or 0),
                    "max_priority": max(prev["max_priority"], int(d["priority"])),
                    "same": max(prev["same"], best_same), "pillar": max(prev["pillar"], best_pillar)}
    th = w["coverage"]["threshold"]
    for v in out.values():
        v["status"] = "covered" if v["same"] >= th else "partly" if v["pillar"] >= th else "unmet"
    return out


def test_gap_numbers_recomputed_by_hand_from_the_inputs(built, cat_settings):
    hand = _hand(Path(cat_settings.reference_dir))
    g = built["course_gaps"]
    assert len(g) == len(hand) == 11
    for r in g.to_dict("records"):
        h = hand[(r["country_iso3"], r["topic"])]
        assert (r["demands"], r["people"], r["max_priority"], r["status"]) == (
            h["demands"], h["people"], h["max_priority"], h["status"]), (r, h)
        assert r["best_same_topic_score"] == pytest.approx(h["same"]), r
    # totals of the sample survey: 11 demands for 300 people, 4 country-topics not covered (127 people)
    assert g["demands"].sum() == 11 and g["people"].sum() == 300
    assert g.loc[g["status"] != "covered", "people"].sum() == 40 + 15 + 60 + 12


def test_one_demand_scored_by_hand(built):
    """S-GTM-1: Guatemala, youth violence prevention, municipal staff, onsite, Spanish (mandatory), March-June 2027.
    Weights: topic .40, language .20, audience .15, modality .10, period .10, eligibility .05."""
    m = built["course_matches"]
    d = m[m["response_id"] == "S-GTM-1"].set_index("course_id")
    assert len(d) == 14                                        # every offer is scored
    # Brazil's sample course on gender-based violence: same pillar (prevention) 0.5, Spanish among pt/es 1,
    # municipal staff among its audiences 1, online vs onsite 0, 1 Feb-26 Mar 2027 overlaps March 1, open to all 1
    bra = d.loc["sample-bra-gender-violence"]
    assert [bra[f"{p}_part"] for p in matching.PARTS] == [0.5, 1.0, 1.0, 0.0, 1.0, 1.0]
    assert bra["score"] == pytest.approx(0.40 * 0.5 + 0.20 + 0.15 + 0.0 + 0.10 + 0.05) == pytest.approx(0.70)
    assert bra["rank"] == 1
    # Jamaica's youth course has the very topic but only in English: Spanish is mandatory -> excluded, score 0
    jam = d.loc["sample-jam-youth-prevention"]
    assert jam["topic_part"] == 1.0 and jam["language_part"] == 0.0 and jam["excluded_by"] == "language"
    assert jam["score"] == 0.0 and pd.isna(jam["rank"])          # excluded offers are not ranked
    # REDPPOL in Brazil: police pillar 0, Spanish 1, police not municipal 0, onsite 1, no dates 0.5, open 1
    red = d.loc["redppol-police-course-bra"]
    assert [red[f"{p}_part"] for p in matching.PARTS] == [0.0, 1.0, 0.0, 1.0, 0.5, 1.0]
    assert red["score"] == pytest.approx(0.20 + 0.10 + 0.10 * 0.5 + 0.05) == pytest.approx(0.40)
    # the published weights are the file's
    assert bra["topic_weight"] == 0.40 and bra["eligibility_weight"] == 0.05


def test_weights_are_data(ref_copy):
    p = Path(ref_copy.reference_dir) / "survey" / "matching.yaml"
    doc = yaml.safe_load(p.read_text("utf-8"))
    doc["weights"].update(topic=0.6, language=0.0)
    p.write_text(yaml.safe_dump(doc), encoding="utf-8")
    t = matching.build(ref_copy, catalogue.load_courses(ref_copy), survey.answers(ref_copy))
    m = t["course_matches"].set_index(["response_id", "course_id"])
    # same parts as above, new weights: 0.6*0.5 + 0*1 + 0.15 + 0 + 0.10 + 0.05
    assert m.loc[("S-GTM-1", "sample-bra-gender-violence"), "score"] == pytest.approx(0.60)


def test_chart_has_title_axes_and_source_note(built, cat_settings):
    svg = matching.chart_svg(cat_settings, built["course_gaps"], "en")
    assert svg.lstrip().startswith("<svg") and "Training demand no offer covers" in svg
    assert "Demands (number of answers)" in svg and "Topic" in svg and "Sample answers" in svg
    assert "Youth violence prevention" in svg and "Community participation in prevention" in svg
    es = matching.chart_svg(cat_settings, built["course_gaps"], "es")
    assert "Demanda de capacitación sin oferta" in es and "Prevención de la violencia juvenil" in es
