"""hemistat export on a small synthetic warehouse of two releases (tests/publication/conftest.py), the current one
with a published.comparable view: every format carries the release id, the citations and the flags; SDMX is
read back by sdmx1 into the same values; the data package passes frictionless validate; the workbook opens with
openpyxl with its notes sheet and frozen headers; filters and earlier releases; one-line errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from pipelines.publication import sdmx_io
from pipelines.publication.exports import ExportError, export
from tests.publication.conftest import value

REPO = Path(__file__).resolve().parents[2]


def _rows(p: Path) -> list[dict]:
    with open(p, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_csv_carries_release_citations_flags_and_neutralises_formulas(warehouse, tmp_path):
    s, rel = warehouse
    files = export(s, "csv", tmp_path)
    assert sorted(f.name for f in files) == ["comparable.csv", "indicators.csv", "sources.csv"]
    ind = _rows(tmp_path / "indicators.csv")
    assert len(ind) == 3 * 8 * 3 * 4 + 8 * 3 * 4                      # national rows + ARG's subdivision 02
    assert {r["release_id"] for r in ind} == {rel["current"]}
    r = next(r for r in ind if r["country_iso3"] == "MEX" and r["year"] == "2019" and r["iccs_code"] == "0101"
             and r["sex"] == "F" and r["subdivision_code"] == "")
    assert float(r["value"]) == value("MEX", 2019, "0101", "F", "victims", 5.0)
    assert {x["obs_status"] for x in ind if x["year"] == "2022"} == {"P"}
    assert {x["subdivision_name"] for x in ind if x["subdivision_code"] == "02"} == {"'=cmd()"}   # not a formula
    comp = _rows(tmp_path / "comparable.csv")
    assert {x["comparability_flags"] for x in comp if x["year"] == "2022"} == {"partial_year"}
    src = {x["source_id"]: x for x in _rows(tmp_path / "sources.csv")}
    assert set(src) == {"ar_snic", "br_sinesp", "mx_sesnsp"}
    assert src["ar_snic"]["citation"].startswith("Dirección Nacional de Estadística Criminal")
    assert rel["current"] in src["ar_snic"]["citation"] and src["ar_snic"]["licence_status"] == "unverified"


def test_parquet_has_the_release_and_citations_in_its_footer(warehouse, tmp_path):
    s, rel = warehouse
    export(s, "parquet", tmp_path, country="BRA")
    t = pq.read_table(tmp_path / "indicators.parquet")
    assert set(t.column("country_iso3").to_pylist()) == {"BRA"} and t.num_rows == 8 * 3 * 4
    meta = pq.ParquetFile(tmp_path / "indicators.parquet").schema_arrow.metadata
    assert meta[b"hemistat_release_id"].decode() == rel["current"]
    assert json.loads(meta[b"hemistat_sources"])[0]["source_id"] == "br_sinesp"


def test_filters_country_iccs_subcodes_and_years(warehouse, tmp_path):
    s, _ = warehouse
    export(s, "csv", tmp_path, country=["ARG", "mex"], iccs="02", year_from=2017, year_to=2018)
    ind = _rows(tmp_path / "indicators.csv")
    assert {r["country_iso3"] for r in ind} == {"ARG", "MEX"}
    assert {r["iccs_code"] for r in ind} == {"02011"}                 # 02 includes its sub-code 02011
    assert {r["year"] for r in ind} == {"2017", "2018"}
    assert len(ind) == 2 * 4 + 2 * 4 + 2 * 4                        # ARG national + subdivision, MEX
    assert {r["country_iso3"] for r in _rows(tmp_path / "comparable.csv")} == {"ARG", "MEX"}


def test_an_earlier_release_exports_its_own_values(warehouse, tmp_path):
    s, rel = warehouse
    files = export(s, "csv", tmp_path, release=rel["first"], country="ARG", iccs="0101", year_from=2015,
                   year_to=2015)
    assert [f.name for f in files] == ["indicators.csv", "sources.csv"]  # that release had no comparable
    r = next(r for r in _rows(tmp_path / "indicators.csv") if r["sex"] == "_T" and r["measure"] == "victims"
             and r["subdivision_code"] == "")
    assert r["release_id"] == rel["first"] and float(r["value"]) == value("ARG", 2015, "0101", "_T", "victims", 0.0)


@pytest.mark.parametrize("kwargs, words", [
    (dict(fmt="pdf"), "unknown format 'pdf': use one of csv, parquet, xlsx"),
    (dict(release="20990101T000000-abcdef"), "unknown release '20990101T000000-abcdef'"),
    (dict(release="../../etc"), "unknown release '../../etc'"),
    (dict(country="XYZ"), "unknown country 'XYZ'"),
    (dict(iccs="99"), "unknown ICCS code '99'"),
    (dict(year_from=2020, year_to=2010), "--from 2020 is after --to 2010"),
])
def test_bad_requests_are_one_line_errors(warehouse, tmp_path, kwargs, words):
    s, _ = warehouse
    fmt = kwargs.pop("fmt", "csv")
    with pytest.raises(ExportError) as e:
        export(s, fmt, tmp_path / "out", **kwargs)
    assert words in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "out" / "indicators.csv").exists()


def test_command_line_prints_files_or_one_line_error(warehouse, tmp_path, monkeypatch):
    from pipelines.cli import app

    s, rel = warehouse
    monkeypatch.setenv("HEMISTAT_DATA_DIR", str(s.data_dir))
    r = CliRunner().invoke(app, ["export", "--format", "csv", "--out", str(tmp_path), "--country", "ARG",
                                 "--iccs", "0101", "--from", "2020", "--to", "2021"])
    assert r.exit_code == 0, r.output
    assert {x["year"] for x in _rows(tmp_path / "indicators.csv")} == {"2020", "2021"}
    r = CliRunner().invoke(app, ["export", "--format", "csv", "--out", str(tmp_path), "--release", "nope"])
    assert r.exit_code == 2 and "unknown release 'nope'" in r.output and "Traceback" not in r.output


def test_xlsx_has_a_sheet_per_table_a_notes_sheet_and_frozen_headers(warehouse, tmp_path):
    s, rel = warehouse
    [p] = export(s, "xlsx", tmp_path, country="MEX")
    wb = load_workbook(p)
    assert wb.sheetnames == ["indicators", "comparable", "notes"]
    assert all(wb[n].freeze_panes == "A2" for n in wb.sheetnames)
    ind = list(wb["indicators"].iter_rows(values_only=True))
    assert ind[0][:3] == ("release_id", "indicator_id", "country_iso3") and len(ind) - 1 == 8 * 3 * 4
    notes = list(wb["notes"].iter_rows(values_only=True))
    assert ("release", "release_id", rel["current"], "current release") in notes
    src = [n for n in notes if n[0] == "source"]
    assert [n[1] for n in src] == ["mx_sesnsp"] and "Secretariado Ejecutivo" in src[0][2]
    assert any(n[0] == "flag" and n[1] == "obs_status=P" for n in notes)
    assert any(n[0] == "definition" and n[1] == "comparable.comparability_flags" for n in notes)


def test_xlsx_rows_continue_on_further_sheets(warehouse, tmp_path, monkeypatch):
    from pipelines.publication import tabular

    s, _ = warehouse
    monkeypatch.setattr(tabular, "XLSX_SHEET_ROWS", 40)
    [p] = export(s, "xlsx", tmp_path, country="BRA", tables=["indicators"])
    wb = load_workbook(p, read_only=True)
    assert wb.sheetnames == ["indicators", "indicators_2", "indicators_3", "notes"]
    assert [len(list(ws.iter_rows())) - 1 for ws in wb.worksheets[:3]] == [40, 40, 16]   # 96 rows, each with the header


@pytest.mark.parametrize("fmt, suffix", [("sdmx-csv", ".sdmx.csv"), ("sdmx-ml", ".sdmx.xml")])
def test_sdmx_is_read_back_by_sdmx1_into_the_same_values(warehouse, tmp_path, fmt, suffix):
    s, rel = warehouse
    files = export(s, fmt, tmp_path, country=["ARG", "MEX"], year_from=2021)
    assert sorted(f.name for f in files) == sorted([f"comparable{suffix}", f"indicators{suffix}",
                                                    sdmx_io.STRUCTURE_FILE, "sources.csv"])
    st = sdmx_io.load_structures(s.reference_dir)
    for table in ("indicators", "comparable"):
        back = sdmx_io.read_back(tmp_path / f"{table}{suffix}", st)
        exp = _rows(_csv_of(s, tmp_path, table))
        n_rates = sum(1 for r in exp if r["rate_per_100k"])
        assert len(back) == len(exp) + n_rates                       # a count and a rate per row
        assert set(back["RELEASE_ID"]) == {rel["current"]}
        got = {(b.REF_AREA, b.SUBDIVISION, b.ICCS, b.MEASURE, b.SEX, b.TIME_PERIOD, b.UNIT_MEASURE): b
               for b in back.itertuples()}
        for r in exp:
            k = (r["country_iso3"], r["subdivision_code"] or "_T", r["iccs_code"], r["measure"], r["sex"], r["year"])
            b = got[k + ("NUMBER",)]
            assert b.OBS_VALUE == pytest.approx(float(r["value"]))
            assert b.OBS_STATUS == r["obs_status"] and b.SOURCE == r["source_id"]
            assert got[k + ("PER_100000_POP",)].OBS_VALUE == pytest.approx(float(r["rate_per_100k"]))
            if table == "comparable":
                flags = getattr(b, "COMPARABILITY_FLAGS", None)
                assert (flags if isinstance(flags, str) else "") == r["comparability_flags"]
                assert float(b.QUALITY_SCORE) == float(r["quality_score"])


def _csv_of(s, tmp_path: Path, table: str) -> Path:
    out = tmp_path / "plain"
    if not (out / f"{table}.csv").exists():
        export(s, "csv", out, country=["ARG", "MEX"], year_from=2021)
    return out / f"{table}.csv"


def test_sdmx_structures_in_reference_are_generated_and_up_to_date():
    """reference/sdmx/ holds what `python -m pipelines.publication.sdmx_io` writes from the reference tables:
    the ICCS and OAS country code lists are complete, and the file is current (its Prepared time aside)."""
    import re

    import pandas as pd

    ref = REPO / "reference"
    st = sdmx_io.load_structures(ref)
    iccs = pd.read_csv(ref / "iccs" / "iccs.csv", dtype=str)
    countries = pd.read_csv(ref / "countries" / "oas_members.csv", dtype=str)
    assert {c.id for c in st.codelist["CL_ICCS"]} == set(iccs["code"])
    assert {c.id for c in st.codelist["CL_AREA"]} == set(countries["iso3"]) and len(countries) == 35
    assert str(st.codelist["CL_ICCS"]["0101"].name["en"]) == "Intentional homicide"
    from pipelines.contracts.tables import MEASURES, OBS_STATUS, SEXES

    assert {c.id for c in st.codelist["CL_OBS_STATUS"]} == set(OBS_STATUS)
    assert {c.id for c in st.codelist["CL_SEX"]} == set(SEXES)
    assert {c.id for c in st.codelist["CL_MEASURE"]} == set(MEASURES)
    strip = lambda b: re.sub(rb"<mes:Prepared>[^<]*</mes:Prepared>", b"", b)  # noqa: E731
    assert strip(sdmx_io.structures_xml(ref)) == strip((ref / "sdmx" / sdmx_io.STRUCTURE_FILE).read_bytes()), \
        "reference/sdmx is out of date: python -m pipelines.publication.sdmx_io"


def test_datapackage_passes_frictionless_validate(warehouse, tmp_path):
    s, rel = warehouse
    files = export(s, "datapackage", tmp_path, iccs="0101")
    dp = json.loads((tmp_path / "datapackage.json").read_text("utf-8"))
    assert files[0].name == "datapackage.json"
    assert dp["version"] == rel["current"] and dp["hemistat"]["release_id"] == rel["current"]
    assert [r["name"] for r in dp["resources"]] == ["indicators", "comparable", "sources"]
    ind = dp["resources"][0]["schema"]
    assert ind["primaryKey"] == ["row_key"] and {f["name"]: f["type"] for f in ind["fields"]}["value"] == "number"
    assert all(f.get("description") for f in ind["fields"])
    assert any("Secretariado Ejecutivo" in x["title"] for x in dp["sources"])
    r = subprocess.run([sys.executable, "-m", "frictionless", "validate", str(tmp_path / "datapackage.json")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    # and it fails on a broken copy (a duplicate key), so the check means something
    lines = (tmp_path / "comparable.csv").read_text("utf-8").splitlines()
    (tmp_path / "comparable.csv").write_text("\n".join(lines + [lines[1]]) + "\n", "utf-8")
    from frictionless import validate

    assert not validate(str(tmp_path / "datapackage.json")).valid


def test_a_value_missing_from_a_code_list_is_named():
    """A warehouse value the DSD's code list lacks is an error naming the value, the dimension and the code
    list (sdmx1's make_key would pass it through unchecked)."""
    st = sdmx_io.load_structures(REPO / "reference")
    b = sdmx_io._Builder(st.structure[sdmx_io.DSD_ID], st.dataflow["DF_INDICATORS"])
    row = {"FREQ": "A", "REF_AREA": "ARG", "SUBDIVISION": "_T", "MEASURE": "victims", "ICCS": "0101", "SEX": "_T",
           "AGE": "Y99", "RELATIONSHIP": "_T", "SOURCE": "ar_snic", "UNIT_MEASURE": "NUMBER", "TIME_PERIOD": "2020",
           "OBS_VALUE": 1.0, "OBS_STATUS": "A", "RELEASE_ID": "r"}
    with pytest.raises(sdmx_io.SdmxCodeError, match="value 'Y99' of AGE is not in code list CL_AGE"):
        b.dataset([row])
    assert len(b.dataset([{**row, "AGE": "_T"}]).obs) == 1


@pytest.mark.parametrize("fmt", ["csv", "parquet", "datapackage"])
def test_exports_beside_an_open_locked_reader_of_the_warehouse(warehouse, tmp_path, fmt):
    """The portal keeps a locked-down reader of the warehouse open while a reader asks for a download. DuckDB shares
    one instance (and its locked configuration) among a process's connections to the file, so an exporter that let
    DuckDB write into its own output folder failed here ("file system operations are disabled by configuration",
    CI at 7694871). The export files are written by a private in-memory DuckDB instead; the reader stays locked."""
    import duckdb

    from pipelines.storage.readonly import connect_readonly

    s, rel = warehouse
    reader = connect_readonly(s.duckdb_path, s.published_dir)
    try:
        files = export(s, fmt, tmp_path / "out", country="MEX")
        assert all(f.exists() and f.stat().st_size > 0 for f in files)
        name = "indicators.parquet" if fmt == "parquet" else "indicators.csv"
        n = duckdb.connect().execute("select count(*) from " + ("read_parquet(?)" if fmt == "parquet" else
                                     "read_csv(?, header = true)"), [str(tmp_path / "out" / name)]).fetchone()[0]
        assert n == reader.execute("select count(*) from published.indicators where country_iso3 = 'MEX'"
                                   ).fetchone()[0] > 0
        with pytest.raises(duckdb.Error, match="disabled by configuration|Permission"):   # still locked
            reader.execute("copy (select 1) to ?", [str(tmp_path / "leak.csv")])
        assert not (tmp_path / "leak.csv").exists()
    finally:
        reader.close()
