"""Brazil SINESP (two-sheet workbook, family ``workbook``) and Chile CEAD (pivot report, family ``cead``).

Every expected number below was read by hand from the raw workbook (openpyxl, in a throwaway script,
not through hemistat); the comment next to it names the sheet and row.
"""

from __future__ import annotations

import csv
import fnmatch
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipelines.adapters import SubmissionError, adapt_file, load_spec
from pipelines.adapters.cead import build_tree, parse_report
from pipelines.contracts.tables import RawSchema, validate_layer
from pipelines.harmonise import crosswalk_check as xwc
from pipelines.contracts.table_schema import load_schema, validate_csv
from tests.conftest import SHARED, real

REPO = Path(__file__).resolve().parents[2]
REF = REPO / "reference"
SINESP = "br_sinesp/indicadoressegurancapublicauf.xlsx"
CEAD = "cl_cead/reportesEstadisticos-porDelito_Atacama.xlsx"
TC = SHARED / "iccs" / "24042025_TC_UNODC_ICCS_2022-23.xlsx"
YEARS = list(range(2013, 2025))  # CEAD header row 21, columns B..M


def oas() -> set[str]:
    with open(REF / "countries" / "oas_members.csv", encoding="utf-8", newline="") as fh:
        return {r["iso3"] for r in csv.DictReader(fh)}


def adapt(source: str, path: Path, name: str | None = None):
    return adapt_file(path, load_spec(source, REF), submission_id="t", file_name=name or path.name,
                      allowed_countries=oas())


@pytest.fixture(scope="module")
def sinesp():
    return adapt("br_sinesp", real(SINESP))


@pytest.fixture(scope="module")
def cead():
    return adapt("cl_cead", real(CEAD))


def cell(df: pd.DataFrame, line: int, column: str) -> pd.Series:
    hit = df[(df.line == line) & (df.column_name == column)]
    assert len(hit) == 1, f"line {line}, column {column!r}: {len(hit)} rows"
    return hit.iloc[0]


def crosswalk(source: str) -> dict[str, dict]:
    with open(REF / "crosswalks" / f"{source}.csv", encoding="utf-8", newline="") as fh:
        return {r["national_code"]: r for r in csv.DictReader(fh)}


def iccs_codes() -> set[str]:
    with open(REF / "iccs" / "iccs.csv", encoding="utf-8", newline="") as fh:
        return {r["code"] for r in csv.DictReader(fh)}


# ---------------------------------------------------------------------------------------------------
# specs
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source, country, rel", [("br_sinesp", "BRA", SINESP), ("cl_cead", "CHL", CEAD)])
def test_spec_metadata_and_file_globs(source, country, rel):
    raw = load_spec(source, REF).model_dump(exclude_unset=True, by_alias=True)
    for key in ("title", "publisher", "url", "counting_unit", "crosswalk", "cadence", "comparability",
                "country_iso3", "files", "subdivision_level"):
        assert raw.get(key), f"{source}: {key} missing"
    assert raw["comparability"] == "national" and raw["country_iso3"] == country and raw["crosswalk"] == source
    assert any(fnmatch.fnmatch(Path(rel).name, g) for g in raw["files"])
    assert country in oas()


# ---------------------------------------------------------------------------------------------------
# Brazil SINESP
# ---------------------------------------------------------------------------------------------------
def test_sinesp_both_sheets_contract_and_counts(sinesp):
    df, st = sinesp
    assert st["layout"] == "uf_workbook"
    # 17,549 and 5,459 rows incl. the header (PROVENANCE.md, checked with openpyxl)
    assert st["sheets"]["Ocorrências"]["file_rows"] == 17548 and st["sheets"]["Vítimas"]["file_rows"] == 5458
    assert len(df) == 17548 + 5458
    validate_layer(df, RawSchema)
    assert set(df.country_iso3) == {"BRA"} and set(df.unit) == {"count"} and set(df.sex) == {"_T"}
    assert df.subdivision_code.nunique() == 27 and df.subdivision_code.str.fullmatch(r"\d{2}").all()
    assert set(df.month.dropna().astype(int)) == set(range(1, 13)) and df.month.notna().all()
    # occurrences and victims are different crime sets: 9 types vs 3
    occ = df[df.column_name == "Ocorrências"]
    vic = df[df.column_name == "Vítimas"]
    assert set(occ.measure) == {"offences"} and occ.national_code.nunique() == 9
    assert set(vic.measure) == {"victims"} and set(vic.national_code) == {
        "Homicídio doloso", "Lesão corporal seguida de morte", "Roubo seguido de morte (latrocínio)"}


