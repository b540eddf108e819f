"""The harmonise engine on small hand-made submissions: every rule of the engine can fail here."""

from pathlib import Path

import pandas as pd
import pytest

from pipelines.adapters import load_all_specs
from pipelines.contracts.tables import RAW_COLUMNS
from pipelines.harmonise import HarmoniseError, harmonise

REF = Path(__file__).resolve().parents[2] / "reference"


def _cells(rows, sid="ar_snic__20250101__aaaaaaaa", source="ar_snic"):
    base = {c: None for c in RAW_COLUMNS}
    out = []
    for i, r in enumerate(rows):
        d = {**base, "submission_id": sid, "source_id": source, "file_name": "f.csv", "line": i + 2,
             "column_name": "cantidad_hechos", "country_iso3": "ARG", "year": 2020, "month": None,
             "measure": "offences", "unit": "count", "sex": "_T", "age": "_T", "relationship": "_T",
             "obs_status": "A", **r}
        out.append(d)
    df = pd.DataFrame(out)
    df["month"] = df["month"].astype("Int64")
    df["line"] = df["line"].astype("int64")
    df["year"] = df["year"].astype("int64")
    df["value"] = df["value"].astype("float64")
    return df


def _subs(tmp_path, frames):
    """Each (cells, received_at) written as a validated file: the submissions table harmonise takes."""
    subs = []
    for i, (df, received) in enumerate(frames):
        p = tmp_path / f"s{i}.parquet"
        df.to_parquet(p)
        subs.append({"submission_id": df.submission_id.iloc[0], "source_id": df.source_id.iloc[0],
                     "received_at": received, "validated_path": str(p)})
    return pd.DataFrame(subs)


def _run(tmp_path, frames):
    return harmonise(_subs(tmp_path, frames), load_all_specs(REF), REF)


def _get(res, **kw):
    df = res.indicators
    m = pd.Series(True, index=df.index)
    for k, v in kw.items():
        m &= df[k].isna() if v is None else (df[k] == v)
    return df[m]


def test_latest_vintage_wins_and_parent_residual(tmp_path):
    # 2023: the SNIC children 21_x are in the crosswalk from 2023 (valid_from)
    old = _cells([{"national_code": "1", "value": 10.0, "year": 2023}], sid="ar_snic__20240101__aaaaaaaa")
    new = _cells([{"national_code": "1", "value": 12.0, "year": 2023},
                  {"national_code": "21", "value": 100.0, "year": 2023},
                  {"national_code": "21_1", "value": 30.0, "year": 2023},   # extortion -> 02051
                  {"national_code": "21_2", "value": 5.0, "year": 2023}],   # kidnapping for ransom
                 sid="ar_snic__20250101__bbbbbbbb")
    res = _run(tmp_path, [(old, "2024-01-01T00:00:00"), (new, "2025-01-01T00:00:00")])
    h = _get(res, iccs_code="0101", subdivision_code=None, month=None, measure="offences", sex="_T")
    assert h.value.tolist() == [12.0] and h.submission_id.tolist() == ["ar_snic__20250101__bbbbbbbb"]
    cells = res.cells.set_index("national_code")
    assert cells.loc["21", "value_used"] == 65.0 and cells.loc["21", "value_reported"] == 100.0
    assert "residual" in cells.loc["21", "hierarchy_note"]
    # whatever ICCS codes the 21_x map to, the grand total over sections equals 12 + 100, not 12 + 135
    secs = res.indicators[(res.indicators.iccs_level == 1) & res.indicators.subdivision_code.isna()
                          & (res.indicators.measure == "offences")]
    assert secs.value.sum() == 112.0


def test_unmapped_code_stops_with_its_name(tmp_path):
    df = _cells([{"national_code": "99_9", "national_label": "Nuevo delito", "value": 1.0}])
    with pytest.raises(HarmoniseError, match="99_9") as ei:
        _run(tmp_path, [(df, "2025-01-01")])
    assert "C1" in str(ei.value)


def test_no_match_codes_are_excluded_with_reason(tmp_path):
    df = _cells([{"national_code": "31", "value": 7.0}, {"national_code": "1", "value": 3.0}])
    res = _run(tmp_path, [(df, "2025-01-01")])
    assert res.excluded.national_code.tolist() == ["31"]
    assert res.excluded.excluded_reason.iloc[0].startswith("no ICCS match")
    assert _get(res, iccs_code="01", subdivision_code=None).value.tolist() == [3.0]


