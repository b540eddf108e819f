"""Tests for the committed reference tables in reference/ (built by ``python -m tools.refbuild``).

Expected population numbers below were read by hand from the raw files with grep, e.g.
``grep -E 'MEX,2020' shared/data/real/wb_population/population.csv`` - not computed by the build code.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

from pipelines.contracts.table_schema import (
    TABLE_SCHEMA_METASCHEMA,
    load_schema,
    validate_csv,
    validate_descriptor,
)

REPO = Path(__file__).resolve().parents[2]
REF = REPO / "reference"
SHARED = Path(os.environ.get("HEMISTAT_SHARED_DIR") or REPO.parent / "shared" / "data" / "real")

TABLES = {
    "iccs/iccs.csv": "iccs/iccs.schema.json",
    "iccs/iccs_notes.csv": "iccs/iccs_notes.schema.json",
    "countries/oas_members.csv": "countries/oas_members.schema.json",
    "population/national.csv": "population/national.schema.json",
    "population/subnational.csv": "population/subnational.schema.json",
}
RESOURCES = {"iccs": REF / "iccs/iccs.csv", "oas_members": REF / "countries/oas_members.csv"}
PROVENANCE = ["iccs/PROVENANCE.md", "countries/PROVENANCE.md", "population/PROVENANCE.md"]


def read(rel: str) -> list[dict[str, str]]:
    with open(REF / rel, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def iccs() -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in read("iccs/iccs.csv")}


@pytest.fixture(scope="module")
def national() -> dict[tuple[str, int, str], int]:
    return {(r["country_iso3"], int(r["year"]), r["source_id"]): int(r["population"]) for r in read("population/national.csv")}


@pytest.fixture(scope="module")
def subnational() -> list[dict[str, str]]:
    return read("population/subnational.csv")


def sub_value(rows, iso3, code, year, source):
    hits = [int(r["population"]) for r in rows if (r["country_iso3"], r["subdivision_code"], r["year"], r["source_id"])
            == (iso3, code, str(year), source)]
    assert len(hits) == 1, (iso3, code, year, source, hits)
    return hits[0]


# ------------------------------------------------------------------------------------------------
# Schemas and schema validation
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("csv_rel,schema_rel", sorted(TABLES.items()))
def test_schema_descriptor_is_valid_table_schema(csv_rel, schema_rel):
    schema = load_schema(REF / schema_rel)
    jsonschema.validate(schema, TABLE_SCHEMA_METASCHEMA)
    assert validate_descriptor(schema) == []
    assert schema["primaryKey"], "every table needs a primary key"


@pytest.mark.parametrize("csv_rel,schema_rel", sorted(TABLES.items()))
def test_csv_validates_against_its_schema(csv_rel, schema_rel):
    errors = validate_csv(REF / csv_rel, load_schema(REF / schema_rel), RESOURCES)
    assert errors == []


def test_metaschema_rejects_broken_descriptors():
    good = load_schema(REF / "countries/oas_members.schema.json")
    bad_type = json.loads(json.dumps(good))
    bad_type["fields"][0]["type"] = "strnig"
    assert validate_descriptor(bad_type)
    typo = json.loads(json.dumps(good))
    typo["fields"][0]["constraints"]["requird"] = True
    assert validate_descriptor(typo)
    bad_pk = json.loads(json.dumps(good))
    bad_pk["primaryKey"] = ["nope"]
    assert validate_descriptor(bad_pk)


def test_validator_catches_bad_rows(tmp_path):
    schema = load_schema(REF / "iccs/iccs.schema.json")
    src = (REF / "iccs/iccs.csv").read_text(encoding="utf-8")
    cases = {
        "lost leading zero": src.replace("\n0101,2,01,", "\n101,2,01,", 1),
        "bad boolean": src.replace("Intentional homicide,Homicidio intencional,false", "Intentional homicide,Homicidio intencional,no", 1),
        "duplicate key": src + src.splitlines()[2] + "\n",
        "orphan parent": src.replace("\n01031,3,0103,", "\n01031,3,0199,", 1),
        "empty required": src.replace(",Homicidio intencional,", ",,", 1),
        "CRLF": src.replace("\n", "\r\n"),
    }
    for name, text in cases.items():
        assert text != src, name
        p = tmp_path / "iccs.csv"
        p.write_bytes(text.encode("utf-8"))
        assert validate_csv(p, schema, {}), f"validator missed: {name}"


def _national_copy(tmp_path, edit) -> Path:
    """A copy of population/national.csv with the lines edited by ``edit(lines)``."""
    lines = (REF / "population/national.csv").read_text(encoding="utf-8").splitlines()
    edit(lines)
    p = tmp_path / "national.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_foreign_key_violation_names_file_row_and_column(tmp_path):
    def edit(lines):
        lines[4] = "ZZZ" + lines[4][3:]   # row 5 of the file: a country that is not an OAS member
    p = _national_copy(tmp_path, edit)
    errors = validate_csv(p, load_schema(REF / "population/national.schema.json"), RESOURCES)
    assert errors == ["national.csv, row 5, column country_iso3: 'ZZZ' is not in oas_members.iso3 (foreign key)"]


def test_crosswalk_code_outside_iccs_is_a_foreign_key_violation(tmp_path):
    src = (REF / "crosswalks/us_fbi.csv").read_text(encoding="utf-8").splitlines()
    cells = src[2].split(",")
    assert cells[2] == "0101"
    cells[2] = "0199"   # matches the ICCS code pattern but is no ICCS code
    src[2] = ",".join(cells)
    p = tmp_path / "us_fbi.csv"
    p.write_text("\n".join(src) + "\n", encoding="utf-8")
    errors = validate_csv(p, load_schema(REF / "crosswalks/crosswalk.schema.json"), RESOURCES)
    assert errors == ["us_fbi.csv, row 3, column iccs_code: '0199' is not in iccs.code (foreign key)"]


def test_too_long_code_names_file_row_and_column(tmp_path):
    def edit(lines):
        lines[1] = "ARGS" + lines[1][3:]
    p = _national_copy(tmp_path, edit)
    errors = validate_csv(p, load_schema(REF / "population/national.schema.json"), RESOURCES)
    assert "national.csv, row 2, column country_iso3: 'ARGS' is longer than maxLength 3 (4 characters)" in errors
    assert all(e.startswith("national.csv, row 2, column country_iso3: ") for e in errors), errors


def test_duplicate_primary_key_names_file_row_and_columns(tmp_path):
    p = _national_copy(tmp_path, lambda lines: lines.append(lines[3]))
    n = len(p.read_text(encoding="utf-8").splitlines())
    errors = validate_csv(p, load_schema(REF / "population/national.schema.json"), RESOURCES)
    assert errors == [f"national.csv, row {n}, column country_iso3, year, source_id: "
                      "duplicate primary key (same values as row 4)"]


def test_self_referencing_foreign_key(tmp_path):
    src = (REF / "iccs/iccs.csv").read_text(encoding="utf-8")
    p = tmp_path / "iccs.csv"
    p.write_text(src.replace("\n01031,3,0103,", "\n01031,3,0199,", 1), encoding="utf-8")
    errors = validate_csv(p, load_schema(REF / "iccs/iccs.schema.json"), {}, label="iccs/iccs.csv")
    assert len(errors) == 1 and errors[0].startswith("iccs/iccs.csv, row ")
    assert errors[0].endswith(", column parent_code: '0199' is not in column code of this table (foreign key)")


def test_check_all_tables_validates_every_reference_csv_offline(monkeypatch):
    import socket
    import time

    from pipelines.contracts.table_schema import check_all_tables

    def no_network(*a, **k):
        raise AssertionError("the Table Schema validator tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    t0 = time.perf_counter()
    n = check_all_tables(REF)
    assert n == len(list(REF.rglob("*.csv"))) - len(list((REF / "population" / "sources").rglob("*.csv")))
    assert time.perf_counter() - t0 < 30


def test_check_all_tables_reports_every_problem(tmp_path):
    import shutil

    from pipelines.contracts.table_schema import SchemaMismatch, check_all_tables

    ref = tmp_path / "reference"
    for d in ("iccs", "countries", "crosswalks"):
        shutil.copytree(REF / d, ref / d)
    (ref / "countries" / "extra.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    xw = ref / "crosswalks" / "wb_wdi.csv"
    xw.write_text(xw.read_text(encoding="utf-8").replace(",0101,", ",0199,"), encoding="utf-8")
    with pytest.raises(SchemaMismatch) as exc:
        check_all_tables(ref)
    msg = str(exc.value)
    assert "crosswalks/wb_wdi.csv, row 2, column iccs_code: '0199' is not in iccs.code (foreign key)" in msg
    assert "CSV files without a schema: countries/extra.csv" in msg


# ------------------------------------------------------------------------------------------------
# ICCS
# ------------------------------------------------------------------------------------------------
WIDTH = {1: 2, 2: 4, 3: 5, 4: 6}


def test_iccs_counts(iccs):
    levels = Counter(int(r["level"]) for r in iccs.values())
    assert levels == {1: 11, 2: 63, 3: 148, 4: 98}  # 11 sections + 309 codes of the parse CSV
    assert len(iccs) == 320


def test_iccs_hierarchy_consistent(iccs):
    assert sorted(c for c, r in iccs.items() if r["level"] == "1") == [f"{i:02d}" for i in range(1, 12)]
    for code, r in iccs.items():
        level = int(r["level"])
        assert len(code) == WIDTH[level], code
        assert r["section"] == code[:2]
        if level == 1:
            assert r["parent_code"] == ""
        else:
            parent = iccs[r["parent_code"]]
            assert int(parent["level"]) == level - 1
            assert code.startswith(r["parent_code"])
    # the file is in hierarchical (depth-first) order
    assert list(iccs) == sorted(iccs)


def test_iccs_known_codes(iccs):
    assert iccs["0101"]["label_en"] == "Intentional homicide"
    assert iccs["0101"]["label_es"] == "Homicidio intencional"
    assert iccs["01"]["label_en"] == "Acts leading to death or intending to cause death"
    assert iccs["020221"]["label_en"] == "Kidnapping"
    assert iccs["020221"]["parent_code"] == "02022"
    assert iccs["050211"]["label_en"] == "Theft of a motorized land vehicle"
    assert iccs["0401"]["label_en"] == "Robbery"
    assert iccs["02051"]["label_en"] == "Extortion or blackmail"
    assert iccs["1001"]["section"] == "10" and iccs["10011"]["parent_code"] == "1001"
    assert iccs["100311"]["parent_code"] == "10031"
    # label wrapped over three lines in the PDF
    assert iccs["110131"]["label_en"] == (
        "Unlawfully killing, causing or intending to cause death or serious injury associated with armed conflict"
    )
    # Part Two numbering (not the 01042 / 0908 of the PDF's Part Three table)
    assert "01049" in iccs and "01042" not in iccs
    assert "0909" in iccs and "0908" not in iccs
    assert iccs["0909"]["label_es"] == "Otros actos contra la seguridad pública y la seguridad del Estado"


def test_iccs_every_code_has_english_label_from_pdf(iccs):
    for code, r in iccs.items():
        assert r["label_en"] and not r["label_en"].startswith("[NO ENGLISH"), code
        assert r["label_es"], code
        assert r["label_en"] == " ".join(r["label_en"].split()), code


def test_iccs_spanish_section_labels_have_accents(iccs):
    # read by hand from the 'Nombre agrupador (N1)' column of the Chile INE correspondence table
    assert iccs["02"]["label_es"] == "Actos que causan daños o que tienen la intención de causar daños a las personas"
    assert iccs["04"]["label_es"] == "Actos contra la propiedad que entrañan violencia o amenaza de violencia contra las personas"
    assert iccs["07"]["label_es"] == "Actos que conllevan fraude, engaño o corrupción"


def test_iccs_residual_flag(iccs):
    residual = {c for c, r in iccs.items() if r["is_residual"] == "true"}
    assert {"0109", "02019", "0219", "01049", "0909", "1109", "020729"} <= residual
    assert "0209" not in residual  # 'Defamation or insult' ends in 9 but is a regular category
    assert not any(iccs[c]["level"] == "1" for c in residual)
    assert all(c.endswith("9") for c in residual)
    per_parent = Counter(iccs[c]["parent_code"] for c in residual)
    assert max(per_parent.values()) == 1
    # the label of a residual code starts with 'Other' (one documented exception), and vice versa
    # (section 11 'Other criminal acts not elsewhere classified' is a level-1 section, never residual)
    for code, r in iccs.items():
        if code == "020729" or r["level"] == "1":
            continue
        assert r["label_en"].startswith("Other") == (code in residual), code
        assert r["label_es"].startswith(("Otro", "Otra")) == (code in residual), code


def test_iccs_notes(iccs):
    notes = {r["code"]: r for r in read("iccs/iccs_notes.csv")}
    assert len(notes) == 309
    assert set(notes) == {c for c, r in iccs.items() if r["level"] != "1"}
    assert notes["0101"]["description_es"].startswith("Muerte ilícita causada a una persona")
    assert "feminicidio" in notes["0101"]["inclusions_es"]
    assert "(0102)" in notes["0101"]["exclusions_es"]


# ------------------------------------------------------------------------------------------------
# Countries
# ------------------------------------------------------------------------------------------------
def test_oas_members():
    rows = read("countries/oas_members.csv")
    assert len(rows) == 35
    for col in ("iso3", "iso2", "m49", "name_en", "name_es"):
        assert len({r[col] for r in rows}) == 35, col
    by = {r["iso3"]: r for r in rows}
    assert by["ARG"]["m49"] == "032" and by["ARG"]["iso2"] == "AR"
    assert by["ATG"]["m49"] == "028"
    assert by["USA"]["m49"] == "840" and by["USA"]["subregion"] == "North America"
    assert by["MEX"]["name_es"] == "México"
    assert by["BRA"]["name_pt"] == "Brasil"
    assert Counter(r["subregion"] for r in rows) == {
        "Caribbean": 13, "Central America": 8, "South America": 12, "North America": 2,
    }
    assert all(re.fullmatch(r"[0-9]{3}", r["m49"]) for r in rows)
    assert (by["CHL"]["iso2"], by["SLV"]["iso2"], by["KNA"]["iso2"], by["VCT"]["iso2"]) == ("CL", "SV", "KN", "VC")


# ------------------------------------------------------------------------------------------------
# Population (numbers read by hand from the raw files)
# ------------------------------------------------------------------------------------------------
def test_world_bank_national(national):
    # grep -E 'MEX,2020|USA,2024|BRA,2010|KNA,(1960|2024)' wb_population/population.csv
    assert national[("MEX", 2020, "wb_sp_pop_totl")] == 126799054
    assert national[("USA", 2024, "wb_sp_pop_totl")] == 340110988
    assert national[("BRA", 2010, "wb_sp_pop_totl")] == 193701929
    assert national[("KNA", 1960, "wb_sp_pop_totl")] == 55810
    assert national[("KNA", 2024, "wb_sp_pop_totl")] == 46843
    wb = [k for k in national if k[2] == "wb_sp_pop_totl"]
    assert len(wb) == 35 * 65  # 35 members x 1960-2024
    iso3 = {r["iso3"] for r in read("countries/oas_members.csv")}
    assert {k[0] for k in national} == iso3  # no aggregates ('World', 'Latin America & Caribbean'...)


def test_mexico_conapo(national, subnational):
    # grep -E '^(Aguascalientes|Zacatecas|Estados Unidos Mexicanos),' mx_sesnsp/poblacion_anual.csv
    assert sub_value(subnational, "MEX", "01", 2015, "mx_conapo") == 1344649  # Aguascalientes
    assert sub_value(subnational, "MEX", "01", 1990, "mx_conapo") == 750856
    assert sub_value(subnational, "MEX", "32", 1990, "mx_conapo") == 1329409  # Zacatecas
    assert sub_value(subnational, "MEX", "32", 2030, "mx_conapo") == 1774779
    assert national[("MEX", 2020, "mx_conapo")] == 128209170
    assert national[("MEX", 1990, "mx_conapo")] == 84502988
    assert national[("MEX", 2030, "mx_conapo")] == 138033990
    mx = [r for r in subnational if r["country_iso3"] == "MEX"]
    assert len(mx) == 32 * 41
    assert {r["year"] for r in mx} == {str(y) for y in range(1990, 2031)}
    names = {r["subdivision_code"]: r["subdivision_name"] for r in mx}
    assert sorted(names) == [f"{i:02d}" for i in range(1, 33)]
    # INEGI codes, from the (Clave_Ent, Entidad) pairs of estatal.csv
    assert names["09"] == "Ciudad de México" and names["15"] == "México" and names["30"] == "Veracruz de Ignacio de la Llave"
    assert "Estados Unidos Mexicanos" not in names.values()
    # states add up to the national row
    tot = defaultdict(int)
    for r in mx:
        tot[int(r["year"])] += int(r["population"])
    assert all(tot[y] == national[("MEX", y, "mx_conapo")] for y in range(1990, 2031))
    assert {r["source_note"].endswith("(projection)") for r in mx if int(r["year"]) >= 2020} == {True}


def test_argentina_snic_implied(national, subnational):
    # hand-read rows (grep), population = cantidad_hechos / tasa_hechos * 100000
    # snic-pais.csv  '2015;1;Homicidios dolosos;2761;...;6,4012847;...'
    assert abs(national[("ARG", 2015, "ar_snic_implied")] - 2761 / 6.4012847 * 1e5) <= 3
    # snic-pais.csv  '2022;1;Homicidios dolosos;1890;...;4,0878272;...'
    assert abs(national[("ARG", 2022, "ar_snic_implied")] - 1890 / 4.0878272 * 1e5) <= 3
    # suicides (code 31) use another denominator and must not drive the result:
    # '2022;31;Suicidios (consumados);3955;...;9,2947178' implies 42.55 M, far from the 46.23 M used for other offences
    assert abs(national[("ARG", 2022, "ar_snic_implied")] - 3955 / 9.2947178 * 1e5) > 1_000_000
    # snic-provincias.csv '02,Ciudad Autónoma de Buenos Aires,2024,15,Robos ...,68643,...,2224.7085,...'
    assert abs(sub_value(subnational, "ARG", "02", 2024, "ar_snic_implied") - 68643 / 2224.7085 * 1e5) <= 2
    # '94,"Tierra del Fuego, ...",2010,19,Hurtos,712,,,,,540.78278,,,'
    assert abs(sub_value(subnational, "ARG", "94", 2010, "ar_snic_implied") - 712 / 540.78278 * 1e5) <= 2
    ar = [r for r in subnational if r["country_iso3"] == "ARG"]
    assert len(ar) == 24 * 25  # 24 provinces x 2000-2024
    codes = {r["subdivision_code"] for r in ar}
    assert "02" in codes and "06" in codes and "94" in codes and all(len(c) == 2 for c in codes)
    assert {r["subdivision_name"] for r in ar if r["subdivision_code"] == "94"} == {
        "Tierra del Fuego, Antártida e Islas del Atlántico Sur"
    }
    assert sorted(y for (c, y, s) in national if c == "ARG" and s == "ar_snic_implied") == list(range(2000, 2023))


def test_alternative_national_denominators_are_close_to_world_bank(national):
    for (iso3, year, src), pop in national.items():
        if src != "wb_sp_pop_totl" and (iso3, year, "wb_sp_pop_totl") in national:
            assert abs(pop / national[(iso3, year, "wb_sp_pop_totl")] - 1) < 0.05, (iso3, year, src)


# ------------------------------------------------------------------------------------------------
# Provenance and reproducibility
# ------------------------------------------------------------------------------------------------
def test_provenance_files_present():
    for rel in PROVENANCE:
        text = (REF / rel).read_text(encoding="utf-8")
        assert "python -m tools.refbuild" in text
        assert re.search(r"^- Build date \(UTC\): \d{4}-\d{2}-\d{2}$", text, re.M), rel
    for rel in ("iccs/PROVENANCE.md", "population/PROVENANCE.md"):
        text = (REF / rel).read_text(encoding="utf-8")
        assert re.search(r"sha256 of the input file: `[0-9a-f]{64}`", text), rel
        assert "Licence" in text


def _provenance_hashes() -> dict[str, str]:
    out = {}
    for rel in PROVENANCE:
        text = (REF / rel).read_text(encoding="utf-8")
        for m in re.finditer(r"^### `shared/data/real/([^`]+)`\n(?:- .*\n)*?- sha256 of the input file: `([0-9a-f]{64})`", text, re.M):
            out[m.group(1)] = m.group(2)
    return out


def test_provenance_lists_all_inputs():
    assert set(_provenance_hashes()) == {
        "iccs/iccs_parse_final.csv", "iccs/ICCS_English_2016_web.pdf", "wb_population/population.csv",
        "mx_sesnsp/poblacion_anual.csv", "mx_sesnsp/estatal.csv", "ar_snic/snic-provincias.csv", "ar_snic/snic-pais.csv",
        "us_fbi/estimated_crimes_1979_2019.csv",
    }


def test_us_state_population_from_fbi_file():
    # estimated_crimes_1979_2019.csv line: 1995,"MS","Mississippi",2697000,...
    pop = pd.read_csv(REF / "population" / "subnational.csv", dtype=str)
    ms = pop[(pop.country_iso3 == "USA") & (pop.subdivision_code == "MS")]
    assert ms[ms.year == "1995"].population.tolist() == ["2697000"]
    assert sorted(ms.year.astype(int))[0] == 1995  # absent 1979-1994 as in the file


needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"shared real-data folder {SHARED} is missing (set HEMISTAT_SHARED_DIR); cannot rebuild"
)


@needs_shared
def test_provenance_hashes_match_shared_inputs():
    import hashlib

    for rel, digest in _provenance_hashes().items():
        assert hashlib.sha256((SHARED / rel).read_bytes()).hexdigest() == digest, f"{rel} changed since the last build"


def test_refbuild_does_not_import_dagster():
    code = "import sys, tools.refbuild.build, tools.refbuild.__main__; print('dagster' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@needs_shared
def test_rebuild_reproduces_committed_files_byte_for_byte(tmp_path):
    out = tmp_path / "reference"
    proc = subprocess.run(
        [sys.executable, "-m", "tools.refbuild", "--shared", str(SHARED), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    built = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    expected = sorted([*TABLES, *TABLES.values(), *PROVENANCE])
    assert built == expected
    date = re.compile(r"^- Build date \(UTC\): .*$", re.M)
    for rel in built:
        new, old = (out / rel).read_bytes(), (REF / rel).read_bytes()
        if rel.endswith("PROVENANCE.md"):  # only the build date may differ
            new, old = (date.sub("", x.decode("utf-8")).encode("utf-8") for x in (new, old))
        assert new == old, f"{rel} differs from a fresh build: re-run `python -m tools.refbuild`"


def test_mexico_name_mismatch_fails_loudly(tmp_path):
    from tools.refbuild.common import RefBuildError
    from tools.refbuild.population import build_mx

    mx = tmp_path / "mx_sesnsp"
    mx.mkdir()
    names = [f"Estado {i}" for i in range(1, 33)]
    with open(mx / "estatal.csv", "w", encoding="cp1252", newline="") as fh:
        fh.write("A\xf1o,Clave_Ent,Entidad\r\n")
        fh.writelines(f"2024,{i},{n}\r\n" for i, n in enumerate(names, start=1))
    years = list(range(1990, 2031))
    rows = ["Entidad," + ",".join(map(str, years))]
    for n in ["Estados Unidos Mexicanos", *names[:-1], "Estado 32 (typo)"]:
        rows.append(n + "," + ",".join("1000" for _ in years))
    (mx / "poblacion_anual.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(RefBuildError, match="Estado 32 \\(typo\\)"):
        build_mx(tmp_path)
    # and the same files with the right name pass
    rows[-1] = "Estado 32," + ",".join("1000" for _ in years)
    (mx / "poblacion_anual.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    national, states, _, _ = build_mx(tmp_path)
    assert len(states) == 32 * 41 and states[-1][1] == "32"


def test_build_fails_loudly_on_missing_source(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "tools.refbuild", "--shared", str(tmp_path / "nope"), "--out", str(tmp_path / "out")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert "FAILED" in proc.stderr
    assert not (tmp_path / "out").exists()