@pytest.mark.parametrize("line, column, uf, code, crime, year, month, measure, value", [
    (2, "Ocorrências", "Acre", "12", "Estupro", 2015, 1, "offences", 6),                # Ocorrências!A2:E2
    (3, "Ocorrências", "Acre", "12", "Furto de veículo", 2015, 1, "offences", 0),       # Ocorrências!A3:E3 (0)
    (6074, "Ocorrências", "Amapá", "16", "Roubo de carga", 2017, 12, "offences", 1),     # Ocorrências!A6074:E6074
    (12231, "Ocorrências", "Distrito Federal", "53", "Roubo seguido de morte (latrocínio)", 2019, 3, "offences",
     4),                                                                                # Ocorrências!A12231:E12231
    (17114, "Ocorrências", "São Paulo", "35", "Homicídio doloso", 2020, 12, "offences", 279),   # Ocorrências!A17114
    (17118, "Ocorrências", "São Paulo", "35", "Roubo de veículo", 2020, 12, "offences", 3622),  # Ocorrências!A17118
    (17549, "Ocorrências", "Tocantins", "17", "Tentativa de homicídio", 2021, 1, "offences", 32),  # last row
    (2, "Vítimas", "Acre", "12", "Homicídio doloso", 2015, 1, "victims", 13),            # Vítimas!A2:E2
    (3, "Vítimas", "Acre", "12", "Homicídio doloso", 2015, 2, "victims", 10),            # Vítimas!A3:E3
    (3759, "Vítimas", "Distrito Federal", "53", "Roubo seguido de morte (latrocínio)", 2019, 3, "victims",
     4),                                                                                # Vítimas!A3759:E3759
    (5305, "Vítimas", "São Paulo", "35", "Homicídio doloso", 2020, 12, "victims", 287),  # Vítimas!A5305:E5305
    (5459, "Vítimas", "Tocantins", "17", "Roubo seguido de morte (latrocínio)", 2021, 1, "victims", 1),  # last row
])
def test_sinesp_values_read_by_hand(sinesp, line, column, uf, code, crime, year, month, measure, value):
    r = cell(sinesp[0], line, column)
    assert (r.subdivision_name, r.subdivision_code, r.national_code, r.year, r.month, r.measure) == \
        (uf, code, crime, year, month, measure)
    assert r.value == value and r.obs_status == "A"


def test_sinesp_absent_months_stay_absent_not_zero(sinesp):
    df = sinesp[0]
    # Ocorrências has a single row for Amapá / Roubo de carga / 2017 (row 6074, December): the 11 other
    # months are absent from the file, so they are absent here too (never invented as 0)
    s = df[(df.subdivision_code == "16") & (df.national_code == "Roubo de carga") & (df.year == 2017)
           & (df.measure == "offences")]
    assert list(s.month) == [12] and list(s.value) == [1.0]
    # 2021 has January only (file cut-off)
    assert set(df[df.year == 2021].month) == {1}


def test_sinesp_missing_sheet_is_reported(tmp_path):
    wb = openpyxl.load_workbook(real(SINESP))
    del wb["Vítimas"]
    bad = tmp_path / "indicadoressegurancapublicauf.xlsx"
    wb.save(bad)
    with pytest.raises(SubmissionError) as ei:
        adapt("br_sinesp", bad)
    p = ei.value.problems[0]
    assert p.rule == "S1" and "Vítimas" in p.message


