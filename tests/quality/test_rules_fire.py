"""Every rule fires on a crafted defect in a copy of a real file and stays quiet on the clean file.

Where the real file itself already has findings for a rule (real data are not perfect), "quiet" is
asserted at the place the defect is planted: the clean file has no failure there.
Base file: Argentina SNIC national (snic-pais.csv, ';' + decimal comma), unless stated.
"""

from dataclasses import replace
from datetime import datetime, timezone

import pandas as pd
import pytest

from pipelines.adapters import SubmissionError, load_spec
from pipelines.harmonise import reference as ref
from tests.quality.conftest import REF, adapt, indicators, line_of, rule, run, write

COL = {"anio": 0, "code": 1, "hechos": 3, "victimas": 4, "masc": 5, "fem": 6, "sd": 7, "tasa_hechos": 8}


def setf(lines, i, col, value: bytes):
    f = lines[i].split(b";")
    f[COL[col]] = value
    out = list(lines)
    out[i] = b";".join(f)
    return out


def getf(lines, i, col) -> bytes:
    return lines[i].split(b";")[COL[col]]


def lines_of(res):
    return set(res.failures["line"].dropna().astype(int))


def cells_of(res):
    f = res.failures.dropna(subset=["line"])
    return set(zip(f["line"].astype(int), f["column_name"]))


# ---- structure ------------------------------------------------------------------------------------
def test_S1_file_parses(tmp_path, pais_lines):
    bad = list(pais_lines)
    bad[5] = b"2000;5;Lesiones dolosas;1234"  # row cut short
    with pytest.raises(SubmissionError) as ei:
        adapt(write(tmp_path, bad, "snic-pais.csv"), "ar_snic")
    res = run("S1", None, "ar_snic", problems=ei.value.problems)
    assert res.status == "fail" and lines_of(res) == {6}
    clean = run("S1", None, "ar_snic", problems=[])
    assert clean.status == "pass"


def test_S2_encoding(tmp_path, pais_lines):
    bad = list(pais_lines)
    bad[7] = bad[7].replace(b"Lesiones", b"Lesi\xf3nes")  # a latin-1 byte in a file declared utf-8
    with pytest.raises(SubmissionError) as ei:
        adapt(write(tmp_path, bad, "snic-pais.csv"), "ar_snic")
    res = run("S2", None, "ar_snic", problems=ei.value.problems)
    assert res.status == "fail" and lines_of(res) == {8}
    assert run("S2", None, "ar_snic", problems=[]).status == "pass"


def test_S3_months_complete(tmp_path, mx_small):
    clean = adapt(mx_small, "mx_sesnsp")
    res = run("S3", clean, "mx_sesnsp")
    assert res.status == "pass"
    assert any("2024" in n and "Diciembre" in n and "not zero" in n for n in res.notes)  # provisional period
    lines = mx_small.read_bytes().split(b"\r\n")
    i = next(i for i, ln in enumerate(lines) if ln.startswith(b"2020,1,"))
    f = lines[i].split(b",")
    f[9] = b""  # Marzo 2020 blank in the middle of a year
    lines[i] = b",".join(f)
    bad = adapt(write(tmp_path, lines, "estatal.csv"), "mx_sesnsp")
    res = run("S3", bad, "mx_sesnsp")
    assert res.status == "fail" and lines_of(res) == {i + 1}


# ---- classification --------------------------------------------------------------------------------
def test_C1_crosswalk_covers(tmp_path, pais_lines, pais_clean):
    assert run("C1", pais_clean, "ar_snic").status == "pass"
    bad = setf(pais_lines, 9, "code", b"99")
    res = run("C1", adapt(write(tmp_path, bad, "snic-pais.csv"), "ar_snic"), "ar_snic")
    assert res.status == "fail" and res.failures["national_code"].tolist() == ["99"] and lines_of(res) == {10}


def test_C2_iccs_code_valid(pais_clean):
    xw = ref.crosswalk(REF, "ar_snic")
    assert run("C2", pais_clean, "ar_snic", crosswalk=xw).status == "pass"
    bad = xw.copy()
    bad.loc[bad["national_code"] == "1", "iccs_code"] = "0199"   # not an ICCS code
    bad.loc[bad["national_code"] == "2", "iccs_code"] = "102"    # lost its leading zero
    res = run("C2", pais_clean, "ar_snic", crosswalk=bad)
    assert res.status == "fail" and set(res.failures["national_code"]) == {"0199", "102"}