def test_months_to_year_provisional_and_national_from_subdivisions(tmp_path):
    rows = []
    for sub in ("01", "02"):
        for m in range(1, 13):
            rows.append({"national_code": "Feminicidio|Feminicidio|Con arma blanca", "subdivision_code": sub,
                         "month": m, "value": None if (m == 12) else 1.0, "country_iso3": "MEX",
                         "obs_status": "M" if m == 12 else "A"})
    df = _cells(rows, sid="mx_sesnsp__20250101__cccccccc", source="mx_sesnsp")
    res = _run(tmp_path, [(df, "2025-01-01")])
    nat = _get(res, iccs_code="0101", subdivision_code=None, month=None)
    assert nat.value.tolist() == [22.0] and nat.obs_status.tolist() == ["P"]
    assert nat.derivation.tolist() == ["subdivisions"] and nat.months_reported.tolist() == [11]
    dec = _get(res, iccs_code="0101", subdivision_code=None, month=12)
    assert dec.value.isna().all() and dec.obs_status.tolist() == ["M"]
    assert res.stats["unused_crosswalk_rows"] > 0  # the other 97 SESNSP rows are reported as unused


def test_rates_from_reference_population(tmp_path):
    df = _cells([{"national_code": "1", "value": 4500.0}])
    res = _run(tmp_path, [(df, "2025-01-01")])
    r = _get(res, iccs_code="0101", subdivision_code=None, month=None).iloc[0]
    pop = pd.read_csv(REF / "population" / "national.csv", dtype=str)
    wb = float(pop[(pop.country_iso3 == "ARG") & (pop.year == "2020") & (pop.source_id == "wb_sp_pop_totl")]
               .population.iloc[0])
    assert r.population == wb and r.rate_per_100k == pytest.approx(4500 / wb * 1e5)
    assert r.population_source == "wb_sp_pop_totl"


def test_value_from_part_of_its_categories_is_not_complete(tmp_path):
    """Issue 9, item 6: SESNSP maps four weapon categories of homicidio doloso to 0101. In Colima (06),
    2023-05, the 'No especificado' cell is empty (not reported): the sum of the other three is published
    as provisional with 3 of 4 cells, in the month, the year and every roll-up, never as A."""
    codes = ["Homicidio|Homicidio doloso|Con arma de fuego", "Homicidio|Homicidio doloso|Con arma blanca",
             "Homicidio|Homicidio doloso|Con otro elemento", "Homicidio|Homicidio doloso|No especificado"]
    rows = [{"national_code": c, "subdivision_code": "06", "month": m, "year": 2023, "country_iso3": "MEX",
             "value": None if (m == 5 and c.endswith("No especificado")) else 2.0,
             "obs_status": "M" if (m == 5 and c.endswith("No especificado")) else "A"}
            for c in codes for m in range(1, 13)]
    res = _run(tmp_path, [(_cells(rows, sid="mx_sesnsp__20250101__aaaaaaaa", source="mx_sesnsp"), "2025-01-01")])
    may = _get(res, iccs_code="0101", subdivision_code="06", month=5, measure="offences", sex="_T").iloc[0]
    assert may.value == 6.0 and may.obs_status == "P"
    assert (may.n_cells, may.n_cells_reported) == (4, 3) and "3 of 4 national cells" in may.obs_note
    apr = _get(res, iccs_code="0101", subdivision_code="06", month=4, measure="offences", sex="_T").iloc[0]
    assert apr.value == 8.0 and apr.obs_status == "A" and (apr.n_cells, apr.n_cells_reported) == (4, 4)
    year = _get(res, iccs_code="0101", subdivision_code="06", month=None, measure="offences", sex="_T").iloc[0]
    assert year.value == 94.0 and year.obs_status == "P" and year.months_reported == 12
    assert (year.n_cells, year.n_cells_reported) == (48, 47)
    assert "47 of 48 national cells" in year.obs_note and "months" not in year.obs_note
    # national (from subdivisions) and the ICCS section 01 inherit the flag
    for code in ("0101", "01"):
        nat = _get(res, iccs_code=code, subdivision_code=None, month=None, measure="offences", sex="_T").iloc[0]
        assert nat.obs_status == "P" and nat.derivation == "subdivisions"
    # no value built from part of its cells is ever A
    ind = res.indicators
    assert not ((ind.n_cells_reported < ind.n_cells) & (ind.obs_status == "A")).any()


def test_rollup_over_an_unreported_category_is_not_complete(tmp_path):
    """SNIC records no victims for some offences (empty cells): ICCS 01 victims summed over 0101 (reported)
    and 0102 (empty) is P with 1 of 2 cells; 01 offences (both reported) stays A."""
    rows = [{"national_code": "1", "measure": "victims", "value": 5.0},
            {"national_code": "2", "measure": "victims", "value": None, "obs_status": "M"},
            {"national_code": "1", "value": 4.0}, {"national_code": "2", "value": 3.0}]
    res = _run(tmp_path, [(_cells(rows), "2025-01-01")])
    v = _get(res, iccs_code="01", subdivision_code=None, measure="victims", sex="_T").iloc[0]
    assert v.value == 5.0 and v.obs_status == "P" and (v.n_cells, v.n_cells_reported) == (2, 1)
    o = _get(res, iccs_code="01", subdivision_code=None, measure="offences", sex="_T").iloc[0]
    assert o.value == 7.0 and o.obs_status == "A" and (o.n_cells, o.n_cells_reported) == (2, 2)


