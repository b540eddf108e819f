"""Checks of the reviewed crosswalks in reference/crosswalks/ against the real national files.

The distinct national codes are recomputed here, independently of the adapters, from the real files in
``$HEMISTAT_SHARED_DIR`` (default ``<repo>/../shared/data/real``) with the conventions documented in
reference/crosswalks/README.md:

* mx_sesnsp: ``Tipo de delito|Subtipo de delito|Modalidad`` (estatal.csv decoded as latin-1);
* ar_snic:   ``codigo_delito_snic_id`` as text, union of snic-provincias.csv and snic-pais.csv;
* unodc_cts: ``Indicator|Category`` over both data_cts_*.csv exports (two preamble lines).

The checks themselves are ``pipelines/harmonise/crosswalk_check.py`` and take a reference folder:

* form (every row of every crosswalk, whatever file it serves): encoding, header, schema, ICCS code,
  relation, weight, rationale, validity years;
* against the files held here: every national code of these files has a row, in force in each year the
  code has values. A row whose code these files do not contain (a future release, a file the tests do not
  hold) is checked for form only, and the source-specific checks below look only at rows serving the held
  files, so adding crosswalk rows for a file the tests do not hold keeps the tests green (issue 10, item 5;
  proven below on a temporary copy of reference/).
"""

from __future__ import annotations

import csv
import os
import shutil
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from pipelines.harmonise import crosswalk_check as xwc
from pipelines.contracts.table_schema import load_schema, validate_descriptor

REPO = Path(__file__).resolve().parents[2]
REF_DIR = REPO / "reference"
XW_DIR = REF_DIR / "crosswalks"
ALL_CROSSWALKS = sorted(p.stem for p in XW_DIR.glob("*.csv"))
ICCS_CSV = REPO / "reference" / "iccs" / "iccs.csv"
SHARED = Path(os.environ.get("HEMISTAT_SHARED_DIR") or REPO.parent / "shared" / "data" / "real")

SOURCES = ["mx_sesnsp", "ar_snic", "unodc_cts"]
COLUMNS = ["national_code", "national_label", "iccs_code", "relation", "weight", "valid_from", "valid_to", "rationale"]
RELATIONS = {"equivalent", "narrower", "broader", "partial", "no_match"}


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
    """The rows that serve the real files held here (a row for a code these files lack is not checked
    beyond its form: it serves a file the tests do not hold)."""
    return _serving(source, REF_DIR)


def _serving(source: str, ref: Path) -> dict[str, dict[str, str]]:
    return {r["national_code"]: r for r in xwc.rows_serving(ref, source, national_codes(source))}


def is_ancestor_or_self(ancestor: str, code: str) -> bool:
    """ICCS codes are prefix-hierarchical: 05 > 0502 > 05021 > 050211."""
    return code.startswith(ancestor)


@pytest.fixture(scope="module")
def schema() -> dict:
    return load_schema(XW_DIR / "crosswalk.schema.json")


# --------------------------------------------------------------------------------------------------
# form (every row, whatever file it serves) and coverage (the rows that serve the files held here)
# --------------------------------------------------------------------------------------------------
def test_schema_descriptor(schema):
    assert validate_descriptor(schema) == []
    assert [f["name"] for f in schema["fields"]] == COLUMNS
    rel = next(f for f in schema["fields"] if f["name"] == "relation")
    assert set(rel["constraints"]["enum"]) == RELATIONS
    assert schema["primaryKey"] == ["national_code"]


@pytest.mark.parametrize("name", ALL_CROSSWALKS)
def test_form_of_every_row(name):
    """Every crosswalk in reference/crosswalks/, every row: encoding, header, schema, ICCS code, relation,
    weight, rationale, validity years (pipelines/harmonise/crosswalk_check.check_form)."""
    assert xwc.check_form(REF_DIR, name) == []


@pytest.mark.parametrize("source", SOURCES)
def test_every_code_of_the_held_files_has_a_row_in_force(source):
    """Each national code of the real files held here has a row, in force in every year it has values.
    Rows for codes these files do not contain are NOT failures (they serve files the tests do not hold)."""
    assert xwc.check_against_file(REF_DIR, source, national_codes(source)) == []


def test_expected_code_counts():
    assert len(national_codes("mx_sesnsp")) == 98
    assert len(national_codes("ar_snic")) == 72
    assert len(national_codes("unodc_cts")) == 34


@pytest.mark.parametrize("source", SOURCES)
def test_no_match_rationales_state_the_reason(source):
    for r in read_xw(source):
        if r["relation"] == "no_match":
            assert len(r["rationale"]) > 40, f"{r['national_code']}: state the reason"