# ---------------------------------------------------------------------------------------------------
# Chile CEAD
# ---------------------------------------------------------------------------------------------------
# Hand-read rows of sheet 'reportesEstadisticos-porDelito_', columns B..M = 2013..2024
HOMICIDIOS_25 = [5, 11, 7, 7, 4, 13, 5, 7, 12, 12, 18, 17]               # A25 "  Homicidios" (leaf)
FAMILIES = {  # family subtotal rows (no indentation)
    23: ("Delitos contra la vida o integridad de las personas",
         [5038, 4276, 3736, 3708, 3548, 3717, 4245, 3805, 3938, 4836, 4656, 4316]),
    36: ("Robos violentos", [1078, 1301, 1188, 1211, 1012, 1068, 1124, 838, 750, 1408, 1403, 1378]),
    41: ("Violencia intrafamiliar", [2693, 2302, 2031, 2266, 2125, 2062, 2380, 2206, 2620, 2567, 2605, 2389]),
    47: ("Delitos asociados a drogas", [241, 253, 265, 228, 282, 455, 417, 328, 357, 443, 497, 433]),
    52: ("Delitos asociados a armas", [288, 370, 285, 449, 471, 526, 471, 277, 216, 287, 365, 336]),
    58: ("Delitos contra la propiedad no violentos",
         [7722, 8140, 6980, 7066, 6775, 7007, 7454, 5227, 3539, 6148, 6609, 5845]),
    68: ("Incivilidades", [10718, 9796, 8446, 8178, 8134, 8994, 9800, 7336, 7063, 6249, 6203, 5154]),
    84: ("Otros delitos o faltas", [10297, 9771, 9607, 10655, 11178, 10165, 12009, 11972, 11212, 10901, 10947, 13180]),
}
GROUPS = {  # group subtotal rows (one EM SPACE): path prefix -> hand-read values
    24: ("Delitos contra la vida o integridad de las personas|Homicidios y femicidios",
         [6, 11, 9, 7, 4, 14, 6, 8, 12, 12, 18, 18]),
    37: ("Robos violentos|Robos con violencia o intimidación",
         [623, 800, 721, 832, 698, 725, 824, 636, 588, 1092, 1159, 1041]),
    59: ("Delitos contra la propiedad no violentos|Robos en lugares habitados y no habitados",
         [2522, 2702, 2728, 2645, 2823, 2630, 2926, 2159, 1416, 2595, 2626, 2143]),
    72: ("Incivilidades|Consumo de alcohol y drogas en la vía pública",
         [5462, 5549, 4684, 4452, 4470, 4934, 4711, 1913, 1462, 1707, 2192, 1406]),
}
SUBTOTAL_LINES = {22, 23, 24, 27, 36, 37, 41, 47, 52, 53, 58, 59, 62, 68, 69, 72, 79, 84}  # 22 = caption


def test_cead_region_measure_and_contract(cead):
    df, st = cead
    assert st["layout"] == "report_por_delito" and st["header_line"] == 21
    validate_layer(df, RawSchema)
    assert set(df.country_iso3) == {"CHL"} and set(df.subdivision_code) == {"03"}
    assert set(df.subdivision_name) == {"Región de Atacama"}                   # B6 (merged B6:L6)
    assert set(df.measure) == {"offences"} and set(df.unit) == {"count"}      # B3 Casos Policiales, B2 Frecuencia
    assert df.month.isna().all() and sorted(df.year.unique()) == YEARS
    assert set(df.column_name) == {str(y) for y in YEARS}
    # 66 labelled rows after the header: 48 leaves, 17 subtotals, 1 caption ("DELITOS O FALTAS", row 22)
    assert (st["leaf_rows"], st["subtotal_rows"], st["caption_rows"]) == (48, 17, 1)
    assert len(df) == 48 * 12 and df.national_code.nunique() == 48
    assert st["filters"]["Comunas"] == "(Todas)"  # no commune breakdown in this export


@pytest.mark.parametrize("line, year, code, value", [
    (25, 2013, "Delitos contra la vida o integridad de las personas|Homicidios y femicidios|Homicidios", 5),   # B25
    (26, 2024, "Delitos contra la vida o integridad de las personas|Homicidios y femicidios|Femicidios", 1),   # M26
    (32, 2013, "Delitos contra la vida o integridad de las personas|Lesiones graves o gravísimas", 193),       # B32
    (39, 2020, "Robos violentos|Robos con violencia o intimidación|Robo violento de vehículo motorizado", 22),  # I39
    (42, 2013, "Violencia intrafamiliar|Violencia intrafamiliar con lesiones físicas", 1232),                # B42
    (57, 2019, "Delitos asociados a armas|Porte de arma cortante o punzante", 239),                          # H57
    (63, 2024, "Delitos contra la propiedad no violentos|Robos de vehículos y sus accesorios|"
               "Robo de vehículo motorizado", 382),                                                           # M63
    (76, 2013, "Incivilidades|Consumo de alcohol y drogas en la vía pública|"
               "Consumo de alcohol en la vía pública", 4744),                                                 # B76
    (82, 2020, "Incivilidades|Otras incivilidades|Ofensas al pudor", 1897),                                  # I82
    (87, 2024, "Otros delitos o faltas|Otros delitos o faltas", 13060),                                      # M87
])
def test_cead_values_read_by_hand(cead, line, year, code, value):
    r = cell(cead[0], line, str(year))
    assert (r.year, r.national_code, r.value, r.obs_status) == (year, code, value, "A")
    assert r.national_label == code.replace("|", " > ")