def test_C3_codelist(pais_clean):
    assert run("C3", pais_clean, "ar_snic").status == "pass"
    bad = pais_clean.copy()
    bad.loc[5, "sex"] = "Mayor de edad"      # an age value in the sex column (the Costa Rica OIJ defect)
    bad.loc[9, "country_iso3"] = "ESP"       # not an OAS member state
    res = run("C3", bad, "ar_snic")
    assert res.status == "fail" and res.failing_rows == 2
    assert set(res.failures["value"]) == {"Mayor de edad", "ESP"}
    assert set(res.failures["line"]) == {int(bad.loc[5, "line"]), int(bad.loc[9, "line"])}


def test_C4_unique_key(tmp_path, pais_lines, pais_clean):
    assert run("C4", pais_clean, "ar_snic").status == "pass"
    bad = pais_lines[:20] + [pais_lines[3]] + pais_lines[20:]
    res = run("C4", adapt(write(tmp_path, bad, "snic-pais.csv"), "ar_snic"), "ar_snic")
    assert res.status == "fail" and "4, 21" in set(res.failures["line"])


# ---- validity ----------------------------------------------------------------------------------------
def test_V1_value_range(tmp_path, pais_lines, pais_clean):
    assert run("V1", pais_clean, "ar_snic").status == "pass"
    bad = setf(pais_lines, 4, "hechos", b"2120,5")  # a fractional count
    res = run("V1", adapt(write(tmp_path, bad, "snic-pais.csv"), "ar_snic"), "ar_snic")
    assert res.status == "fail" and lines_of(res) == {5} and res.failures["column_name"].tolist() == ["cantidad_hechos"]
    neg = setf(pais_lines, 4, "hechos", b"-3")
    with pytest.raises(SubmissionError) as ei:  # negative counts are refused by the adapter itself (rule V1)
        adapt(write(tmp_path, neg, "snic-pais.csv"), "ar_snic")
    assert ei.value.problems[0].rule == "V1" and ei.value.problems[0].line == 5


def test_F1_obs_status(pais_clean):
    assert run("F1", pais_clean, "ar_snic").status == "pass"
    bad = pais_clean.copy()
    bad.loc[3, "obs_status"] = "X"
    bad.loc[4, ["obs_status", "obs_note"]] = ["E", None]  # estimated without a note
    res = run("F1", bad, "ar_snic")
    assert res.status == "fail" and res.failing_rows == 2


# ---- internal consistency ------------------------------------------------------------------------------
def test_I1_breakdown_sums(tmp_path, pais_lines, pais_clean):
    i = line_of(pais_lines, b"2005", b"1")
    assert i + 1 not in lines_of(run("I1", pais_clean, "ar_snic"))
    bad = setf(pais_lines, i, "masc", str(int(getf(pais_lines, i, "masc")) + 50).encode())
    res = run("I1", adapt(write(tmp_path, bad, "snic-pais.csv"), "ar_snic"), "ar_snic")
    assert i + 1 in lines_of(res)


def test_I2_child_le_parent(tmp_path, pais_lines, pais_clean):
    clean = run("I2", pais_clean, "ar_snic")
    assert clean.status == "pass"
    assert any("twice" in n for n in clean.notes)  # parent and child codes both published: reported
    i = line_of(pais_lines, b"2019", b"28_1")
    bad = setf(pais_lines, i, "hechos", b"999999")
    res = run("I2", adapt(write(tmp_path, bad, "snic-pais.csv"), "ar_snic"), "ar_snic")
    assert res.status == "fail" and res.failures["year"].tolist() == [2019]


def test_I3_victims_per_offence(tmp_path, pais_lines, pais_clean):
    r = run("I3", indicators(pais_clean, tmp_path), "ar_snic")
    assert 2005 not in set(r.failures["year"])
    i = line_of(pais_lines, b"2005", b"1")
    bad = setf(pais_lines, i, "victimas", str(int(getf(pais_lines, i, "victimas")) * 3).encode())
    res = run("I3", indicators(adapt(write(tmp_path, bad, "snic-pais.csv"), "ar_snic"), tmp_path), "ar_snic")
    assert res.status == "fail" and 2005 in set(res.failures["year"])


