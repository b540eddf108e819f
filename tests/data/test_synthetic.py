"""Tests for the deterministic SYNTHETIC sample (pipelines/samples/synthetic.py).

The sample must be byte-identical for a seed, clearly labelled synthetic, internally consistent, and written in
exactly the formats of the real national files.  When the real files are present (``HEMISTAT_SHARED_DIR`` or
the shared folder beside the repository) the headers and category sets are also compared with them.
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
from collections import defaultdict
from pathlib import Path

import pytest

from pipelines.samples import synthetic
from pipelines.samples.synthetic import generate_sample

REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_DIR = Path(os.environ.get("HEMISTAT_SHARED_DIR", REPO_ROOT.parent / "shared" / "data" / "real"))

SOURCES = {"mx_sesnsp", "ar_snic", "unodc_cts"}


# ------------------------------------------------------------------------------------------------ helpers


def _rows(raw: bytes, encoding: str = "utf-8", delimiter: str = ",", skip: int = 0) -> list[list[str]]:
    text = raw.decode(encoding)
    lines = text.splitlines(keepends=True)[skip:]
    return list(csv.reader(io.StringIO("".join(lines), newline=""), delimiter=delimiter))


def _code_key(code: str) -> list[int]:
    return [int(x) for x in code.split("_")]


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict[str, list[Path]], float]:
    out = tmp_path_factory.mktemp("synthetic_a")
    t0 = time.perf_counter()
    paths = generate_sample(out)
    elapsed = time.perf_counter() - t0
    return out, paths, elapsed


@pytest.fixture(scope="module")
def files(sample) -> dict[str, bytes]:
    out, _, _ = sample
    return {
        "estatal": (out / "mx_sesnsp" / "estatal.csv").read_bytes(),
        "provincias": (out / "ar_snic" / "snic-provincias.csv").read_bytes(),
        "pais": (out / "ar_snic" / "snic-pais.csv").read_bytes(),
        "violent": (out / "unodc_cts" / "data_cts_violent_and_sexual_crime.csv").read_bytes(),
        "economic": (out / "unodc_cts" / "data_cts_corruption_and_economic_crime.csv").read_bytes(),
    }


def _all_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------------------ API, labels


def test_returns_paths_per_source(sample):
    out, paths, _ = sample
    assert set(paths) == SOURCES
    for source, plist in paths.items():
        assert plist, source
        for p in plist:
            assert p.is_file() and p.parent == out / source
            assert p.name in synthetic.SOURCE_FILES[source]
    assert [p.name for p in paths["ar_snic"]] == ["snic-provincias.csv", "snic-pais.csv"]


def test_clearly_labelled_synthetic(sample):
    out, _, _ = sample
    readme = (out / "SYNTHETIC_README.md").read_text(encoding="utf-8").lower()
    assert "synthetic" in readme and "hemistat" in readme and "not official statistics" in readme
    for source in SOURCES:
        prov = (out / source / "PROVENANCE.md").read_text(encoding="utf-8")
        assert "SYNTHETIC" in prov and "NOT official statistics" in prov


def test_deterministic_byte_identical(sample, tmp_path):
    out_a, _, _ = sample
    generate_sample(tmp_path / "b")
    assert _all_bytes(out_a) == _all_bytes(tmp_path / "b")


def test_seed_changes_values_not_layout(files, tmp_path):
    other = generate_sample(tmp_path / "c", seed=7)
    raw = other["mx_sesnsp"][0].read_bytes()
    assert raw != files["estatal"]
    assert raw.split(b"\r\n", 1)[0] == files["estatal"].split(b"\r\n", 1)[0]
    assert raw.count(b"\r\n") == files["estatal"].count(b"\r\n")


def test_cli(tmp_path, capsys):
    assert synthetic.main([str(tmp_path / "cli"), "--seed", str(synthetic.DEFAULT_SEED)]) == 0
    assert (tmp_path / "cli" / "SYNTHETIC_README.md").is_file()
    assert "SYNTHETIC" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------ mx_sesnsp


def test_estatal_encoding_and_line_endings(files):
    raw = files["estatal"]
    assert raw.startswith(b"A\xf1o,Clave_Ent,Entidad,Bien jur\xeddico afectado,")
    assert b"A\xf1o" in raw
    raw.decode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.endswith(b"\r\n")
    assert raw.count(b"\n") == raw.count(b"\r\n")
    assert b'"Robo de cables, tubos y otros objetos destinados a servicios p\xfablicos Con violencia"' in raw


def test_estatal_layout(files):
    rows = _rows(files["estatal"], encoding="cp1252")
    header, data = rows[0], rows[1:]
    assert header == list(synthetic.SESNSP_HEADER)
    assert header[-1] == "Diciembre" and len(header) == 19
    assert {r[1] for r in data} == {str(i) for i in range(1, 33)}  # unpadded Clave_Ent
    assert {(r[1], r[2]) for r in data} >= {("5", "Coahuila de Zaragoza"), ("15", "México")}
    combos = {tuple(r[3:7]) for r in data}
    assert len(combos) == 98
    years = sorted({int(r[0]) for r in data})
    assert len(data) == len(years) * 32 * 98
    for r in data:
        assert all(v.isdigit() for v in r[7:18]), r
    last = [r for r in data if int(r[0]) == years[-1]]
    assert last and all(r[18] == "" for r in last)  # last year's Diciembre empty, not 0
    assert all(r[18].isdigit() for r in data if int(r[0]) != years[-1])
    homicide = [int(v) for r in data if r[5] == "Homicidio doloso" for v in r[7:] if v]
    assert 0 <= min(homicide) and max(homicide) < 1000


# ------------------------------------------------------------------------------------------------ ar_snic


def test_snic_provincias_format(files):
    raw = files["provincias"]
    assert not raw.startswith(b"\xef\xbb\xbf")
    raw.decode("utf-8")
    assert raw.endswith(b"\r\n") and raw.count(b"\n") == raw.count(b"\r\n")
    assert b'94,"Tierra del Fuego, Ant\xc3\xa1rtida e Islas del Atl\xc3\xa1ntico Sur",' in raw
    rows = _rows(raw)
    assert rows[0] == list(synthetic.SNIC_PROV_HEADER)
    data = rows[1:]
    ids = {r[0] for r in data}
    assert len(ids) == 24 and {"02", "06", "94"} <= ids and all(len(i) == 2 for i in ids)
    rates = [v for r in data for v in r[10:] if v]
    assert any(v.startswith(".") for v in rates)  # leading zero dropped, e.g. .52465624
    assert not any(v.startswith("0.") or "," in v or "e" in v.lower() for v in rates)
    codes = {r[3] for r in data}
    assert {"1", "11", "11_1", "11_5", "21", "21_1", "21_7", "28_10", "32"} <= codes


def test_snic_provincias_consistency(files):
    data = _rows(files["provincias"])[1:]
    by_key = {(r[0], r[2], r[3]): r for r in data}
    children = defaultdict(list)
    for (prov, year, code), r in by_key.items():
        if "_" in code:
            children[(prov, year, code.split("_")[0])].append(r)
    checked = 0
    for (prov, year, code), r in by_key.items():
        if "_" in code or (prov, year, code) not in children:
            continue
        kids = children[(prov, year, code)]
        assert int(r[5]) >= sum(int(k[5]) for k in kids), (prov, year, code)
        if r[6] not in ("", "0"):
            assert int(r[6]) >= sum(int(k[6]) for k in kids), (prov, year, code)
        checked += 1
    assert checked > 100
    for r in data:
        if r[6] not in ("",):
            assert int(r[6]) == int(r[7]) + int(r[8]) + int(r[9]), r
    # rates consistent with one population per province-year
    pops = defaultdict(set)
    for r in data:
        h = int(r[5])
        if h >= 1000:
            pops[(r[0], r[2])].add(round(h / float(r[10]) * 1e5, -2))
    assert pops and all(len(v) <= 2 for v in pops.values())


def test_snic_empty_victims_for_property_offences(files):
    data = _rows(files["provincias"])[1:]
    empty_codes = {r[3] for r in data if r[6] == ""}
    assert {"13", "15", "19", "21", "28", "32"} <= empty_codes
    assert not empty_codes & {"1", "2", "10", "11", "14", "31"}
    for r in data:
        if r[3] in empty_codes:
            if int(r[2]) <= 2016:
                assert r[6:10] == ["", "", "", ""] and r[11:] == ["", "", ""], r
            else:  # the provincial file writes 0 from 2017
                assert r[6:10] == ["0", "0", "0", "0"], r


def test_snic_pais_format(files):
    raw = files["pais"]
    raw.decode("utf-8")
    assert raw.endswith(b"\r\n") and raw.count(b"\n") == raw.count(b"\r\n")
    first = raw.split(b"\r\n", 1)[0].decode()
    assert first == ";".join(synthetic.SNIC_PAIS_HEADER) and "," not in first
    rows = _rows(raw, delimiter=";")
    assert all(len(r) == 12 for r in rows)
    rates = [v for r in rows[1:] for v in r[8:] if v]
    assert not any("." in v for v in rates)
    assert any(v.startswith(",") for v in rates)  # ,72102064
    assert any(re.fullmatch(r"\d+,\d+", v) for v in rates)
    names = {r[2] for r in rows[1:]}
    assert "Ley 23,737 (estupefacientes)" in names  # names with commas, safe only because of ';'


def test_snic_pais_is_sum_of_provinces(files):
    prov = _rows(files["provincias"])[1:]
    pais = _rows(files["pais"], delimiter=";")[1:]
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in prov:
        sums[(r[2], r[3])][0] += int(r[5])
        sums[(r[2], r[3])][1] += int(r[6] or 0)
    assert pais
    for r in pais:
        h, v = sums[(r[0], r[1])]
        assert int(r[3]) == h, r
        assert (r[4] == "") or int(r[4]) == v, r
    pais_years = {r[0] for r in pais}
    assert {(y, c) for (y, c) in sums if y in pais_years} == {(r[0], r[1]) for r in pais}


# ------------------------------------------------------------------------------------------------ unodc_cts


@pytest.mark.parametrize("key", ["violent", "economic"])
def test_cts_format(files, key):
    raw = files[key]
    assert b"\r" not in raw and raw.endswith(b"\n")
    lines = raw.decode("utf-8").split("\n")
    assert lines[0] == "UNODC,unodc_ddds@un.org,,,,,,,,,,,"
    assert re.fullmatch(r"\d\d/\d\d/\d{4},,,,,,,,,,,,", lines[1])
    assert lines[2] == ",".join(synthetic.CTS_HEADER)  # header on line 3
    data = _rows(raw, skip=3)
    assert data and all(len(r) == 13 for r in data)
    isos = {r[0] for r in data}
    assert {"ESP", "GBR_E_W", "MEX", "USA"} <= isos
    assert {r[10] for r in data} == {"Counts", "Rate per 100,000 population"}
    assert {int(r[9]) for r in data} == set(range(2018, 2023))
    assert {r[12] for r in data} >= {"CTS", "CTS/MoI"}
    assert b'"Rate per 100,000 population"' in raw


@pytest.mark.parametrize("key", ["violent", "economic"])
def test_cts_consistency(files, key):
    data = _rows(files[key], skip=3)
    cells = {(r[0], r[4], r[6], r[7], r[9], r[10]): float(r[11]) for r in data}
    pop = defaultdict(set)
    for (iso, ind, cat, sex, year, unit), value in cells.items():
        if unit != "Counts" or value < 500:
            continue
        rate = cells[(iso, ind, cat, sex, year, "Rate per 100,000 population")]
        pop[(iso, sex, year)].add(round(value / rate * 1e5, -3))
    assert pop and all(len(v) <= 2 for v in pop.values())
    # every Counts row has its Rate row and vice versa
    keys = {k[:5] for k in cells}
    for k in keys:
        assert k + ("Counts",) in cells and k + ("Rate per 100,000 population",) in cells
    # parents >= sum of (reported) children
    children = {"Sexual violence": ("Sexual violence: Rape", "Sexual violence: Sexual assault",
                                    "Sexual violence: Other acts of sexual violence"),
                "Corruption": ("Corruption: Bribery", "Corruption: Other acts of corruption"),
                "Theft": ("Theft: of a motorized vehicle",), "Fraud": ("Fraud: Cyber-related (Cy)",)}
    for (iso, ind, cat, sex, year, unit), value in cells.items():
        if unit == "Counts" and cat in children:
            kids = sum(cells.get((iso, ind, c, sex, year, unit), 0.0) for c in children[cat])
            assert value >= kids, (iso, cat, year)


# ------------------------------------------------------------------------------------------------ vs. real files

real = pytest.mark.real   # the real-file tier (tests/conftest.py): never skipped, it fails without the files


@real
def test_estatal_matches_real(files):
    path = REAL_DIR / "mx_sesnsp" / "estatal.csv"
    if not path.is_file():
        pytest.fail("real estatal.csv missing (tier real needs ../shared)")
    real_raw = path.read_bytes()
    assert files["estatal"].split(b"\r\n", 1)[0] == real_raw.split(b"\r\n", 1)[0]
    real_rows, syn_rows = _rows(real_raw, "cp1252")[1:], _rows(files["estatal"], "cp1252")[1:]
    assert {tuple(r[3:7]) for r in syn_rows} == {tuple(r[3:7]) for r in real_rows}
    assert {(r[1], r[2]) for r in syn_rows} == {(r[1], r[2]) for r in real_rows}
    # same crime-row order within a state-year block
    first = lambda rows: [tuple(r[3:7]) for r in rows[:98]]  # noqa: E731
    assert first(syn_rows) == first(real_rows)


@real
def test_snic_matches_real(files):
    prov_path, pais_path = REAL_DIR / "ar_snic" / "snic-provincias.csv", REAL_DIR / "ar_snic" / "snic-pais.csv"
    if not (prov_path.is_file() and pais_path.is_file()):
        pytest.fail("real SNIC files missing (tier real needs ../shared)")
    real_prov, syn_prov = _rows(prov_path.read_bytes()), _rows(files["provincias"])
    assert syn_prov[0] == real_prov[0]
    assert {(r[0], r[1]) for r in syn_prov[1:]} == {(r[0], r[1]) for r in real_prov[1:]}
    assert {(r[3], r[4]) for r in syn_prov[1:]} == {(r[3], r[4]) for r in real_prov[1:]}
    assert {r[3] for r in syn_prov[1:] if r[6] == ""} == {r[3] for r in real_prov[1:] if r[6] == ""}
    syn_years = {r[2] for r in syn_prov[1:]}
    real_cells = {(r[0], r[2], r[3]) for r in real_prov[1:] if r[2] in syn_years}
    assert {(r[0], r[2], r[3]) for r in syn_prov[1:]} == real_cells  # same code timing per province/year

    real_pais, syn_pais = _rows(pais_path.read_bytes(), delimiter=";"), _rows(files["pais"], delimiter=";")
    assert syn_pais[0] == real_pais[0]
    assert {(r[1], r[2]) for r in syn_pais[1:]} == {(r[1], r[2]) for r in real_pais[1:]}
    assert {r[1] for r in syn_pais[1:] if r[4] == ""} == {r[1] for r in real_pais[1:] if r[4] == ""}
    for year in {r[0] for r in syn_pais[1:]}:
        assert [r[1] for r in syn_pais[1:] if r[0] == year] == [r[1] for r in real_pais[1:] if r[0] == year]


@real
@pytest.mark.parametrize("key,name", [("violent", "data_cts_violent_and_sexual_crime.csv"),
                                      ("economic", "data_cts_corruption_and_economic_crime.csv")])
def test_cts_matches_real(files, key, name):
    path = REAL_DIR / "unodc_cts" / name
    if not path.is_file():
        pytest.fail(f"real {name} missing (tier real needs ../shared)")
    real_raw = path.read_bytes()
    real_lines, syn_lines = real_raw.decode("utf-8").split("\n", 3), files[key].decode("utf-8").split("\n", 3)
    assert syn_lines[0] == real_lines[0]
    assert syn_lines[2] == real_lines[2]
    assert len(syn_lines[1].split(",")) == len(real_lines[1].split(","))
    real_rows, syn_rows = _rows(real_raw, skip=3), _rows(files[key], skip=3)
    combos = lambda rows: {(r[4], r[5], r[6], r[7], r[8], r[10]) for r in rows}  # noqa: E731
    assert combos(syn_rows) == combos(real_rows)
    countries = lambda rows: {tuple(r[:4]) for r in rows}  # noqa: E731
    assert countries(syn_rows) <= countries(real_rows)
    assert {r[12] for r in syn_rows} <= {r[12] for r in real_rows}