def test_cead_homicide_series(cead):
    df = cead[0]
    s = df[df.line == 25].sort_values("year")
    assert list(s.value) == HOMICIDIOS_25  # B25:M25, also quoted in PROVENANCE.md


def test_cead_no_subtotal_is_emitted_and_leaves_add_up(cead):
    df = cead[0]
    assert not set(df.line) & SUBTOTAL_LINES
    by_year = lambda d: [d[d.year == y].value.sum() for y in YEARS]  # noqa: E731
    for line, (family, expected) in FAMILIES.items():
        leaves = df[df.national_code.str.startswith(family + "|")]
        assert by_year(leaves) == expected, f"family row {line}"
    for line, (prefix, expected) in GROUPS.items():
        leaves = df[df.national_code.str.startswith(prefix + "|")]
        assert by_year(leaves) == expected, f"group row {line}"
    # all leaves together = the eight family subtotals, i.e. nothing counted twice or left out
    assert by_year(df) == [sum(v[i] for _, v in FAMILIES.values()) for i in range(12)]


def test_cead_tree_from_indentation():
    rows = [(21, (None, 2013)), (22, ("DELITOS O FALTAS", None)), (23, ("Fam", 3)),
            (24, ("\u2003\u2003Leaf a", 1)), (25, ("\u2003\u2003Leaf b", 2)), (26, ("Fam2", 4)),
            (27, ("\u2003Grp", 4)), (28, ("\u2003\u2003Grp", 4))]
    _, header, years, data = parse_report(rows, r"\d{4}", "\u2003", "x.xlsx")
    rows_, captions = build_tree(data)
    assert header == 21 and [y for *_, y in years] == [2013] and [c.line for c in captions] == [22]
    leaves = [(r.line, "|".join(r.path)) for r in rows_ if not r.children]
    assert leaves == [(24, "Fam|Leaf a"), (25, "Fam|Leaf b"), (28, "Fam2|Grp|Grp")]


def _edited_copy(tmp_path: Path, edits: dict[str, object]) -> Path:
    wb = openpyxl.load_workbook(real(CEAD))
    ws = wb.worksheets[0]
    for ref, v in edits.items():
        ws[ref] = v
    out = tmp_path / "reportesEstadisticos-porDelito.xlsx"
    wb.save(out)
    return out


def test_cead_subtotal_mismatch_is_rejected(tmp_path):
    bad = _edited_copy(tmp_path, {"C23": 4277})  # family subtotal 2014 was 4276
    with pytest.raises(SubmissionError) as ei:
        adapt("cl_cead", bad)
    p = ei.value.problems[0]
    assert (p.rule, p.line, p.column) == ("S1", 23, "2014") and "sum of its" in p.message


@pytest.mark.parametrize("ref, value, rule", [("B8", "Copiapó", "S1"), ("B18", "Enero", "S1"),
                                              ("B6", "Región de Narnia", "C3"), ("B3", "Detenciones", "S1")])
def test_cead_unsupported_filters_are_rejected(tmp_path, ref, value, rule):
    with pytest.raises(SubmissionError) as ei:
        adapt("cl_cead", _edited_copy(tmp_path, {ref: value}))
    p = ei.value.problems[0]
    assert p.rule == rule and p.line == int(ref[1:]) and p.value == value


# ---------------------------------------------------------------------------------------------------
# crosswalks
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source, fixture", [("br_sinesp", "sinesp"), ("cl_cead", "cead")])
def test_every_national_code_has_exactly_one_crosswalk_row(source, fixture, request):
    df = request.getfixturevalue(fixture)[0]
    # every code of the held file has its row, in force, with the file's label; rows for codes this file
    # lacks serve files the tests do not hold: form only (pipelines/harmonise/crosswalk_check.py)
    labels = df.drop_duplicates("national_code").set_index("national_code").national_label.to_dict()
    held = df[df.value.notna()]
    years = {c: set(g.year.dropna().astype(int)) for c, g in held.groupby("national_code")}
    years.update({c: set() for c in labels if c not in years})
    assert xwc.check_form(REF, source) == []
    assert xwc.check_against_file(REF, source, years, labels=labels) == []