def test_I4_reported_rate(tmp_path, pais_lines, pais_clean):
    pop = ref.population_national(REF)
    snic_base = pop[pop["source_id"] == "ar_snic_implied"]  # the publisher's own denominator
    i = line_of(pais_lines, b"2020", b"1")
    assert i + 1 not in lines_of(run("I4", pais_clean, "ar_snic", population_national=snic_base))
    bad = setf(pais_lines, i, "tasa_hechos", b"9,99")
    res = run("I4", adapt(write(tmp_path, bad, "snic-pais.csv"), "ar_snic"), "ar_snic", population_national=snic_base)
    assert i + 1 in lines_of(res)


# ---- plausibility ------------------------------------------------------------------------------------
def test_P1_rate_range(tmp_path, pais_lines, pais_clean):
    assert run("P1", indicators(pais_clean, tmp_path), "ar_snic").status == "pass"
    i = line_of(pais_lines, b"2010", b"1")
    bad = setf(pais_lines, i, "hechos", b"90000")
    res = run("P1", indicators(adapt(write(tmp_path, bad, "snic-pais.csv"), "ar_snic"), tmp_path), "ar_snic")
    assert res.status == "fail" and res.failures["year"].tolist() == [2010]


@pytest.mark.parametrize("rule_id,factor", [("P2", 3), ("P3", 8)])
def test_P2_P3_spikes(tmp_path, pais_lines, pais_clean, rule_id, factor):
    i = line_of(pais_lines, b"2018", b"5")  # intentional injuries, a large stable series
    cell = (i + 1, "cantidad_hechos")
    assert cell not in cells_of(run(rule_id, pais_clean, "ar_snic"))
    bad = setf(pais_lines, i, "hechos", str(int(getf(pais_lines, i, "hechos")) * factor).encode())
    res = run(rule_id, adapt(write(tmp_path, bad, "snic-pais.csv"), "ar_snic"), "ar_snic")
    assert cell in cells_of(res)
    assert res.series and all(s["points"] for s in res.series)  # flagged series are charted


def test_P4_shares(tmp_path, pais_lines, pais_clean):
    i = line_of(pais_lines, b"2016", b"1")
    assert i + 1 not in lines_of(run("P4", pais_clean, "ar_snic"))
    bad = setf(pais_lines, i, "fem", b"0")
    res = run("P4", adapt(write(tmp_path, bad, "snic-pais.csv"), "ar_snic"), "ar_snic")
    assert 2016 in set(res.failures["year"])


def test_P5_break_to_zero(tmp_path, pais_lines, pais_clean):
    i = line_of(pais_lines, b"2012", b"13")
    cell = (i + 1, "cantidad_hechos")
    assert cell not in cells_of(run("P5", pais_clean, "ar_snic"))
    bad = setf(pais_lines, i, "hechos", b"0")
    res = run("P5", adapt(write(tmp_path, bad, "snic-pais.csv"), "ar_snic"), "ar_snic")
    assert cell in cells_of(res)
    blank = setf(pais_lines, i, "hechos", b"")  # empty is "not reported", never a break to zero
    assert cell not in cells_of(run("P5", adapt(write(tmp_path, blank, "snic-pais.csv"), "ar_snic"), "ar_snic"))


