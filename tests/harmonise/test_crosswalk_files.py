"""Checks of the reviewed crosswalks in reference/crosswalks/ against the real national files.

The distinct national codes are recomputed here, independently of the adapters, from the real files in
``$HEMISTAT_SHARED_DIR`` (default ``<repo>/../shared/data/real``) with the conventions documented in
reference/crosswalks/README.md:

* mx_sesnsp: ``Tipo de delito|Subtipo de delito|Modalidad`` (estatal.csv decoded as latin-1);
* ar_snic:   ``codigo_delito_snic_id`` as text, union of snic-provincias.csv and snic-pais.csv;
* unodc_cts: ``Indicator|Category`` over both data_cts_*.csv exports (two preamble lines).

The ICCS code list is reference/iccs/iccs.csv when present, otherwise it is rebuilt from the third-party
parse iccs_parse_final.csv (codes padded from the nivel_1..nivel_4 columns) plus the 11 sections.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from pipelines.refbuild.schema_check import load_schema, validate_csv, validate_descriptor

REPO = Path(__file__).resolve().parents[2]
XW_DIR = REPO / "reference" / "crosswalks"
ICCS_CSV = REPO / "reference" / "iccs" / "iccs.csv"
SHARED = Path(os.environ.get("HEMISTAT_SHARED_DIR") or REPO.parent / "shared" / "data" / "real")

SOURCES = ["mx_sesnsp", "ar_snic", "unodc_cts"]
COLUMNS = ["national_code", "national_label", "iccs_code", "relation", "weight", "valid_from", "valid_to", "rationale"]
RELATIONS = {"equivalent", "narrower", "broader", "partial", "no_match"}
SECTIONS = {f"{i:02d}" for i in range(1, 12)}
PAD = {"nivel_1": 2, "nivel_2": 4, "nivel_3": 5, "nivel_4": 6}


def _real(rel: str) -> Path:
    p = SHARED / rel
    if not p.exists():
        pytest.skip(f"real file not available: {p}")
    return p


# --------------------------------------------------------------------------------------------------
# national codes (and the years they occur in) recomputed from the real files
# --------------------------------------------------------------------------------------------------
def _mx_codes() -> dict[str, set[int]]:
    df = pd.read_csv(_real("mx_sesnsp/estatal.csv"), encoding="latin-1", dtype=str, keep_default_na=False)
    code = df["Tipo de delito"] + "|" + df["Subtipo de delito"] + "|" + df["Modalidad"]
    return _years(code, df["Año"])


def _ar_codes() -> dict[str, set[int]]:
    prov = pd.read_csv(_real("ar_snic/snic-provincias.csv"), dtype=str, keep_default_na=False)
    pais = pd.read_csv(_real("ar_snic/snic-pais.csv"), dtype=str, keep_default_na=False, sep=";")
    both = pd.concat([prov[["anio", "codigo_delito_snic_id"]], pais[["anio", "codigo_delito_snic_id"]]])
    return _years(both["codigo_delito_snic_id"], both["anio"])


def _cts_codes() -> dict[str, set[int]]:
    frames = [pd.read_csv(_real(f"unodc_cts/{f}"), skiprows=2, dtype=str, keep_default_na=False)
              for f in ("data_cts_violent_and_sexual_crime.csv", "data_cts_corruption_and_economic_crime.csv")]
    df = pd.concat(frames)
    return _years(df["Indicator"] + "|" + df["Category"], df["Year"])


def _years(codes: pd.Series, years: pd.Series) -> dict[str, set[int]]:
    out: dict[str, set[int]] = defaultdict(set)
    for c, y in zip(codes, years):
        out[c].add(int(y))
    return dict(out)


CODE_READERS = {"mx_sesnsp": _mx_codes, "ar_snic": _ar_codes, "unodc_cts": _cts_codes}
_CACHE: dict[str, dict[str, set[int]]] = {}


def national_codes(source: str) -> dict[str, set[int]]:
    if source not in _CACHE:
        _CACHE[source] = CODE_READERS[source]()
    return _CACHE[source]


def read_xw(source: str) -> list[dict[str, str]]:
    with open(XW_DIR / f"{source}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def by_code(source: str) -> dict[str, dict[str, str]]:
    return {r["national_code"]: r for r in read_xw(source)}


def is_ancestor_or_self(ancestor: str, code: str) -> bool:
    """ICCS codes are prefix-hierarchical: 05 > 0502 > 05021 > 050211."""
    return code.startswith(ancestor)


@pytest.fixture(scope="module")
def iccs_codes() -> set[str]:
    if ICCS_CSV.exists():
        with open(ICCS_CSV, encoding="utf-8", newline="") as fh:
            return {r["code"] for r in csv.DictReader(fh)}
    parse = pd.read_csv(_real("iccs/iccs_parse_final.csv"), dtype=str, keep_default_na=False)
    codes = set(SECTIONS)
    for _, row in parse.iterrows():
        for col in ("nivel_4", "nivel_3", "nivel_2", "nivel_1"):
            if row[col].strip():
                codes.add(row[col].strip().zfill(PAD[col]))
                break
    return codes


@pytest.fixture(scope="module")
def schema() -> dict:
    return load_schema(XW_DIR / "crosswalk.schema.json")


# --------------------------------------------------------------------------------------------------
# schema and file format
# --------------------------------------------------------------------------------------------------
def test_schema_descriptor(schema):
    assert validate_descriptor(schema) == []
    assert [f["name"] for f in schema["fields"]] == COLUMNS
    rel = next(f for f in schema["fields"] if f["name"] == "relation")
    assert set(rel["constraints"]["enum"]) == RELATIONS
    assert schema["primaryKey"] == ["national_code"]


@pytest.mark.parametrize("source", SOURCES)
def test_file_matches_schema(source, schema, iccs_codes, tmp_path):
    iccs_path = ICCS_CSV
    if not iccs_path.exists():  # fall back to a code list rebuilt from the parse
        iccs_path = tmp_path / "iccs.csv"
        iccs_path.write_text("code\n" + "\n".join(sorted(iccs_codes)) + "\n", encoding="utf-8")
    assert validate_csv(XW_DIR / f"{source}.csv", schema, {"iccs": iccs_path}) == []


@pytest.mark.parametrize("source", SOURCES)
def test_header_encoding_and_line_endings(source):
    raw = (XW_DIR / f"{source}.csv").read_bytes()
    raw.decode("utf-8")  # raises if not UTF-8
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw and raw.endswith(b"\n")
    with open(XW_DIR / f"{source}.csv", encoding="utf-8", newline="") as fh:
        assert next(csv.reader(fh)) == COLUMNS


# --------------------------------------------------------------------------------------------------
# coverage: exactly one row per national code found in the real files
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source", SOURCES)
def test_one_row_per_national_code(source):
    rows = read_xw(source)
    codes = [r["national_code"] for r in rows]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    assert not dupes, f"duplicate national codes: {dupes}"
    expected = set(national_codes(source))
    missing, extra = sorted(expected - set(codes)), sorted(set(codes) - expected)
    assert not missing and not extra, f"missing from crosswalk: {missing}; not in the real file: {extra}"


def test_expected_code_counts():
    assert len(national_codes("mx_sesnsp")) == 98
    assert len(national_codes("ar_snic")) == 72
    assert len(national_codes("unodc_cts")) == 34


# --------------------------------------------------------------------------------------------------
# content rules
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source", SOURCES)
def test_iccs_codes_exist_and_are_padded(source, iccs_codes):
    for r in read_xw(source):
        code = r["iccs_code"]
        if r["relation"] == "no_match":
            continue
        assert code in iccs_codes, f"{r['national_code']}: ICCS code {code!r} not in the ICCS list"
        assert code.isdigit() and len(code) in (2, 4, 5, 6), f"{r['national_code']}: {code!r} not zero-padded text"


@pytest.mark.parametrize("source", SOURCES)
def test_relation_weight_and_rationale(source):
    weights: dict[str, float] = defaultdict(float)
    for r in read_xw(source):
        nc = r["national_code"]
        assert r["relation"] in RELATIONS, f"{nc}: relation {r['relation']!r}"
        assert r["rationale"].strip(), f"{nc}: empty rationale"
        assert "ICCS" in r["rationale"], f"{nc}: rationale must cite the ICCS"
        if r["relation"] == "broader":
            assert "broader" in r["rationale"], f"{nc}: a broader mapping must say what lies outside"
        weights[nc] += float(r["weight"])
    bad = {k: v for k, v in weights.items() if abs(v - 1) > 1e-9}
    assert not bad, f"weights per national code must sum to 1: {bad}"


@pytest.mark.parametrize("source", SOURCES)
def test_no_match_rows(source):
    for r in read_xw(source):
        nc = r["national_code"]
        if r["relation"] == "no_match":
            assert r["iccs_code"] == "", f"{nc}: no_match row must have an empty iccs_code"
            assert r["rationale"].startswith("Excluded:") and len(r["rationale"]) > 40, f"{nc}: state the reason"
        else:
            assert r["iccs_code"], f"{nc}: only no_match rows may leave iccs_code empty"


@pytest.mark.parametrize("source", SOURCES)
def test_validity_years_cover_the_data(source):
    years = national_codes(source)
    for r in read_xw(source):
        nc = r["national_code"]
        lo = int(r["valid_from"]) if r["valid_from"] else None
        hi = int(r["valid_to"]) if r["valid_to"] else None
        if lo is not None and hi is not None:
            assert lo <= hi, f"{nc}: valid_from > valid_to"
        outside = sorted(y for y in years[nc] if (lo is not None and y < lo) or (hi is not None and y > hi))
        assert not outside, f"{nc}: data years {outside} fall outside {lo}-{hi}"


# --------------------------------------------------------------------------------------------------
# source-specific requirements
# --------------------------------------------------------------------------------------------------
def test_mx_intentional_homicide_is_homicidio_doloso_plus_feminicidio():
    rows = by_code("mx_sesnsp")
    expected = {c for c in national_codes("mx_sesnsp")
                if c.startswith("Homicidio|Homicidio doloso|") or c.startswith("Feminicidio|Feminicidio|")}
    assert len(expected) == 8
    assert {c for c, r in rows.items() if r["iccs_code"] == "0101"} == expected
    for c, r in rows.items():
        if c.startswith("Homicidio|Homicidio culposo|"):
            assert is_ancestor_or_self("0103", r["iccs_code"]), c


def test_mx_robbery_with_violence_vs_without():
    for c, r in by_code("mx_sesnsp").items():
        if c.startswith("Robo|") and c.endswith("on violencia"):  # "Con violencia" / "... Con violencia"
            assert r["iccs_code"].startswith("04"), f"{c}: robbery with violence must be section 04"
        if c.startswith("Robo|") and c.endswith("in violencia"):
            assert r["iccs_code"].startswith("05"), f"{c}: taking without violence must be section 05"


def test_ar_homicide_and_exclusions():
    rows = by_code("ar_snic")
    assert [c for c, r in rows.items() if r["iccs_code"] == "0101"] == ["1"]
    assert rows["2"]["iccs_code"] == "0102"
    assert {c for c, r in rows.items() if r["relation"] == "no_match"} == {"3", "30", "31"}


def test_ar_children_consistent_with_parent():
    """The pipeline keeps children and gives parent minus children to the parent's mapping: a child must sit
    under its parent's ICCS code unless the parent is an explicitly broader (residual) mapping."""
    rows = by_code("ar_snic")
    for c, r in rows.items():
        if "_" not in c:
            continue
        parent = rows.get(c.rsplit("_", 1)[0])
        assert parent is not None, f"{c}: parent code missing"
        assert r["valid_from"], f"{c}: child codes carry the year they were introduced"
        if parent["relation"] != "broader":
            assert is_ancestor_or_self(parent["iccs_code"], r["iccs_code"]), (c, parent["iccs_code"], r["iccs_code"])


