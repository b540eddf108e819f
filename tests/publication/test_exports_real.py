"""Exports of the warehouse built from the real files (tier real): values checked by hand against the raw file.

../shared/data/real/ar_snic/snic-pais.csv, line 658:
``2019;1;Homicidios dolosos;2240;2309;1897;408;4;…`` — SNIC code 1 (homicidios dolosos, ICCS 0101 by
reference/crosswalks/ar_snic.csv), 2019: 2,240 offences, 2,309 victims, 1,897 male, 408 female."""

from __future__ import annotations

import csv
import json


from pipelines.publication import sdmx_io
from pipelines.publication.exports import export


def test_real_warehouse_exports_snic_2019_homicides(real_warehouse, tmp_path):
    s = real_warehouse
    export(s, "csv", tmp_path / "csv", country="ARG", iccs="0101", year_from=2019, year_to=2019)
    with open(tmp_path / "csv" / "indicators.csv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["source_id"] == "ar_snic" and r["subdivision_code"] == ""
                and r["iccs_code"] == "0101" and r["month"] == "" and r["age"] == "_T" and r["relationship"] == "_T"]
    got = {(r["measure"], r["sex"]): float(r["value"]) for r in rows}
    assert got[("offences", "_T")] == 2240 and got[("victims", "_T")] == 2309
    assert got[("victims", "M")] == 1897 and got[("victims", "F")] == 408
    with open(tmp_path / "csv" / "sources.csv", encoding="utf-8") as f:
        src = {r["source_id"]: r for r in csv.DictReader(f)}
    assert "Ministerio de Seguridad de la Nación" in src["ar_snic"]["citation"]

    for fmt, name in (("sdmx-csv", "indicators.sdmx.csv"), ("sdmx-ml", "indicators.sdmx.xml")):
        export(s, fmt, tmp_path / fmt, country="ARG", iccs="0101", year_from=2019, year_to=2019)
        back = sdmx_io.read_back(tmp_path / fmt / name, sdmx_io.load_structures(s.reference_dir))
        b = back[(back.SOURCE == "ar_snic") & (back.SUBDIVISION == "_T") & (back.ICCS == "0101") & (back.FREQ == "A")
                 & (back.UNIT_MEASURE == "NUMBER") & (back.AGE == "_T") & (back.RELATIONSHIP == "_T")]
        vals = {(r.MEASURE, r.SEX): r.OBS_VALUE for r in b.itertuples()}
        assert vals[("offences", "_T")] == 2240 and vals[("victims", "F")] == 408, fmt

    files = export(s, "datapackage", tmp_path / "dp", country="ARG", year_from=2018)
    from frictionless import validate

    report = validate(str(files[0]))
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "note"])[:5]
    assert json.loads(files[0].read_text("utf-8"))["hemistat"]["release_id"]