@pytest.mark.parametrize("source", ["br_sinesp", "cl_cead"])
def test_crosswalk_file_conventions(source, tmp_path):
    path = REF / "crosswalks" / f"{source}.csv"
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw and raw.endswith(b"\n")
    schema = load_schema(REF / "crosswalks" / "crosswalk.schema.json")
    assert validate_csv(path, schema, {"iccs": REF / "iccs" / "iccs.csv"}) == []
    codes = iccs_codes()
    for nc, r in crosswalk(source).items():
        assert "ICCS" in r["rationale"], nc
        assert r["weight"] == "1", nc
        if r["relation"] == "no_match":
            assert r["iccs_code"] == "" and r["rationale"].startswith("Excluded:"), nc
            continue
        assert r["iccs_code"] in codes, f"{nc}: {r['iccs_code']} not in reference/iccs/iccs.csv"
        assert len(r["iccs_code"]) in (2, 4, 5, 6) and r["iccs_code"].isdigit(), nc
        if r["relation"] == "broader":
            assert "broader" in r["rationale"], f"{nc}: say what lies outside"


def test_intentional_homicide_rows(sinesp, cead):
    """Only the rows serving the held files (a row for another file is checked for form only)."""
    br_xw = {c: r for c, r in crosswalk("br_sinesp").items() if c in set(sinesp[0].national_code)}
    cl_xw = {c: r for c, r in crosswalk("cl_cead").items() if c in set(cead[0].national_code)}
    br = {c for c, r in br_xw.items() if r["iccs_code"] == "0101"}
    assert br == {"Homicídio doloso", "Lesão corporal seguida de morte", "Roubo seguido de morte (latrocínio)"}
    assert crosswalk("br_sinesp")["Tentativa de homicídio"]["iccs_code"] == "0102"
    cl = {c.rsplit("|", 1)[-1] for c, r in cl_xw.items() if r["iccs_code"] == "0101"}
    assert cl == {"Homicidios", "Femicidios"}


def test_cead_correspondence_citations_match_the_official_table():
    """Every 'TC row N: CUM c -> code' cited in cl_cead.csv is what sheet Final_TC_2023 says (most
    detailed of N1..N4-2023 UNODC, left-padded by level)."""
    if not TC.exists():
        pytest.skip(f"correspondence table not available: {TC}")
    wb = openpyxl.load_workbook(TC, read_only=True, data_only=True)
    try:
        rows = {i: r for i, r in enumerate(wb["Final_TC_2023"].iter_rows(values_only=True), start=1)}
    finally:
        wb.close()
    head = rows[1]
    idx = [head.index(f"N{k}-2023 UNODC") for k in (1, 2, 3, 4)]
    cited = 0
    for nc, r in crosswalk("cl_cead").items():
        for row, cum, code in re.findall(r"TC row (\d+): CUM (\d+) -> (\d+)", r["rationale"]):
            tc = rows[int(row)]
            levels = [tc[i] for i in idx]
            most = [str(int(v)).zfill(w) for v, w in zip(levels, (2, 4, 5, 6)) if isinstance(v, (int, float))][-1]
            assert (str(tc[0]), most) == (cum, code), f"{nc}: TC row {row} is CUM {tc[0]} -> {most}"
            cited += 1
    assert cited >= 60


def test_cead_grand_total_row_is_checked_and_dropped(tmp_path):
    cols = "BCDEFGHIJKLM"
    totals = [sum(v[i] for _, v in FAMILIES.values()) for i in range(12)]
    ok = _edited_copy(tmp_path, {"A88": "Total", **{f"{c}88": v for c, v in zip(cols, totals)}})
    df, st = adapt("cl_cead", ok)
    assert st["total_rows"] == 1 and 88 not in set(df.line) and len(df) == 48 * 12
    bad = _edited_copy(tmp_path, {"A88": "Total", **{f"{c}88": v + 1 for c, v in zip(cols, totals)}})
    with pytest.raises(SubmissionError) as ei:
        adapt("cl_cead", bad)
    assert (ei.value.problems[0].rule, ei.value.problems[0].line) == ("S1", 88)