# ---- accuracy / coherence ------------------------------------------------------------------------------
def wb_homicide_rates() -> pd.DataFrame:
    """World Bank VC.IHR.PSRC.P5 read straight from the real file (not yet an ingested source)."""
    import csv
    import io

    from tests.conftest import real

    text = real("wb_wdi/API_VC.IHR.PSRC.P5_DS2_en_csv_v2_4355130.csv").read_text("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[4]
    out = []
    for r in rows[5:]:
        for j, y in enumerate(header[4:], start=4):
            if y.isdigit() and j < len(r) and r[j]:
                out.append({"country_iso3": r[1], "year": int(y), "rate": float(r[j]), "source_id": "wb_wdi"})
    return pd.DataFrame(out)


def test_X1_two_sources(tmp_path, pais_lines, pais_clean):
    wb = wb_homicide_rates()
    clean = run("X1", indicators(pais_clean, tmp_path), "ar_snic", comparison=wb)
    assert clean.status != "not_applicable" and 2015 not in set(clean.failures["year"])
    i = line_of(pais_lines, b"2015", b"1")
    bad = setf(pais_lines, i, "hechos", str(int(getf(pais_lines, i, "hechos")) * 2).encode())
    res = run("X1", indicators(adapt(write(tmp_path, bad, "snic-pais.csv"), "ar_snic"), tmp_path), "ar_snic",
              comparison=wb)
    assert 2015 in set(res.failures["year"]) and res.series  # charted against the comparison


def test_X1_mexico_police_vs_world_bank(wh):
    """SESNSP counts case files opened by prosecutors (police/justice source); the WB rate for Mexico is
    the UNODC series built on INEGI death records (public health). X1 compares them: every year is
    inside the warn band 0.8-1.25 but outside the 0.9-1.1 agreement band, and X1 reports each one."""
    ind = wh.execute("select * from published.indicators where source_id = 'mx_sesnsp'").df()
    res = run("X1", ind, "mx_sesnsp", comparison=wb_homicide_rates())
    assert res.status == "pass"  # no year outside 0.8-1.25
    assert res.notes[0].startswith("0 of 6 country-years agree")
    n2017 = next(n for n in res.notes if n.startswith("MEX 2017"))
    # 25,777 case files / World Bank population 2017 = 20.9 per 100k vs 25.7 in the WB file
    assert "ratio 0.81" in n2017 and "mx_sesnsp 20.9" in n2017 and "25.7" in n2017
    assert res.series and res.series[0]["points2"]  # both series charted


def test_X2_two_institutions(tmp_path, pais_clean):
    ind = indicators(pais_clean, tmp_path)
    twin = ind.assign(source_id="ar_mpf")
    assert run("X2", pd.concat([ind, twin]), "ar_snic").status == "pass"
    skew = twin.copy()
    skew.loc[skew["year"] == 2018, "value"] *= 1.3
    res = run("X2", pd.concat([ind, skew]), "ar_snic")
    assert res.status == "fail" and set(res.failures["year"]) == {2018}


def test_X3_national_vs_subdivisions(tmp_path, pais_lines, pais_clean):
    from tests.conftest import real

    provinces = adapt(real("ar_snic/snic-provincias.csv"), "ar_snic").assign(
        submission_id="ar_snic__20240101__11111111")  # another accepted submission of the source
    i = line_of(pais_lines, b"2010", b"1")
    assert i + 1 not in lines_of(run("X3", pais_clean, "ar_snic", related=provinces))
    bad = setf(pais_lines, i, "hechos", str(int(getf(pais_lines, i, "hechos")) + 500).encode())
    res = run("X3", adapt(write(tmp_path, bad, "snic-pais.csv"), "ar_snic"), "ar_snic", related=provinces)
    assert i + 1 in lines_of(res)


def test_X3_counts_once_whatever_the_number_of_vintages(pais_clean):
    """Issue 13: X3's rows were repeated once per vintage of the source (268, then 536, then 804): every older
    vintage's national rows and subdivisions were added in. Now one vintage per cell (the latest) is used, and
    a finding always involves this submission's rows."""
    from tests.conftest import real

    provinces = adapt(real("ar_snic/snic-provincias.csv"), "ar_snic")
    one = run("X3", pais_clean, "ar_snic", related=provinces.assign(submission_id="ar_snic__20240101__11111111"))
    vintages = pd.concat([provinces.assign(submission_id=f"ar_snic__2024010{i}__1111111{i}") for i in (1, 2, 3)]
                         + [pais_clean.assign(submission_id="ar_snic__20230101__00000000")])
    three = run("X3", pais_clean, "ar_snic", related=vintages)
    assert one.status == "fail" and one.failing_rows > 0
    assert three.failing_rows == one.failing_rows
    assert lines_of(three) == lines_of(one)


# ---- completeness / coverage -------------------------------------------------------------------------
def test_K1_completeness(tmp_path, pais_clean):
    ind = indicators(pais_clean, tmp_path)
    base = run("K1", ind, "ar_snic", rule_obj=rule("K1", "ar_snic", target=0.0))
    r = rule("K1", "ar_snic")
    core = [str(c) for c in r.params["core_iccs"]]
    have = ind[(ind.year == 2015) & ind.subdivision_code.isna() & ind.month.isna() & (ind.sex == "_T")
               & (ind.measure == "offences") & ind.iccs_code.isin(core) & ind.value.notna()].iccs_code.nunique()
    target = have / len(core)
    quiet = run("K1", ind, "ar_snic", rule_obj=replace(r, params={**r.params, "target": target}))
    assert 2015 not in set(quiet.failures["year"]) and base.status == "pass"
    gap = ind[~((ind.year == 2015) & ind.iccs_code.str.startswith("0101"))]
    res = run("K1", gap, "ar_snic", rule_obj=replace(r, params={**r.params, "target": target}))
    assert 2015 in set(res.failures["year"])


def test_K2_coverage(tmp_path):
    from tests.conftest import real

    src = real("ar_snic/snic-provincias.csv").read_bytes().split(b"\r\n")
    clean = adapt(real("ar_snic/snic-provincias.csv"), "ar_snic")
    assert run("K2", clean, "ar_snic").status == "pass"
    bad = [ln for ln in src if not (ln.startswith(b"94,") and b",2020," in ln)]  # Tierra del Fuego 2020 gone
    res = run("K2", adapt(write(tmp_path, bad, "snic-provincias.csv"), "ar_snic"), "ar_snic")
    assert res.status == "fail" and res.failures[["year", "subdivision_code"]].values.tolist() == [[2020, "94"]]


def test_K2_fbi_mississippi_gap():
    """FBI estimated crimes: Mississippi is absent 1979-1994 (50 state rows instead of 51)."""
    import csv

    from tests.conftest import real

    rows = []
    with open(real("us_fbi/estimated_crimes_1979_2019.csv"), encoding="utf-8", newline="") as fh:
        for i, d in enumerate(csv.DictReader(fh), start=2):
            rows.append({"file_name": "estimated_crimes_1979_2019.csv", "line": i, "column_name": "homicide",
                         "country_iso3": "USA", "subdivision_code": d["state_abbr"] or None, "year": int(d["year"]),
                         "month": None, "national_code": "homicide", "measure": "offences", "unit": "count",
                         "sex": "_T", "age": "_T", "relationship": "_T",
                         "value": float(d["homicide"]) if d["homicide"] else None, "obs_status": "A"})
    res = run("K2", pd.DataFrame(rows), "ar_snic")
    assert res.status == "fail"
    ms = res.failures[res.failures["subdivision_code"] == "MS"]
    assert sorted(ms["year"]) == list(range(1979, 1995))
    assert set(res.failures["subdivision_code"]) == {"MS"}


def test_K2_reference_units_only_where_the_source_should_report_them():
    """With populations for every Colombian municipality and Chilean region in reference, K2 must not
    read a record-level file (a municipality without homicide records had none) nor a one-region CEAD
    report (national_from_subdivisions: false) as missing units; a panel source still is (ARG, above)."""
    from tests.conftest import real

    co = adapt(real("co_policia/homicidios_2019_3.xlsx"), "co_policia")
    assert co.subdivision_code.nunique() < 1000 < len(ref.population_subnational(REF).query("country_iso3 == 'COL'")
                                                      .subdivision_code.unique())
    assert run("K2", co, "co_policia").status == "pass"
    cl = adapt(real("cl_cead/reportesEstadisticos-porDelito_Atacama.xlsx"), "cl_cead")
    assert set(cl.subdivision_code) == {"03"}
    assert run("K2", cl, "cl_cead").status == "pass"


# ---- timeliness / revisions / metadata -------------------------------------------------------------------
def test_T1_T2_timeliness(pais_clean):
    on_time = datetime(2023, 4, 30, tzinfo=timezone.utc)   # data to 2022, four months later
    late = datetime(2025, 3, 1, tzinfo=timezone.utc)
    for rid in ("T1", "T2"):
        assert run(rid, pais_clean, "ar_snic", received_at=on_time).status == "pass"
        assert run(rid, pais_clean, "ar_snic", received_at=late).status == "fail"


def test_R1_R2_revisions(tmp_path, pais_lines, pais_clean):
    assert run("R1", pais_clean, "ar_snic", previous=pais_clean).status == "pass"
    assert run("R2", pais_clean, "ar_snic", previous=pais_clean).observed.startswith("MAR 0.000")
    i = line_of(pais_lines, b"2005", b"1")
    bad = setf(pais_lines, i, "hechos", b"2500")  # 2120 -> 2500 (+18 %) three years back
    new = adapt(write(tmp_path, bad, "snic-pais.csv"), "ar_snic")
    res = run("R1", new, "ar_snic", previous=pais_clean)
    assert res.status == "fail" and lines_of(res) == {i + 1}
    assert res.failures["expected"].tolist() == ["2120.0"]
    r2 = run("R2", new, "ar_snic", previous=pais_clean)
    assert "MaxAR 380" in r2.observed


def test_M1_metadata(pais_clean):
    spec = load_spec("ar_snic", REF)
    assert run("M1", pais_clean, "ar_snic", spec=spec).status == "pass"
    spec = spec.model_copy(update={"url": None})
    res = run("M1", pais_clean, "ar_snic", spec=spec)
    assert res.status == "fail" and res.failures["column_name"].tolist() == ["url"]


def test_C3_costa_rica_sex_column_repeats_age():
    """Costa Rica OIJ 2023: the Genero column holds the Edad values in every row."""
    import openpyxl

    from tests.conftest import real

    wb = openpyxl.load_workbook(real("cr_oij/estadisticaspoliciales2023.xlsx"), read_only=True)
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    header = list(next(it))
    gi, ei = header.index("Genero"), header.index("Edad")
    rows = []
    for n, r in enumerate(it, start=2):
        rows.append({"file_name": "estadisticaspoliciales2023.xlsx", "line": n, "column_name": "Genero",
                     "country_iso3": "CRI", "sex": r[gi], "measure": "victims", "unit": "count",
                     "national_code": r[1], "year": 2023, "age": r[ei]})
        if n > 3000:
            break
    df = pd.DataFrame(rows)
    assert (df["sex"] == df["age"]).all()
    res = run("C3", df, "ar_snic")
    assert res.status == "fail" and res.failing_rows == len(df)
    assert set(res.failures["value"]) <= {"Mayor de edad", "Menor de edad", "Adulto Mayor", "Desconocido"}


def test_every_rule_has_a_firing_test():
    import re
    from pathlib import Path

    from pipelines.quality import load_rules

    text = Path(__file__).read_text()
    ids = {r.id for r in load_rules(REF.parent / "quality_rules", reference_dir=REF)}
    tested = set(re.findall(r"def test_([A-Z]\d)_", text)) | set(re.findall(r"\"([A-Z]\d)\", \d", text)) \
        | {x for pair in re.findall(r"def test_([A-Z]\d)_([A-Z]\d)_", text) for x in pair}
    assert ids <= tested, ids - tested



def test_C2_names_each_bad_crosswalk_row_by_its_line_in_file_order(pais_clean):
    """Every filled iccs_code that is malformed or unknown, in crosswalk order, with its CSV line (row + 2:
    the header is line 1); empty codes (a code deliberately left unmapped) are not findings."""
    xw = ref.crosswalk(REF, "ar_snic").reset_index(drop=True)
    bad = xw.copy()
    bad.loc[3, "iccs_code"] = "ABCD"      # malformed
    bad.loc[1, "iccs_code"] = "0199"      # well formed, not an ICCS code
    bad.loc[5, "iccs_code"] = None        # empty: skipped
    bad.loc[6, "iccs_code"] = ""          # empty: skipped
    res = run("C2", pais_clean, "ar_snic", crosswalk=bad)
    assert res.status == "fail" and res.failing_rows == 2
    assert res.failures["line"].tolist() == [3, 5]
    assert res.failures["national_code"].tolist() == ["0199", "ABCD"]
    assert res.failures["value"].tolist() == [bad.loc[1, "national_code"], bad.loc[3, "national_code"]]
    assert set(res.failures["file_name"]) == {"crosswalks/ar_snic.csv"}


def test_X3_other_submissions_count_for_availability_but_only_shared_groups_are_compared(tmp_path, pais_lines,
                                                                                         pais_clean):
    """X3 compares only the comparison groups (country, year, month, code, breakdowns) this file has: the
    others' subdivisions of years this file lacks are never summed. They still count for "both kinds
    available": a national file beside provinces of other years passes (it is not "not applicable"), and
    beside no subdivisions at all it is not applicable."""
    from tests.conftest import real

    provinces = adapt(real("ar_snic/snic-provincias.csv"), "ar_snic").assign(
        submission_id="ar_snic__20240101__11111111")
    i = line_of(pais_lines, b"2010", b"1")
    bad = adapt(write(tmp_path, setf(pais_lines, i, "hechos",
                                     str(int(getf(pais_lines, i, "hechos")) + 500).encode()), "snic-pais.csv"),
                "ar_snic")
    shared = run("X3", bad, "ar_snic", related=provinces)
    assert shared.status == "fail" and i + 1 in lines_of(shared)
    # the national year 2010 beside provinces of other years: nothing to compare, but both kinds exist
    only_2010 = bad[bad["year"] == 2010]
    other = provinces[provinces["year"] != 2010]
    res = run("X3", only_2010, "ar_snic", related=other)
    assert res.status == "pass" and res.failing_rows == 0
    assert run("X3", only_2010, "ar_snic", related=provinces[provinces["year"] == 2010]).status == "fail"
    nat_only = run("X3", only_2010, "ar_snic", related=bad[bad["year"] != 2010].assign(
        submission_id="ar_snic__20240101__22222222"))
    assert nat_only.status == "not_applicable"