def test_a_fact_built_from_two_submissions_counts_both(tmp_path):
    """CTS vintage units go by code: two codes mapped to one ICCS code can come from two releases, and the fact
    they sum says so (n_submissions 2); a fact from one release says 1."""
    ipf, unknown = ("Victims of serious assault|Intimate partner or family member",
                    "Victims of serious assault|Perpetrator unknown to the victim")
    a = _cells([{"national_code": ipf, "value": 4.0}, {"national_code": "Offences|Burglary", "value": 7.0}],
               sid="unodc_cts__20240101__aaaaaaaa", source="unodc_cts")
    b = _cells([{"national_code": unknown, "value": 6.0}], sid="unodc_cts__20250101__bbbbbbbb", source="unodc_cts")
    res = _run(tmp_path, [(a, "2024-01-01T00:00:00"), (b, "2025-01-01T00:00:00")])
    ind = res.indicators.set_index("iccs_code")
    assert ind.loc["020111", "value"] == 10.0 and ind.loc["020111", "n_submissions"] == 2
    assert ind.loc["020111", "submission_id"] == "unodc_cts__20250101__bbbbbbbb"
    assert ind.loc["0501", "n_submissions"] == 1
    assert str(res.indicators["n_submissions"].dtype) == "int64"


def test_a_key_repeated_in_a_release_counts_once_from_its_first_line(tmp_path):
    """Rule C4 rejects such files; should one reach harmonisation (the rule switched off), the first line of a
    repeated key gives the cell and the other is not added to it."""
    df = _cells([{"national_code": "1", "value": 5.0}, {"national_code": "1", "value": 50.0},
                 {"national_code": "2", "value": 3.0}])
    res = _run(tmp_path, [(df, "2025-01-01T00:00:00")])
    assert res.stats["source_cells"] == 3 and res.stats["latest_cells"] == 2
    cells = res.cells[res.cells.national_code == "1"]
    assert cells[["line", "value_used"]].values.tolist() == [[2, 5.0]]
    ind = res.indicators[res.indicators.subdivision_code.isna()].set_index("iccs_code")
    assert ind.loc["0101", "value"] == 5.0


def test_published_cells_name_the_crosswalk_row_in_force(tmp_path):
    """Each cell carries the crosswalk row that mapped it: its ICCS code, relation and rationale, as the
    reviewed CSV says for the cell's year (the rationale joined when the cells are written)."""
    from pipelines.harmonise import reference as ref

    df = _cells([{"national_code": "1", "value": 5.0, "year": 2023}, {"national_code": "11_2", "value": 2.0, "year": 2023},
                 {"national_code": "3", "value": 4.0, "year": 2023}])
    res = _run(tmp_path, [(df, "2025-01-01T00:00:00")])
    xw = ref.crosswalk(REF, "ar_snic").set_index("national_code")
    cells = res.cells.set_index("national_code")
    for code in ("1", "11_2", "3"):
        assert cells.loc[code, "crosswalk_rationale"] == xw.loc[code, "rationale"], code
        assert cells.loc[code, "relation"] == xw.loc[code, "relation"], code
    assert cells.loc["3", "excluded_reason"].startswith("no ICCS match: ")
    assert cells.loc["11_2", "iccs_code"] == "03012"


def test_reported_rates_are_published_only_in_the_parts_that_have_them(tmp_path):
    """A rate the source publishes without a count (World Bank WDI) is an indicator of its own ('reported_rate',
    value empty, the rate as published); a run in parts where one part has no rate at all skips the query
    there and still gives the same rows and columns as one run."""
    wb = _cells([{"national_code": "VC.IHR.PSRC.P5", "value": 4.3, "unit": "rate_per_100k", "year": 2019,
                  "country_iso3": "ARG", "measure": "victims", "column_name": "value"}],
                sid="wb_wdi__20250101__cccccccc", source="wb_wdi")
    snic = _cells([{"national_code": "1", "value": 12.0, "year": 2019, "country_iso3": "BRA"}])
    subs = _subs(tmp_path, [(wb, "2025-01-01T00:00:00"), (snic, "2025-01-01T00:00:00")])
    specs = load_all_specs(REF)
    one = harmonise(subs, specs, REF, out_dir=tmp_path / "one", part_cells=10 ** 12)
    split = harmonise(subs, specs, REF, out_dir=tmp_path / "split", part_cells=1)
    assert one.stats["reported_rates"] == split.stats["reported_rates"] == 1 and split.stats["parts"] == 2
    for res in (one, split):
        r = res.indicators[res.indicators["derivation"] == "reported_rate"]
        assert r[["country_iso3", "iccs_code", "year", "rate_per_100k"]].values.tolist() == [["ARG", "0101", 2019, 4.3]]
        assert r["value"].isna().all() and r["source_id"].tolist() == ["wb_wdi"]
    pd.testing.assert_frame_equal(one.indicators.reset_index(drop=True), split.indicators.reset_index(drop=True))