def test_cts_subcategories_and_tags():
    rows = by_code("unodc_cts")
    for c, r in rows.items():
        indicator, category = c.split("|", 1)
        if ": " in category:
            parent = rows.get(f"{indicator}|{category.split(': ', 1)[0]}")
            assert parent is not None, f"{c}: parent category missing"
            assert is_ancestor_or_self(parent["iccs_code"], r["iccs_code"]), c
            if "Cyber-related" in category:
                assert r["iccs_code"] == parent["iccs_code"] and r["relation"] == "narrower", c
                assert "not sum" in r["rationale"], f"{c}: rationale must warn against summing with the parent"
    for c, r in rows.items():  # victims by relationship: same code as the offence
        if c.startswith("Victims of serious assault|"):
            assert r["iccs_code"] == rows["Violent offences|Serious assault"]["iccs_code"], c
        if c.startswith("Victims of sexual violence|"):
            assert r["iccs_code"] == rows["Violent offences|Sexual violence"]["iccs_code"], c


def test_cts_cyber_rows_are_declared_as_subsets_in_the_source_spec():
    yaml = pytest.importorskip("yaml")
    spec_path = REPO / "reference" / "sources" / "unodc_cts.yaml"
    if not spec_path.exists():
        pytest.skip("no source spec yet")
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    declared = set((spec.get("hierarchy") or {}).get("subset_codes") or [])
    cyber = {c for c in by_code("unodc_cts") if "Cyber-related" in c}
    assert cyber <= declared, f"cyber-tag rows not declared as subset_codes: {sorted(cyber - declared)}"
