"""Issue 9, item 7: crosswalk rows apply only in their valid_from..valid_to years.

Base: the real SNIC national file (2000-2022) and a copy of the project's reference folder where the row of
SNIC code 1 (homicidios dolosos -> ICCS 0101) is made valid from 2010 only."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from pipelines.adapters import load_all_specs
from pipelines.harmonise import harmonise
from pipelines.harmonise import reference as ref
from pipelines.harmonise.engine import HarmoniseError
from tests.quality.conftest import REF, pais_clean, run  # noqa: F401 (fixture)


def _ref_with(tmp_path, code: str, valid_from: str = "", valid_to: str = ""):
    rdir = tmp_path / "reference"
    shutil.copytree(REF, rdir)
    p = rdir / "crosswalks" / "ar_snic.csv"
    xw = pd.read_csv(p, dtype=str, keep_default_na=False)
    xw.loc[xw["national_code"] == code, ["valid_from", "valid_to"]] = [valid_from, valid_to]
    xw.to_csv(p, index=False)
    return rdir


def _harmonise(table, rdir, tmp_path):
    p = tmp_path / "validated.parquet"
    table.to_parquet(p)
    subs = pd.DataFrame([{"submission_id": table.submission_id.iloc[0], "source_id": "ar_snic",
                          "received_at": "2025-01-01T00:00:00", "validated_path": str(p)}])
    return harmonise(subs, load_all_specs(rdir), rdir)


def test_clean_file_is_in_force_every_year(pais_clean):
    assert run("C1", pais_clean, "ar_snic").status == "pass"


def test_code_used_before_valid_from_is_C1(tmp_path, pais_clean):
    rdir = _ref_with(tmp_path, "1", valid_from="2010")
    xw = ref.crosswalk(rdir, "ar_snic")
    res = run("C1", pais_clean, "ar_snic", crosswalk=xw)
    assert res.status == "fail"
    f = res.failures
    assert set(f["national_code"]) == {"1"}
    assert sorted(f["year"].astype(int)) == list(range(2000, 2010))
    assert f["expected"].str.contains("valid 2010–…").all()
    msg = res.rule.render("en", code="1", year=2005, file="snic-pais.csv", line=int(f["line"].iloc[0]), value="1")
    assert "in force for 2005" in msg


def test_harmonise_maps_only_within_validity(tmp_path, pais_clean):
    # in force from 2010: the earlier years stop the run, naming the code and the years
    rdir = _ref_with(tmp_path, "1", valid_from="2010")
    with pytest.raises(HarmoniseError) as ei:
        _harmonise(pais_clean, rdir, tmp_path)
    d = ei.value.details
    assert set(d["national_code"]) == {"1"} and sorted(d["year"].astype(int)) == list(range(2000, 2010))

    # in force for every year of the file: 0101 is published for 2000-2022 (raw file, code 1,
    # cantidad_hechos: 2000 2,653; 2022 1,890)
    rdir = _ref_with(tmp_path / "b", "1", valid_from="2000", valid_to="2022")
    ind = _harmonise(pais_clean, rdir, tmp_path).indicators
    h = ind[(ind.iccs_code == "0101") & (ind.measure == "offences") & ind.subdivision_code.isna()
            & ind.month.isna() & (ind.sex == "_T")].set_index("year")["value"]
    assert h[2000] == 2653 and h[2022] == 1890 and len(h) == 23

    # no longer in force after 2015: 2016-2022 stop the run
    rdir = _ref_with(tmp_path / "c", "1", valid_to="2015")
    with pytest.raises(HarmoniseError) as ei:
        _harmonise(pais_clean, rdir, tmp_path)
    assert sorted(ei.value.details["year"].astype(int)) == list(range(2016, 2023))
