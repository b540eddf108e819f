"""Importing demand-survey answers (CSV and XLSX): a good file is recorded under a name made from its content and
replaces the sample answers in what is published; a bad file is refused whole, every problem named by file, row and
field in the reader's language, and nothing is recorded."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from pipelines.knowledge import catalogue, matching, survey
from pipelines.knowledge.record_rules import RecordError

HEADER = ("kind,country_iso3,institution,respondent_role,topic,audience,people,priority,modality,language,"
          "language_mandatory,period_start,period_end,budget_available,existing_course_title,need")
GOOD = [
    "demand,PER,Ministerio del Interior,analyst,police.cybercrime,police,12,5,online,es,sí,2027-01-01,2027-06-30,no,,Ciberdelito",
    "existing_course,PER,Escuela de Policía,director,police.community,police,,,onsite,es,,,,,Curso de policía comunitaria,",
]


def _csv(tmp: Path, lines: list[str], name: str = "respuestas.csv") -> Path:
    p = tmp / name
    p.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return p


def _stored(settings) -> list[str]:
    d = survey.answers_dir(settings)
    return sorted(p.name for p in d.glob("*")) if d.is_dir() else []


def test_good_csv_is_recorded_and_replaces_the_sample(cat_settings, tmp_path):
    res = survey.import_file(cat_settings, _csv(tmp_path, GOOD), entered_by="per.office")
    assert (res["answers"], res["demands"], res["existing_courses"], res["countries"]) == (2, 1, 1, ["PER"])
    assert _stored(cat_settings) == [res["stored_as"]] and res["stored_as"].startswith("import__")
    assert "respuestas" not in res["stored_as"]                       # a user's file name never becomes a path
    ans = survey.answers(cat_settings)
    assert len(ans) == 2 and not ans["sample"].any()                  # real answers: the sample is no longer published
    assert list(ans["language_mandatory"]) == [True, None] and ans["entered_by"].iloc[0] == "per.office"
    t = matching.build(cat_settings, catalogue.load_courses(cat_settings), ans)
    g = t["course_gaps"].set_index(["country_iso3", "topic"])
    # the one cybersecurity offer is for Central America and the Dominican Republic: Peru may not take it
    m = t["course_matches"].set_index(["response_id", "course_id"])
    rid = ans.loc[ans["kind"] == "demand", "response_id"].iloc[0]
    assert m.loc[(rid, "infosegura-trainaction-cybersecurity"), "excluded_by"] == "eligibility"
    assert g.loc[("PER", "police.cybercrime"), "status"] == "partly"        # only police-pillar offers remain
    # the same file twice is refused
    with pytest.raises(RecordError, match="already been imported"):
        survey.import_file(cat_settings, _csv(tmp_path, GOOD))


def test_bad_file_is_refused_whole_with_row_and_field(cat_settings, tmp_path):
    bad = GOOD + [
        "demand,PER,,x,police.telepathy,police,12,7,online,es,maybe,2027-13-01,,no,,",
        "demand,XYZ,Inst,x,police.community,police,3,2,online,es,no,2027-05-01,2027-04-01,no,,",
    ]
    with pytest.raises(RecordError) as e:
        survey.import_file(cat_settings, _csv(tmp_path, bad))
    text = "\n".join(e.value.messages)
    # parsing problems first (row 4: 'maybe' is not yes/no, the date does not exist)
    assert "respuestas.csv row 4: field language_mandatory = maybe is not yes/no" in text
    assert "respuestas.csv row 4: field period_start = 2027-13-01 is not a date (YYYY-MM-DD)" in text
    assert _stored(cat_settings) == []
    fixed = GOOD + ["demand,PER,,x,police.telepathy,police,12,7,online,es,no,2027-01-01,,no,,",
                    "demand,XYZ,Inst,x,police.community,police,3,2,online,es,no,2027-05-01,2027-04-01,no,,"]
    with pytest.raises(RecordError) as e:
        survey.import_file(cat_settings, _csv(tmp_path, fixed, "r2.csv"), "es")
    text = "\n".join(e.value.messages)
    assert "r2.csv fila 4: el campo institution es obligatorio y está vacío [SUR1]" in text
    assert "r2.csv fila 4: topic = police.telepathy no es un código conocido" in text and "[SUR3]" in text
    assert "r2.csv fila 4: priority = 7 está fuera de rango (>= 1 <= 5) [SUR5]" in text
    assert "r2.csv fila 5: country_iso3 = XYZ no es un código conocido" in text
    assert "r2.csv fila 5: period_end 2027-04-01 es anterior al inicio del período 2027-05-01 [SUR4]" in text
    assert _stored(cat_settings) == []                                # nothing recorded
    assert survey.answers(cat_settings)["sample"].all()               # the sample is still what is published


def test_xlsx_and_the_country_restriction(cat_settings, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.split(","))
    for line in GOOD:
        ws.append(line.split(","))
    p = tmp_path / "answers.xlsx"
    wb.save(p)
    with pytest.raises(RecordError) as e:
        survey.import_file(cat_settings, p, "fr", country="GTM")
    assert "answers.xlsx ligne 2 : la réponse concerne PER ; vous ne pouvez répondre que pour GTM" in e.value.messages
    res = survey.import_file(cat_settings, p, country="PER")
    assert res["answers"] == 2


def test_unknown_column_and_duplicate_id(cat_settings, tmp_path):
    p = tmp_path / "x.csv"
    p.write_text(HEADER + ",colour\n" + GOOD[0] + ",blue\n", encoding="utf-8")
    with pytest.raises(RecordError, match="column colour is not a question of the survey"):
        survey.import_file(cat_settings, p)
    p.write_text("response_id," + HEADER + "\nR1," + GOOD[0] + "\nR1," + GOOD[0].replace("12,5", "13,5") + "\n",
                 encoding="utf-8")
    with pytest.raises(RecordError) as e:
        survey.import_file(cat_settings, p)
    assert any("x.csv row 3: response_id R1 is used by another answer too (row 2) [SUR6]" in m for m in e.value.messages)


def test_formulas_binary_and_oversized_files_are_refused(cat_settings, tmp_path, monkeypatch):
    p = _csv(tmp_path, ['demand,PER,=HYPERLINK("http://x"),x,police.community,police,1,1,online,es,no,,,no,,'], "f.csv")
    with pytest.raises(RecordError) as e:
        survey.import_file(cat_settings, p)
    assert any(m.startswith("f.csv row 2: field institution = =HYPERLINK") and "spreadsheet formula" in m
               for m in e.value.messages), e.value.messages
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\xff\xfe\x00kind\x00\n\x00\x81")
    with pytest.raises(RecordError, match="cannot be read as UTF-8 CSV or as an XLSX workbook"):
        survey.import_file(cat_settings, junk)
    monkeypatch.setenv("HEMISTAT_MAX_FILE_MB", "0.0001")          # ~100 bytes: the national files' size limit
    with pytest.raises(RecordError, match="HEMISTAT_MAX_FILE_MB"):
        survey.import_file(cat_settings, _csv(tmp_path, GOOD, "big.csv"))
    assert _stored(cat_settings) == []
