"""The commands: ``hemistat courses list``, ``survey import``, ``gaps`` (table, SVG chart, CSV) and ``fund report``;
a refused file exits 1 with its messages on stderr and records nothing."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pipelines.cli import app

REPO = Path(__file__).resolve().parents[2]


def test_courses_list(cat_settings):
    r = CliRunner().invoke(app, ["courses", "list", "--country", "HND"])
    assert r.exit_code == 0, r.output
    assert "redppol-police-course-hnd-2017" in r.output and "1 offer(s)" in r.output
    r = CliRunner().invoke(app, ["courses", "list", "--no-sample", "--lang", "es"])
    assert r.exit_code == 0 and "8 offer(s)" in r.output and "[sample]" not in r.output
    assert "Perspectiva de género en las estadísticas de delincuencia y justicia penal" in r.output


def test_gaps_prints_and_writes_chart_and_table(cat_settings, tmp_path):
    svg, csv = tmp_path / "gaps.svg", tmp_path / "gaps.csv"
    r = CliRunner().invoke(app, ["gaps", "--svg", str(svg), "--csv", str(csv), "--matches", str(tmp_path / "m.csv")])
    assert r.exit_code == 0, r.output
    assert ("11 country-topic demand(s), 4 not covered: GTM prevention.youth; JAM police.investigation; "
            "MEX prevention.situational; TTO participation.community") in r.output
    assert "sample answers" in r.output
    assert svg.read_text("utf-8").lstrip().startswith("<svg") and csv.read_text("utf-8").startswith("country_iso3,")
    assert len((tmp_path / "m.csv").read_text("utf-8").splitlines()) == 1 + 11 * 14


def test_survey_import_and_refusal(cat_settings, tmp_path):
    good = tmp_path / "a.csv"
    good.write_text("kind,country_iso3,institution,topic,audience,modality,language\n"
                    "demand,JAM,Ministry of National Security,police.cybercrime,police,online,en\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["survey", "import", str(good), "--by", "jam.office"])
    assert r.exit_code == 0, r.output
    assert "a.csv: 1 answer(s) recorded (1 demand(s), 0 existing course(s); countries JAM)" in r.output
    bad = tmp_path / "b.csv"
    bad.write_text("kind,country_iso3,institution,topic,audience,modality,language\n"
                   "demand,JAM,,police.cybercrime,police,by post,en\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["survey", "import", str(bad), "--lang", "fr"])
    assert r.exit_code == 1
    assert "b.csv ligne 2 : le champ institution est obligatoire et il est vide [SUR1]" in r.output
    assert "b.csv ligne 2 : modality = by post n'est pas un code connu" in r.output
    assert len(list((Path(cat_settings.data_dir) / "knowledge" / "survey").glob("*.csv"))) == 1


def test_fund_report_and_a_refused_ledger(cat_settings, tmp_path):
    r = CliRunner().invoke(app, ["fund", "report"])
    assert r.exit_code == 0, r.output
    assert "[real]" in r.output and "2015  50,000.00  0.00  0.00  50,000.00" in r.output
    assert "2016  0.00  35,000.00  30,500.00  19,500.00" in r.output
    src = (REPO / "reference" / "fund" / "contributions.csv").read_text("utf-8")
    bad = tmp_path / "c.csv"
    bad.write_text(src + "VF-2016-002,Donor,other,CAN,2016-02-01,-5,USD,1,-5,general,x,Letter,,false,,\n",
                   encoding="utf-8")
    r = CliRunner().invoke(app, ["fund", "report", "--contributions", str(bad), "--lang", "es"])
    assert r.exit_code == 1 and "fila 3: amount = -5 no es una contribución" in r.output


def test_template_round_trip(cat_settings, tmp_path):
    """The template's header is what the import reads: fill one row and import it."""
    import openpyxl

    out = tmp_path / "plantilla.xlsx"
    r = CliRunner().invoke(app, ["survey", "template", str(out), "--lang", "es"])
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(out)
    header = [c.value for c in wb["answers"][1]]
    assert header[:3] == ["kind", "country_iso3", "institution"]
    q = {row[0].value: row for row in wb["questions"].iter_rows(min_row=2)}
    assert q["topic"][2].value == "yes" and "police.community" in q["topic"][3].value
    assert q["priority"][4].value == "Prioridad (1 baja – 5 alta)"
    values = {"kind": "demand", "country_iso3": "CHL", "institution": "Subsecretaría de Prevención del Delito",
              "topic": "prevention.youth", "audience": "municipal_staff", "modality": "any", "language": "es"}
    wb["answers"].append([values.get(h, "") for h in header])
    wb.save(out)
    r = CliRunner().invoke(app, ["survey", "import", str(out)])
    assert r.exit_code == 0 and "1 answer(s) recorded" in r.output, r.output
