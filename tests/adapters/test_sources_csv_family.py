"""FBI UCR, World Bank WDI, OWID and INEGI ENVIPE: declarative specs on the real files.

Every expected value below was read by hand from the raw file (grep/awk on the line quoted in the
comment), not computed with the adapter.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from pipelines.adapters import SubmissionError, adapt_file, load_spec
from pipelines.adapters.tabular import adapt_tabular
from pipelines.adapters.tabular_plus import dedupe_names
from pipelines.harmonise import crosswalk_check as xwc
from pipelines.contracts.tables import RawSchema, validate_layer
from tests.conftest import real

REF = Path(__file__).resolve().parents[2] / "reference"
OAS = set(pd.read_csv(REF / "countries" / "oas_members.csv", dtype=str)["iso3"])
ICCS = set(pd.read_csv(REF / "iccs" / "iccs.csv", dtype=str)["code"])
XW_COLUMNS = ["national_code", "national_label", "iccs_code", "relation", "weight", "valid_from", "valid_to",
              "rationale"]

FILES = {
    "us_fbi": "us_fbi/estimated_crimes_1979_2019.csv",
    "wb_wdi": "wb_wdi/API_VC.IHR.PSRC.P5_DS2_en_csv_v2_4355130.csv",
    "owid_homicide": "owid_homicide/homicide-rate-unodc.csv",
    "mx_envipe": "mx_envipe/indicador_inseguridad_estados.csv",
}
_CACHE: dict[str, tuple[pd.DataFrame, dict]] = {}


def adapt(source: str) -> tuple[pd.DataFrame, dict]:
    if source not in _CACHE:
        p = real(FILES[source])
        _CACHE[source] = adapt_file(p, load_spec(source, REF), submission_id="t", file_name=p.name,
                                    allowed_countries=OAS)
    return _CACHE[source]


def cell(df: pd.DataFrame, line: int, column: str) -> pd.Series:
    hit = df[(df.line == line) & (df.column_name == column)]
    assert len(hit) == 1, f"expected one cell at line {line}, column {column!r}; got {len(hit)}"
    return hit.iloc[0]


def crosswalk(source: str) -> pd.DataFrame:
    return pd.read_csv(REF / "crosswalks" / f"{source}.csv", dtype=str, keep_default_na=False)


# --------------------------------------------------------------------------------------------------
# every source: contract, crosswalk coverage, ICCS codes, spec metadata
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source", sorted(FILES))
def test_raw_contract_and_crosswalk_coverage(source):
    df, _ = adapt(source)
    validate_layer(df, RawSchema)
    xw = crosswalk(source)
    assert list(xw.columns) == XW_COLUMNS
    # every row: form; the rows serving this file: coverage and validity (a row for a code this file lacks
    # serves a file the tests do not hold and is not a failure — pipelines/harmonise/crosswalk_check.py)
    assert xwc.check_form(REF, source) == []
    assert xwc.check_against_file(REF, source, set(df.national_code)) == []
    for _, r in xw.iterrows():
        assert r.weight == "1", r.national_code


@pytest.mark.parametrize("source, comparability", [("us_fbi", "national"), ("wb_wdi", "comparison"),
                                                   ("owid_homicide", "comparison"), ("mx_envipe", "survey")])
def test_spec_metadata_and_file_globs(source, comparability):
    spec = load_spec(source, REF)
    for key in ("title", "publisher", "url", "counting_unit", "crosswalk", "cadence", "comparability", "files"):
        assert getattr(spec, key), f"{source}: {key} missing"
    assert spec.comparability == comparability
    folder = real(FILES[source]).parent
    matched = {p.name for pat in spec.files for p in folder.glob(pat)}
    assert matched == {Path(FILES[source]).name}  # not PROVENANCE.md, not OWID's metadata.json


# --------------------------------------------------------------------------------------------------
# us_fbi — estimated_crimes_1979_2019.csv
# --------------------------------------------------------------------------------------------------
FBI_OFFENCES = ["violent_crime", "homicide", "rape_legacy", "rape_revised", "robbery", "aggravated_assault",
                "property_crime", "burglary", "larceny", "motor_vehicle_theft"]


def test_fbi_national_rows_and_2013_rape_definitions():
    df, st = adapt("us_fbi")
    assert st["file_rows"] == 2116 and len(df) == 2116 * 10
    # line 1754: 2013,"","",316497531,1168298,14319,82109,113695,345093,726777,8651892,1932139,6019465,700288,""
    r = cell(df, 1754, "homicide")
    assert (r.year, r.value, r.national_code, r.measure, r.unit) == (2013, 14319.0, "homicide", "offences", "count")
    assert pd.isna(r.subdivision_code) and pd.isna(r.subdivision_name) and r.country_iso3 == "USA"
    assert cell(df, 1754, "rape_legacy").value == 82109 and cell(df, 1754, "rape_revised").value == 113695
    assert cell(df, 1754, "motor_vehicle_theft").value == 700288 and cell(df, 1754, "larceny").value == 6019465
    national = df[df.subdivision_code.isna()]
    assert national.subdivision_name.isna().all()
    assert sorted(national.year.unique()) == list(range(1979, 2020)) and len(national) == 41 * 10


def test_fbi_mississippi_absent_1979_1994():
    df, _ = adapt("us_fbi")
    ms = df[df.subdivision_code == "MS"]
    assert sorted(ms.year.unique()) == list(range(1995, 2020))
    # line 844: 1995,"MS","Mississippi",2697000,13560,348,1054,,3530,...
    r = cell(df, 844, "homicide")
    assert (r.subdivision_code, r.subdivision_name, r.year, r.value) == ("MS", "Mississippi", 1995, 348.0)
    states_per_year = df[df.national_code == "homicide"].dropna(subset=["subdivision_code"]).groupby("year").size()
    assert (states_per_year.loc[1979:1994] == 50).all() and (states_per_year.loc[1995:2019] == 51).all()


def test_fbi_rape_definitions_empty_not_zero():
    df, _ = adapt("us_fbi")
    legacy = df[df.national_code == "rape_legacy"]
    revised = df[df.national_code == "rape_revised"]
    # legacy is empty after 2016 and revised before 2013, on every row (national and states)
    assert legacy[legacy.year > 2016].value.isna().all() and (legacy[legacy.year > 2016].obs_status == "M").all()
    assert revised[revised.year < 2013].value.isna().all()
    assert legacy[legacy.year <= 2016].value.notna().all()
    assert revised[revised.year >= 2013].value.notna().all()
    # line 2013: 2017,"","",325147121,1283875,17294,,135666,... (legacy empty)
    r = cell(df, 2013, "rape_legacy")
    assert r.year == 2017 and pd.isna(r.value) and r.value_raw == "" and r.obs_status == "M"
    assert cell(df, 2013, "rape_revised").value == 135666
    # line 2109: 2019,"TX","Texas",28995881,121474,1409,,14824,28988,76253,693204,113902,501813,77489,""
    assert cell(df, 2109, "rape_revised").value == 14824 and cell(df, 2109, "larceny").value == 501813
    assert cell(df, 2109, "homicide").subdivision_name == "Texas"


def test_fbi_caveats_become_obs_notes():
    df, _ = adapt("us_fbi")
    # line 833: 1995,"IL","Illinois",...,"The state UCR Program was unable to provide 1985-2013 forcible rape ..."
    r = cell(df, 833, "rape_legacy")
    assert r.obs_note.startswith("The state UCR Program was unable to provide 1985-2013 forcible rape figures")
    # a row with an empty caveat and a reported value has no note (line 1754, national 2013)
    assert pd.isna(cell(df, 1754, "homicide").obs_note)


def test_fbi_crosswalk_and_breaks():
    xw = crosswalk("us_fbi").set_index("national_code")
    xw = xw[xw.index.isin(FBI_OFFENCES)]      # the rows serving the file held here
    # the national codes are the offence columns of the header (all but year, state, population, caveats)
    header = next(csv.reader(real(FILES["us_fbi"]).open(encoding="utf-8")))
    assert [h for h in header if h not in ("year", "state_abbr", "state_name", "population", "caveats")] == FBI_OFFENCES
    assert set(xw.index) == set(FBI_OFFENCES)  # every offence column has its row
    # the totals are sums of the other columns: never counted
    assert xw.loc["violent_crime", "relation"] == xw.loc["property_crime", "relation"] == "no_match"
    assert "double count" in xw.loc["violent_crime", "rationale"]
    assert list(xw.index[xw.iccs_code == "0101"]) == ["homicide"]
    assert xw.loc["rape_legacy", "iccs_code"] == xw.loc["rape_revised", "iccs_code"] == "03011"
    # larceny excludes motor-vehicle theft: theft 0502 with MV theft in its child 05021 (rolled up, not doubled)
    assert xw.loc["larceny", "iccs_code"] == "0502" and xw.loc["motor_vehicle_theft", "iccs_code"] == "05021"
    breaks = load_spec("us_fbi", REF).model_dump(exclude_unset=True)["breaks"]
    excl = [b for b in breaks if b["action"] == "exclude"]
    flag = [b for b in breaks if b["action"] == "flag"]
    assert len(excl) == 1 and excl[0]["national_codes"] == ["rape_legacy"] and excl[0]["from_year"] == 2013
    assert "to_year" not in excl[0]  # legacy is empty after 2016 anyway
    assert len(flag) == 1 and flag[0]["national_codes"] == ["rape_revised"]
    assert (flag[0]["from_year"], flag[0]["to_year"]) == (2013, 2013)


# --------------------------------------------------------------------------------------------------
# wb_wdi — API_VC.IHR.PSRC.P5_DS2_en_csv_v2_4355130.csv
# --------------------------------------------------------------------------------------------------
def test_wdi_bom_preamble_wide_years_and_aggregates_dropped():
    df, st = adapt("wb_wdi")
    assert st["file_rows"] == 266 and st["out_of_scope_rows"] == 266 - 35
    assert set(df.country_iso3) == OAS and not {"WLD", "LCN", "PRI"} & set(df.country_iso3)
    assert len(df) == 35 * 62 and (df.year.min(), df.year.max()) == (1960, 2021)
    assert (df.line >= 6).all() and "" not in set(df.column_name)  # header on line 5; trailing empty column
    assert set(df.national_code) == {"VC.IHR.PSRC.P5"}
    assert (df.measure == "victims").all() and (df.unit == "rate_per_100k").all() and df.subdivision_code.isna().all()
    # line 160: "Mexico","MEX",...,"2017" = "25.7089978030143", "2020" = "28.3706033950892", "2021" = ""
    r = cell(df, 160, "2017")
    assert (r.country_iso3, r.year) == ("MEX", 2017) and r.value == pytest.approx(25.7089978030143, abs=1e-12)
    assert cell(df, 160, "2020").value == pytest.approx(28.3706033950892, abs=1e-12)
    r21 = cell(df, 160, "2021")
    assert pd.isna(r21.value) and r21.obs_status == "M"
    # "United States","USA": 2019 = 5.06556583180212, 1996 = 7.32107232165547; "Jamaica","JAM": 2017 = 56.3877339731475
    usa = df[df.country_iso3 == "USA"].set_index("year").value
    assert usa[2019] == pytest.approx(5.06556583180212) and usa[1996] == pytest.approx(7.32107232165547)
    assert df[(df.country_iso3 == "JAM") & (df.year == 2017)].value.iloc[0] == pytest.approx(56.3877339731475)


# --------------------------------------------------------------------------------------------------
# owid_homicide — homicide-rate-unodc.csv (grapher "filtered" download)
# --------------------------------------------------------------------------------------------------
def test_owid_duplicate_time_header_needs_tabular_plus():
    p = real(FILES["owid_homicide"])
    header = next(csv.reader(p.open(encoding="utf-8")))
    assert header.count("time") == 2 and dedupe_names(header)[-2:] == ["time", "time#2"]
    layout = load_spec("owid_homicide", REF).layouts[0].as_dict()
    assert layout["family"] == "tabular_plus"
    with pytest.raises(SubmissionError) as ei:  # the plain tabular family refuses the ambiguous header
        adapt_tabular(p, layout, source_id="owid_homicide", submission_id="t", file_name=p.name)
    assert "duplicate column names" in ei.value.problems[0].message


def test_owid_latest_rates_of_the_35_members():
    df, st = adapt("owid_homicide")
    assert st["file_rows"] == 175 and st["out_of_scope_rows"] == 140 and len(df) == 35
    assert set(df.country_iso3) == OAS and df.country_iso3.is_unique  # Puerto Rico (PRI) and regions dropped
    assert df.value.notna().all() and (df.unit == "rate_per_100k").all() and (df.measure == "victims").all()
    # line 97: Mexico,,,24.858995,,,2023 — the year is the last "time" column
    r = df[df.line == 97].iloc[0]
    assert (r.country_iso3, r.year, r.value) == ("MEX", 2023, pytest.approx(24.858995))
    # line 168: United States,,,5.7634077,,,2023 ; line 75: Jamaica,,,49.299488,,,2023
    assert df[df.line == 168].iloc[0][["country_iso3", "year"]].tolist() == ["USA", 2023]
    assert df[df.line == 168].value.iloc[0] == pytest.approx(5.7634077)
    assert df[df.line == 75].value.iloc[0] == pytest.approx(49.299488)
    # line 172: Venezuela,,,12.646645,,,2022 ; line 37: Cuba,,,4.4631515,,,2019
    got = df.set_index("country_iso3")
    assert (got.at["VEN", "year"], got.at["VEN", "value"]) == (2022, pytest.approx(12.646645))
    assert (got.at["CUB", "year"], got.at["CUB", "value"]) == (2019, pytest.approx(4.4631515))


# --------------------------------------------------------------------------------------------------
# mx_envipe — indicador_inseguridad_estados.csv (INEGI API extract)
# --------------------------------------------------------------------------------------------------
def test_envipe_states_national_and_percent():
    df, st = adapt("mx_envipe")
    assert st["file_rows"] == 495 and len(df) == 495 and st["national_rows"] == 15
    assert (df.measure == "population_share").all() and (df.unit == "percent").all()
    assert (df.age == "Y_GE18").all() and (df.country_iso3 == "MEX").all()
    assert df.value.between(0, 100).all()
    # line 2: 2011,71943.22561188857,Nacional,00 — per 100,000 adults -> 71.94... percent, national row
    r = cell(df, 2, "valor")
    assert pd.isna(r.subdivision_code) and pd.isna(r.subdivision_name) and r.year == 2011
    assert r.value == pytest.approx(71.94322561188857) and r.value_raw == "71943.22561188857"
    # line 30: 2024,54861.0831223222,Aguascalientes,01
    r = cell(df, 30, "valor")
    assert (r.subdivision_code, r.subdivision_name, r.year) == ("01", "Aguascalientes", 2024)
    assert r.value == pytest.approx(54.8610831223222)
    # line 496: 2025,89764.3471628995,Zacatecas,32 ; line 137: 2011,75066.33554222867,Ciudad de México,09
    zac, cdmx = cell(df, 496, "valor"), cell(df, 137, "valor")
    assert (zac.subdivision_code, zac.year, zac.value) == ("32", 2025, pytest.approx(89.7643471628995))
    assert (cdmx.subdivision_code, cdmx.subdivision_name, cdmx.value) == ("09", "Ciudad de México",
                                                                          pytest.approx(75.06633554222867))
    assert df.groupby("year").size().eq(33).all() and sorted(df.year.unique()) == list(range(2011, 2026))


def test_envipe_state_codes_join_mexican_state_populations():
    df, _ = adapt("mx_envipe")
    codes = set(df.subdivision_code.dropna())
    assert codes == {f"{i:02d}" for i in range(1, 33)}
    pop = pd.read_csv(REF / "population" / "subnational.csv", dtype=str)
    assert codes <= set(pop.loc[pop.country_iso3 == "MEX", "subdivision_code"])
    xw = crosswalk("mx_envipe")
    xw = xw[xw.national_code.isin(set(df.national_code))]
    assert list(xw.relation) == ["no_match"] and "published.survey_indicators" in xw.rationale.iloc[0]


def test_tabular_plus_keeps_line_numbers_with_preamble_and_crlf(tmp_path):
    f = tmp_path / "x.csv"
    f.write_bytes(b"preamble\r\nc,v,t,t\r\nARG,1.5,,2020\r\n\r\nMEX,,,2021\r\n")
    layout = {"name": "x", "family": "tabular_plus", "options": {"dedupe_header": True, "scale": 2},
              "reader": {"skip_rows": 1},
              "columns": {"country_iso3": "c", "year": "t#2", "national_code": {"const": "k"}},
              "values": {"column": "v"}}
    from pipelines.adapters.tabular_plus import adapt as adapt_plus

    df, st = adapt_plus(f, layout, source_id="s", submission_id="t", file_name="x.csv")
    assert df[["line", "country_iso3", "year"]].values.tolist() == [[3, "ARG", 2020], [5, "MEX", 2021]]
    assert df.value.iloc[0] == 3.0 and df.value_raw.iloc[0] == "1.5" and pd.isna(df.value.iloc[1])
    assert st["scale"] == 2.0
