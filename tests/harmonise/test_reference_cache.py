"""Reference tables are parsed once per content (reference._csv): the same frame each call, a fresh copy a
caller may change, and a file changed in place — even to the same size and modification time — read again."""

import os
import shutil
from pathlib import Path

import pytest

from pipelines.harmonise import reference as ref

REF = Path(__file__).resolve().parents[2] / "reference"


def test_the_same_table_each_call_and_a_copy_to_change(tmp_path):
    rdir = tmp_path / "reference"
    shutil.copytree(REF / "population", rdir / "population")
    first = ref.population_national(rdir)
    first.loc[:, "population"] = -1.0                   # a caller changing its frame
    again = ref.population_national(rdir)
    assert (again["population"] > 0).all()
    assert again.equals(ref.population_national(rdir))


def test_a_file_changed_in_place_is_read_again(tmp_path):
    rdir = tmp_path / "reference"
    shutil.copytree(REF / "countries", rdir / "countries")
    path = rdir / "countries" / "oas_members.csv"
    before = ref.countries(rdir)
    st = path.stat()
    text = path.read_text("utf-8")
    iso3 = before["iso3"].iloc[0]
    changed = text.replace(iso3, iso3[::-1], 1)          # same size, another value
    assert len(changed) == len(text) and changed != text
    path.write_text(changed, "utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))   # same modification time too
    after = ref.countries(rdir)
    assert len(after) == len(before) and not after.equals(before)
    assert after["iso3"].iloc[0] == iso3[::-1]


def test_a_missing_table_says_how_to_build_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="refbuild"):
        ref.iccs(tmp_path)


def test_typed_tables_are_converted_once_per_content_and_a_copy_each_call(tmp_path):
    rdir = tmp_path / "reference"
    shutil.copytree(REF / "population", rdir / "population")
    a = ref.population_subnational(rdir)
    assert str(a["year"].dtype) == "int64" and str(a["population"].dtype) == "float64"
    a.loc[:, "year"] = 0                                  # a caller changing its frame
    b = ref.population_subnational(rdir)
    assert (b["year"] > 1900).all() and str(b["year"].dtype) == "int64"
    assert b.equals(ref.population_subnational(rdir))


def test_a_crosswalk_is_checked_again_when_the_iccs_list_changes(tmp_path):
    """The kept crosswalk depends on the ICCS list it was checked against: an ICCS list that loses a code the
    crosswalk uses makes the same crosswalk file fail (not the copy kept from before)."""
    rdir = tmp_path / "reference"
    shutil.copytree(REF / "iccs", rdir / "iccs")
    shutil.copytree(REF / "crosswalks", rdir / "crosswalks")
    xw = ref.crosswalk(rdir, "ar_snic")
    used = sorted(set(xw["iccs_code"].dropna()))[0]
    xw.loc[:, "iccs_code"] = "x"                          # a caller changing its frame
    assert used in set(ref.crosswalk(rdir, "ar_snic")["iccs_code"])
    iccs_csv = rdir / "iccs" / "iccs.csv"
    lines = iccs_csv.read_text("utf-8").splitlines(keepends=True)
    iccs_csv.write_text("".join(ln for ln in lines if not ln.startswith(used + ",")), "utf-8")
    with pytest.raises(ValueError, match="ar_snic.csv"):
        ref.crosswalk(rdir, "ar_snic")
