"""Adapters on the real files, values checked against the raw text by hand."""

from pathlib import Path

import pytest

from pipelines.adapters import SubmissionError, adapt_file, load_spec
from tests.conftest import real

REF = Path(__file__).resolve().parents[2] / "reference"


def _adapt(source, rel, countries=None):
    p = real(rel)
    return adapt_file(p, load_spec(source, REF), submission_id="t", file_name=p.name,
                      allowed_countries=countries)


def test_sesnsp_latin1_wide_months_blank_december():
    df, st = _adapt("mx_sesnsp", "mx_sesnsp/estatal.csv")
    assert st["file_rows"] == 31360 and len(df) == 31360 * 12
    # line 2: 2015,1,Aguascalientes,...,Homicidio doloso,Con arma de fuego,3,0,2,...
    r = df[(df.line == 2) & (df.column_name == "Enero")].iloc[0]
    assert (r.year, r.month, r.subdivision_code, r.value) == (2015, 1, "01", 3.0)
    assert r.national_code == "Homicidio|Homicidio doloso|Con arma de fuego"
    assert "Año" not in df.columns and r.subdivision_name == "Aguascalientes"
    dec24 = df[(df.year == 2024) & (df.month == 12)]
    assert len(dec24) == 32 * 98 and dec24.value.isna().all() and (dec24.obs_status == "M").all()
    assert not df[(df.year == 2024) & (df.month == 11)].value.isna().any()


def test_snic_national_decimal_comma_and_semicolon():
    df, st = _adapt("ar_snic", "ar_snic/snic-pais.csv")
    assert st["layout"] == "pais"
    # line 3: 2000;2;...;tasa_victimas_fem ",72102064"
    r = df[(df.line == 3) & (df.column_name == "tasa_victimas_fem")].iloc[0]
    assert r.value == pytest.approx(0.72102064) and r.unit == "rate_per_100k" and r.sex == "F"
    assert df.subdivision_code.isna().all()


def test_snic_provinces_codes_are_text_and_victims_empty_not_zero():
    df, st = _adapt("ar_snic", "ar_snic/snic-provincias.csv")
    assert st["layout"] == "provincias"
    assert set(df.subdivision_code.unique()) >= {"02", "06", "94"}
    assert "11_2" in set(df.national_code) and "28_10" in set(df.national_code)
    tdf = df[df.subdivision_code == "94"].subdivision_name.iloc[0]
    assert tdf == "Tierra del Fuego, Antártida e Islas del Atlántico Sur"
    robbery_victims = df[(df.national_code == "15") & (df.measure == "victims") & (df.unit == "count")]
    # up to 2016 the victim cells of robbery are empty (not counted), from 2017 they read 0
    early = robbery_victims[robbery_victims.year <= 2016]
    assert early.value.isna().all() and (early.obs_status == "M").all() and len(early) == 24 * 17 * 4  # 4 victim columns
    late = robbery_victims[robbery_victims.year >= 2017]
    assert (late.value == 0).all() and (late.obs_status == "A").all()


def test_unodc_preamble_and_scope():
    df, st = _adapt("unodc_cts", "unodc_cts/data_cts_corruption_and_economic_crime.csv", {"MEX", "ARG"})
    assert st["file_rows"] == 22754
    assert set(df.country_iso3) <= {"MEX", "ARG"} and st["out_of_scope_rows"] > 20000
    assert (df.line >= 4).all()  # header on line 3
    assert {"count", "rate_per_100k"} == set(df.unit)


def test_malformed_file_names_file_line_and_column(tmp_path):
    src = real("ar_snic/snic-pais.csv").read_bytes().decode("utf-8").splitlines(keepends=True)
    src[4] = src[4].replace(";2120;", ";21x0;", 1) if ";2120;" in src[4] else src[4].replace(";", ";abc", 4)
    bad = tmp_path / "snic-pais.csv"
    bad.write_text("".join(src), encoding="utf-8")
    with pytest.raises(SubmissionError) as ei:
        adapt_file(bad, load_spec("ar_snic", REF), submission_id="t", file_name="snic-pais.csv")
    p = ei.value.problems[0]
    assert p.file == "snic-pais.csv" and p.line == 5 and p.rule in ("V1", "S1")
    assert "line 5" in str(p)


def test_missing_column_is_reported(tmp_path):
    bad = tmp_path / "estatal.csv"
    bad.write_bytes("Año,Clave_Ent,Entidad\n2020,1,Aguascalientes\n".encode("cp1252"))
    with pytest.raises(SubmissionError) as ei:
        adapt_file(bad, load_spec("mx_sesnsp", REF), submission_id="t", file_name="estatal.csv")
    assert "matches no layout" in str(ei.value) and "Enero" in str(ei.value)
