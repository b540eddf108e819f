"""A new release of a supported format (other year span, zero-padded codes, rows added or removed)
ingests with no code change and gives the same values for the same cells."""

import pandas as pd

from tests.conftest import real
from tests.quality.conftest import adapt


def test_sesnsp_new_release_zero_padded_other_years(tmp_path):
    raw = real("mx_sesnsp/estatal.csv").read_bytes().split(b"\r\n")
    header, rows = raw[0], [r for r in raw[1:] if r]
    old = adapt(real("mx_sesnsp/estatal.csv"), "mx_sesnsp")
    new_rows = []
    for r in rows:
        f = r.split(b",")
        if f[0] not in (b"2023", b"2024") or f[1] not in (b"1", b"9"):
            continue
        f[1] = f[1].zfill(2)                       # "1" -> "01" as newer SESNSP releases publish it
        new_rows.append(b",".join(f))
    new_rows = new_rows[:-5]                       # a few rows removed
    p = tmp_path / "IDEFC_NM_dic24.csv"
    p.write_bytes(b"\r\n".join([header] + new_rows) + b"\r\n")
    new = adapt(p, "mx_sesnsp")
    assert set(new.year) == {2023, 2024} and set(new.subdivision_code) == {"01", "09"}
    key = ["subdivision_code", "year", "month", "national_code"]
    merged = new.merge(old, on=key, suffixes=("_new", "_old"))
    assert len(merged) == len(new)
    pd.testing.assert_series_equal(merged["value_new"], merged["value_old"], check_names=False)


def test_snic_release_with_added_code_and_other_years(tmp_path):
    raw = real("ar_snic/snic-pais.csv").read_bytes().split(b"\r\n")
    rows = [r for r in raw[1:] if r and r.split(b";")[0] in (b"2021", b"2022")]
    rows.append(b"2022;33;Delito nuevo de prueba;5;;;;;0,01;;;")   # a code the crosswalk does not know yet
    p = tmp_path / "snic-pais-2024.csv"
    p.write_bytes(b"\r\n".join([raw[0]] + rows) + b"\r\n")
    df = adapt(p, "ar_snic")
    assert set(df.year) == {2021, 2022} and "33" in set(df.national_code)
    # the adapter needs no change; the missing crosswalk row is reported by rule C1 (see tests/quality)
    from tests.quality.conftest import run

    res = run("C1", df, "ar_snic")
    assert res.status == "fail" and res.failures["national_code"].tolist() == ["33"]