# --------------------------------------------------------------------------------------------------
# a row for a file the tests do not hold (issue 10, item 5)
# --------------------------------------------------------------------------------------------------
def _fresh_code(source: str) -> str:
    """A national code neither the held files nor the crosswalk have (e.g. a future SNIC code)."""
    taken = {r["national_code"] for r in read_xw(source)}
    return next(c for c in (str(n) for n in range(99, 10_000)) if c not in taken)


def _new_row(source: str) -> str:
    return (f'{_fresh_code(source)},Delito hipotético de una futura versión del SNIC,0101,narrower,1,2030,,'
            '"Hypothetical future SNIC category for a file no test holds; intentional killings are ICCS 0101."\n')


def _copy_with(tmp_path, source: str, row: str) -> Path:
    ref = tmp_path / "reference"
    shutil.copytree(REF_DIR, ref)
    with open(ref / "crosswalks" / f"{source}.csv", "a", encoding="utf-8", newline="") as fh:
        fh.write(row)
    return ref


def _held_codes(source: str) -> dict[str, set[int]]:
    """The codes of the held real files; without them, the codes of the committed crosswalk (all years)."""
    try:
        return national_codes(source)
    except pytest.skip.Exception:
        return {r["national_code"]: set() for r in read_xw(source)}


def test_a_row_for_a_code_no_held_file_contains_passes(tmp_path):
    new = _fresh_code("ar_snic")
    ref = _copy_with(tmp_path, "ar_snic", _new_row("ar_snic"))
    codes = _held_codes("ar_snic")
    assert new not in codes
    assert xwc.check_form(ref, "ar_snic") == []
    assert xwc.check_against_file(ref, "ar_snic", codes) == []
    assert new not in {r["national_code"] for r in xwc.rows_serving(ref, "ar_snic", codes)}  # serves no held file
    # the source-specific checks below only look at rows serving the held files: unchanged
    assert _serving("ar_snic", ref)["1"]["iccs_code"] == "0101"
    from pipelines.harmonise import reference as hr
    assert new in set(hr.crosswalk(ref, "ar_snic")["national_code"])   # the pipeline reads it as any row


@pytest.mark.parametrize("bad_row, problem", [
    ('9999,Delito hipotético,9999,narrower,1,,,"ICCS 9999 does not exist."\n', "not in reference/iccs/iccs.csv"),
    ('9999,Delito hipotético,0101,same,1,,,"Hypothetical, ICCS 0101."\n', "relation 'same'"),
    ('9999,Delito hipotético,0101,narrower,1,,,""\n', "empty rationale"),
    ('9999,Delito hipotético,0101,narrower,1,,,"No reference to the classification."\n', "must cite the ICCS"),
    ('9999,Delito hipotético,0101,narrower,1,2031,2030,"Hypothetical, ICCS 0101."\n', "valid_from 2031 is after"),
    ('9999,Delito hipotético,0101,narrower,1,30,,"Hypothetical, ICCS 0101."\n', "not a four-digit year"),
    ('9999,Delito hipotético,,no_match,1,,,"Not a crime, ICCS."\n', "starts with 'Excluded:'"),
    ('9999,Delito hipotético,0101,broader,1,,,"Hypothetical, ICCS 0101."\n', "the word 'broader'"),
    ('1,Homicidios dolosos (bis),0101,narrower,1,,,"A second row for code 1, ICCS 0101."\n', "several rows"),
])
def test_a_malformed_row_for_a_code_no_held_file_contains_still_fails(tmp_path, bad_row, problem):
    ref = _copy_with(tmp_path, "ar_snic", bad_row)
    problems = xwc.check_form(ref, "ar_snic")
    assert any(problem in p for p in problems), problems
    assert all("docs/ONBOARDING.md#" in p for p in problems)


def test_a_held_code_without_a_row_or_outside_its_validity_fails(tmp_path):
    ref = tmp_path / "reference"
    shutil.copytree(REF_DIR, ref)
    p = ref / "crosswalks" / "ar_snic.csv"
    rows = xwc.read_rows(ref, "ar_snic")
    for r in rows:
        if r["national_code"] == "1":
            r["valid_from"] = "2020"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(r for r in rows if r["national_code"] != "2")
    assert xwc.check_form(ref, "ar_snic") == []
    problems = xwc.check_against_file(ref, "ar_snic", {"1": {2019, 2020}, "2": {2020}})
    assert any("without a crosswalk row: ['2']" in x for x in problems), problems
    assert any("values in [2019], outside" in x and "#validity-years" in x for x in problems), problems


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
