"""Record-level sources: Colombia Policía Nacional (co_policia) and Costa Rica OIJ (cr_oij).

Both are read by the ``record_sum`` family (pipelines/adapters/record_sum.py). Expected numbers were
computed independently from the raw workbooks with a throwaway pandas script (``pd.read_excel`` of each
file, ``CODIGO DANE`` read as text, month from ``FECHA HECHO`` / ``Fecha``, then ``groupby(...).CANTIDAD.sum()``
or ``.size()``), not with hemistat:

Colombia 2019 (sum of CANTIDAD, rows in brackets)
  homicidios        12,656 victims (12,610 rows); F 1,087 (1,085 rows) M 11,569
                    Bogotá 11001000 January: 83 victims (70 rows; one row has CANTIDAD 7), F 4, M 79
                    Cali 76001000 January: 76 (F 3, M 73); Medellín 05001000 January: 54 (F 3, M 51)
                    Angelópolis 05036000: the only homicide of 2019 is in March (M)
  delitos sexuales  38,204 victims (37,393 rows); F 32,891, M 5,313
                    Bogotá March: 541 victims (525 rows), F 455, M 86
  extorsión         8,210 victims, 422 with empty GENERO
  hurto automotores 10,499 vehicles (10,451 rows); Bogotá January 286
  secuestro         ARTÍCULO 168. SECUESTRO SIMPLE 24, ARTÍCULO 169. SECUESTRO EXTORSIVO 68
Costa Rica 2023 (rows; Jan-Mar only)
  23,256 rows; SubDelito HOMICIDIO 187 (Jan 72, Feb 59, Mar 56); San José homicides Jan 22, Feb 14, Mar 16;
  by province SAN JOSE 52, ALAJUELA 17, CARTAGO 13, HEREDIA 15, GUANACASTE 20, PUNTARENAS 29, LIMON 41;
  Delito NO DELITO 200 rows; Provincia DESCONOCIDO 2 rows; ASALTO 2,667, of which Limón February 70.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipelines.adapters import SubmissionError, adapt_file, load_spec
from pipelines.contracts.tables import RAW_COLUMNS, RawSchema
from pipelines.harmonise import crosswalk_check as xwc
from pipelines.contracts.table_schema import load_schema, validate_csv
from tests.conftest import real

REPO = Path(__file__).resolve().parents[2]
REF = REPO / "reference"
XW = REF / "crosswalks"
CO_FILES = ["delitos_sexuales_2019_0.xlsx", "extorsion_2019_4.xlsx", "homicidios_2019_3.xlsx",
            "hurto_automotores_2019_0.xlsx", "secuestro_2019_3.xlsx"]
CR_FILE = "estadisticaspoliciales2023.xlsx"


def _oas() -> set[str]:
    with open(REF / "countries" / "oas_members.csv", encoding="utf-8", newline="") as fh:
        return {r["iso3"] for r in csv.DictReader(fh)}


def _adapt(source: str, path: Path, file_name: str | None = None):
    return adapt_file(path, load_spec(source, REF), submission_id="t", file_name=file_name or path.name,
                      allowed_countries=_oas())


@pytest.fixture(scope="module")
def co() -> dict[str, tuple[pd.DataFrame, dict]]:
    return {f: _adapt("co_policia", real(f"co_policia/{f}")) for f in CO_FILES}


@pytest.fixture(scope="module")
def cr() -> tuple[pd.DataFrame, dict]:
    return _adapt("cr_oij", real(f"cr_oij/{CR_FILE}"))


def _cell(df, **kw) -> float:
    m = pd.Series(True, index=df.index)
    for k, v in kw.items():
        m &= df[k] == v
    sel = df[m]
    assert len(sel) == 1, f"{kw}: {len(sel)} cells"
    return float(sel["value"].iloc[0])


def _xw(source: str) -> dict[str, dict[str, str]]:
    with open(XW / f"{source}.csv", encoding="utf-8", newline="") as fh:
        return {r["national_code"]: r for r in csv.DictReader(fh)}


# --------------------------------------------------------------------------------------------------
# Colombia
# --------------------------------------------------------------------------------------------------
def test_co_every_file_matches_its_own_variant_and_the_contract(co):
    expected = {"delitos_sexuales_2019_0.xlsx": "delitos_sexuales", "extorsion_2019_4.xlsx": "extorsion",
                "homicidios_2019_3.xlsx": "homicidios", "hurto_automotores_2019_0.xlsx": "hurto_automotores",
                "secuestro_2019_3.xlsx": "secuestro"}
    for f, (df, st) in co.items():
        assert st["variant"] == expected[f] and st["layout"] == "dijin_records"
        assert list(df.columns) == RAW_COLUMNS
        RawSchema.validate(df, lazy=True)
        assert set(df.country_iso3) == {"COL"} and set(df.year) == {2019}
        assert set(df.unit) == {"count"} and set(df.age) == {"_T"} and (df.obs_status == "A").all()
        key = ["subdivision_code", "year", "month", "national_code", "measure", "sex"]
        assert not df.duplicated(key).any(), f"{f}: duplicate cells"


def test_co_homicides_sum_cantidad_not_rows(co):
    df, st = co["homicidios_2019_3.xlsx"]
    assert st["file_rows"] == 12610 and st["quantity_sum"] == 12656
    assert set(df.national_code) == {"HOMICIDIOS"} and set(df.measure) == {"victims"}
    tot = df[df.sex == "_T"]
    assert tot.value.sum() == 12656
    assert df[df.sex == "F"].value.sum() == 1087 and df[df.sex == "M"].value.sum() == 11569
    # Bogotá, January 2019: 70 rows but 83 victims (a row with CANTIDAD 7)
    assert _cell(df, subdivision_code="11001", month=1, sex="_T") == 83
    assert _cell(df, subdivision_code="11001", month=1, sex="M") == 79
    assert _cell(df, subdivision_code="11001", month=1, sex="F") == 4
    assert _cell(df, subdivision_code="76001", month=1, sex="_T") == 76
    assert _cell(df, subdivision_code="05001", month=1, sex="_T") == 54
    assert _cell(df, subdivision_code="05001", month=1, sex="F") == 3


def test_co_municipality_codes_are_5_digit_text_with_names(co):
    df, _ = co["homicidios_2019_3.xlsx"]
    assert df.subdivision_code.str.fullmatch(r"\d{5}").all()
    names = df.drop_duplicates("subdivision_code").set_index("subdivision_code").subdivision_name
    assert names["05001"] == "MEDELLÍN (CT), ANTIOQUIA"
    assert names["08001"] == "BARRANQUILLA (CT), ATLÁNTICO"
    assert names["11001"] == "BOGOTÁ D.C. (CT), CUNDINAMARCA"  # DANE department 11 = Bogotá D.C.


def test_co_months_without_records_are_zero_within_the_year(co):
    df, _ = co["homicidios_2019_3.xlsx"]
    ang = df[(df.subdivision_code == "05036") & (df.sex == "_T")].set_index("month").value
    assert len(ang) == 12 and ang[3] == 1 and ang.drop(3).eq(0).all()
    assert set(df[df.subdivision_code == "05036"].sex) == {"_T", "M"}  # no female series invented
    zero = df[(df.subdivision_code == "05036") & (df.month == 1) & (df.sex == "_T")].iloc[0]
    assert zero.column_name == "(no records)" and zero.value_raw == "0" and "0 recorded" in zero.obs_note
    # every series (municipality x code x sex) has exactly the 12 months: rule S3 is satisfied
    for f, (d, _) in co.items():
        n = d.groupby(["subdivision_code", "national_code", "measure", "sex"]).month.agg(["count", "min", "max"])
        assert (n["count"] == 12).all() and (n["min"] == 1).all() and (n["max"] == 12).all(), f


def test_co_sex_breakdown_adds_up_to_total(co):
    for f in ["homicidios_2019_3.xlsx", "delitos_sexuales_2019_0.xlsx", "extorsion_2019_4.xlsx",
              "secuestro_2019_3.xlsx"]:
        df, _ = co[f]
        key = ["subdivision_code", "month", "national_code"]
        tot = df[df.sex == "_T"].set_index(key).value
        parts = df[df.sex != "_T"].groupby(key).value.sum()
        assert parts.reindex(tot.index, fill_value=0).equals(tot), f


def test_co_sexual_offences_extortion_kidnapping_vehicle_theft(co):
    sx, st = co["delitos_sexuales_2019_0.xlsx"]
    assert st["file_rows"] == 37393 and sx[sx.sex == "_T"].value.sum() == 38204
    assert sx[sx.sex == "F"].value.sum() == 32891 and sx[sx.sex == "M"].value.sum() == 5313
    assert _cell(sx, subdivision_code="11001", month=3, sex="_T") == 541
    assert _cell(sx, subdivision_code="11001", month=3, sex="F") == 455

    ex, _ = co["extorsion_2019_4.xlsx"]
    assert ex[ex.sex == "_T"].value.sum() == 8210 and ex[ex.sex == "_U"].value.sum() == 422

    sq, _ = co["secuestro_2019_3.xlsx"]
    by = sq[sq.sex == "_T"].groupby("national_code").value.sum().to_dict()
    assert by == {"ARTÍCULO 168. SECUESTRO SIMPLE": 24, "ARTÍCULO 169. SECUESTRO EXTORSIVO": 68}

    hv, st = co["hurto_automotores_2019_0.xlsx"]
    assert st["file_rows"] == 10451 and hv.value.sum() == 10499
    assert set(hv.sex) == {"_T"} and set(hv.measure) == {"offences"}  # no GENERO in this file
    assert _cell(hv, subdivision_code="11001", month=1) == 286


def test_co_same_header_files_are_told_apart_by_file_name(tmp_path):
    src = real("co_policia/homicidios_2019_3.xlsx")
    for bad in ("lesiones_personales_2019.xlsx", "homicidios_accidentes_transito_2019.xlsx"):
        p = tmp_path / bad
        shutil.copyfile(src, p)
        with pytest.raises(SubmissionError) as ei:
            _adapt("co_policia", p)
        assert ei.value.problems[0].rule == "S1" and "matches no variant" in ei.value.problems[0].message
    # the header must fit too: a secuestro file (DESCRIPCION CONDUCTA) renamed as homicidios is refused
    p = tmp_path / "homicidios_2019.xlsx"
    shutil.copyfile(real("co_policia/secuestro_2019_3.xlsx"), p)
    with pytest.raises(SubmissionError):
        _adapt("co_policia", p)


def test_co_spec_file_globs_match_the_real_files():
    spec = load_spec("co_policia", REF)
    folder = real("co_policia/homicidios_2019_3.xlsx").parent
    matched = {p.name for pat in spec.files for p in folder.glob(pat)}
    assert matched == set(CO_FILES)
    assert not any(Path("homicidios_accidentes_transito_2019.xlsx").match(p) for p in spec.files)


# --------------------------------------------------------------------------------------------------
# Costa Rica
# --------------------------------------------------------------------------------------------------
def test_cr_contract_rows_and_no_sex(cr):
    df, st = cr
    assert list(df.columns) == RAW_COLUMNS
    RawSchema.validate(df, lazy=True)
    assert st["file_rows"] == 23256 and df.value.sum() == 23256
    assert set(df.country_iso3) == {"CRI"} and set(df.year) == {2023}
    assert set(df.sex) == {"_T"}  # Genero repeats Edad in the published file: sex unavailable
    assert set(df.month) == {1, 2, 3}  # the file stops on 31 March 2023: nothing zero-filled after it
    assert set(df.measure) == {"offences"}


def test_cr_intentional_homicide(cr):
    df, _ = cr
    hom = df[df.national_code == "DELITOS CONTRA LA VIDA|HOMICIDIO"]
    assert hom.value.sum() == 187
    assert hom.groupby("month").value.sum().to_dict() == {1: 72, 2: 59, 3: 56}
    by_prov = hom.groupby("subdivision_code").value.sum().to_dict()
    assert by_prov == {"1": 52, "2": 17, "3": 13, "4": 15, "5": 20, "6": 29, "7": 41}
    assert _cell(hom, subdivision_code="1", month=2) == 14
    asalto = df[df.national_code == "DELITOS CONTRA LA PROPIEDAD|ASALTO"]
    assert asalto.value.sum() == 2667 and _cell(asalto, subdivision_code="7", month=2) == 70


def test_cr_provinces_official_codes_and_unknown(cr):
    df, _ = cr
    names = df.drop_duplicates("subdivision_code").set_index("subdivision_code").subdivision_name.to_dict()
    assert names == {"1": "SAN JOSE", "2": "ALAJUELA", "3": "CARTAGO", "4": "HEREDIA", "5": "GUANACASTE",
                     "6": "PUNTARENAS", "7": "LIMON", "_U": "DESCONOCIDO"}
    assert df[df.subdivision_code == "_U"].value.sum() == 2
    assert df.subdivision_code.notna().all()  # never a NULL (= national) row


def test_cr_non_crimes_are_in_the_table_and_excluded_by_the_crosswalk(cr):
    df, _ = cr
    assert df[df.national_code.str.startswith("NO DELITO|")].value.sum() == 200
    xw = {c: r for c, r in _xw("cr_oij").items() if c in set(df.national_code)}  # rows serving this file
    non_crimes = {c for c in set(df.national_code)
                  if c.startswith("NO DELITO|") or c.split("|")[1] in
                  {"MUERTE NATURAL", "MUERTE ACCIDENTAL", "SUICIDIO", "MUERTE INDETERMINADA"}}
    assert len(non_crimes) == 7
    for c in non_crimes | {"DESCONOCIDO|DESCONOCIDO"}:
        assert xw[c]["relation"] == "no_match" and xw[c]["iccs_code"] == "", c
    assert {c for c, r in xw.items() if r["relation"] == "no_match"} == non_crimes | {"DESCONOCIDO|DESCONOCIDO"}
    # negligent homicide is a crime (ICCS 01032), not one of the non-crime deaths
    assert xw["DELITOS CONTRA LA VIDA|HOMICIDIO CULPOSO"]["iccs_code"] == "01032"


# --------------------------------------------------------------------------------------------------
# crosswalks
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source", ["co_policia", "cr_oij"])
def test_crosswalk_file_schema_and_conventions(source):
    path = XW / f"{source}.csv"
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw and raw.endswith(b"\n")
    schema = load_schema(XW / "crosswalk.schema.json")
    assert validate_csv(path, schema, {"iccs": REF / "iccs" / "iccs.csv"}) == []
    with open(REF / "iccs" / "iccs.csv", encoding="utf-8", newline="") as fh:
        iccs = {r["code"] for r in csv.DictReader(fh)}
    for code, r in _xw(source).items():
        assert "ICCS" in r["rationale"], code
        assert r["weight"] == "1"
        if r["relation"] == "no_match":
            assert r["iccs_code"] == "" and r["rationale"].startswith("Excluded:"), code
        else:
            assert r["iccs_code"] in iccs and len(r["iccs_code"]) in (2, 4, 5, 6), code
        if r["relation"] == "broader":
            assert "broader" in r["rationale"], code


def test_every_national_code_of_the_real_files_has_exactly_one_crosswalk_row(co, cr):
    """Every code of the held files has its row (in force in its years); a row for a code these files lack
    serves a file the tests do not hold and is checked for form only (pipelines/harmonise/crosswalk_check)."""
    assert xwc.check_form(REF, "co_policia") == [] and xwc.check_form(REF, "cr_oij") == []
    assert xwc.check_against_file(REF, "co_policia", _years(*(df for df, _ in co.values()))) == []
    assert len(set(cr[0].national_code)) == 93
    assert xwc.check_against_file(REF, "cr_oij", _years(cr[0])) == []


def _years(*frames: pd.DataFrame) -> dict[str, set[int]]:
    df = pd.concat(frames)
    df = df[df.value.notna()]
    return {c: set(g.year.dropna().astype(int)) for c, g in df.groupby("national_code")}


def test_only_intentional_homicide_maps_to_0101(co, cr):
    co_codes = set().union(*(set(df.national_code) for df, _ in co.values()))
    co_xw = {c: r for c, r in _xw("co_policia").items() if c in co_codes}      # rows serving the held files
    cr_xw = {c: r for c, r in _xw("cr_oij").items() if c in set(cr[0].national_code)}
    assert [c for c, r in co_xw.items() if r["iccs_code"] == "0101"] == ["HOMICIDIOS"]
    assert [c for c, r in cr_xw.items() if r["iccs_code"] == "0101"] == ["DELITOS CONTRA LA VIDA|HOMICIDIO"]
    for c, r in cr_xw.items():
        assert not r["iccs_code"].startswith("0101") or c == "DELITOS CONTRA LA VIDA|HOMICIDIO", c


@pytest.mark.parametrize("source", ["co_policia", "cr_oij"])
def test_spec_metadata(source):
    raw = load_spec(source, REF).model_dump(exclude_unset=True, by_alias=True)
    for k in ("title", "publisher", "url", "counting_unit", "crosswalk", "cadence", "country_iso3", "files",
              "subdivision_level"):
        assert raw.get(k), f"{source}: {k} missing"
    assert raw["comparability"] == "national" and raw["crosswalk"] == source


def test_co_bad_quantity_and_code_are_reported_with_line(tmp_path):
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["DEPARTAMENTO", "MUNICIPIO", "CODIGO DANE", "ARMAS MEDIOS", "FECHA HECHO", "GENERO",
               "AGRUPA EDAD PERSONA", "CANTIDAD"])
    row = ["ANTIOQUIA", "MEDELLÍN (CT)", "05001000", "ARMA DE FUEGO", None, "MASCULINO", "ADULTOS"]
    ws.append(row[:4] + [dt.datetime(2019, 1, 4)] + row[5:] + [2])
    ws.append(row[:4] + [dt.datetime(2019, 2, 4)] + row[5:] + ["dos"])
    p = tmp_path / "homicidios_2019.xlsx"
    wb.save(p)
    with pytest.raises(SubmissionError) as ei:
        _adapt("co_policia", p)
    prob = ei.value.problems[0]
    assert (prob.rule, prob.line, prob.column, prob.value) == ("V1", 3, "CANTIDAD", "dos")

    ws.cell(row=3, column=8, value=1)
    ws.cell(row=3, column=3, value="")          # no municipality code: never a national (NULL) row
    wb.save(p)
    with pytest.raises(SubmissionError) as ei:
        _adapt("co_policia", p)
    prob = ei.value.problems[0]
    assert (prob.rule, prob.line, prob.column) == ("S1", 3, "CODIGO DANE")

    ws.cell(row=3, column=3, value="05001000")
    wb.save(p)
    df, st = _adapt("co_policia", p)
    assert st["variant"] == "homicidios" and df[df.sex == "_T"].value.tolist() == [2.0, 1.0]  # Jan 2, Feb 1
