"""docs/ONBOARDING.md documents every spec key, and every section the code points to exists (issue 10, item 5).

* every property of reference/sources/source.schema.json (generated from pipelines/specs/source.py) — top level, layout level and the nested objects
  (reader, column role options, values, drop rows, hierarchy, breaks, population, harvest) — is named in the
  guide as `key`;
* every ``docs/ONBOARDING.md#anchor`` written anywhere in pipelines/ (and every anchor of
  pipelines/docs_ref.py) is an ``<a id="anchor">`` of the guide;
* every problem key of quality_rules/messages/problems.yaml has its section;
* the errors of doctor, spec loading and onboarding carry a section.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from pipelines import docs_ref

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "ONBOARDING.md"
TEXT = GUIDE.read_text(encoding="utf-8")
ANCHORS = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', TEXT))
SCHEMA = json.loads((REPO / "reference" / "sources" / "source.schema.json").read_text(encoding="utf-8"))


def _properties(node: dict, where: str = "") -> set[tuple[str, str]]:
    """(where, key) of every named property below ``node`` (following $ref, oneOf, items)."""
    out: set[tuple[str, str]] = set()
    if not isinstance(node, dict):
        return out
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _properties(SCHEMA["$defs"][name], name) if name != where else out
    for k, v in (node.get("properties") or {}).items():
        out.add((where or "top", k))
        out |= _properties(v, k)
    for alt in node.get("oneOf", []) + node.get("anyOf", []):
        out |= _properties(alt, where)
    if isinstance(node.get("items"), dict):
        out |= _properties(node["items"], where)
    if isinstance(node.get("additionalProperties"), dict):
        out |= _properties(node["additionalProperties"], where)
    return out


def test_every_top_level_and_layout_level_key_is_documented():
    top = set(SCHEMA["properties"])
    layout = set(SCHEMA["$defs"]["Layout"]["properties"])
    missing = sorted(k for k in top | layout if f"`{k}`" not in TEXT)
    assert not missing, f"spec keys not documented in docs/ONBOARDING.md: {missing}"


def test_every_nested_key_is_documented():
    keys = _properties(SCHEMA)
    assert ("Reader", "header_contains") in keys and ("ColumnRole", "date_format") in keys
    assert ("Break", "from_year") in keys and ("Harvest", "cron") in keys
    missing = sorted(f"{w}.{k}" for w, k in keys if f"`{k}`" not in TEXT and not re.search(rf"[{{ ,]{k}:", TEXT))
    assert not missing, f"spec keys not documented in docs/ONBOARDING.md: {missing}"


def test_every_column_role_is_documented():
    roles = SCHEMA["$defs"]["Layout"]["properties"]["columns"]["propertyNames"]["enum"]
    assert not [r for r in roles if f"`{r}`" not in TEXT]


def test_every_family_has_a_worked_example():
    for family in ("tabular", "tabular_plus", "record_sum", "workbook", "cead"):
        assert f"`{family}`" in TEXT, family
    for anchor in ("example-wide-months", "example-measure-columns", "example-wide-years", "example-record-level",
                   "example-xlsx", "example-workbook-sheets", "example-cead", "example-template", "date-formats",
                   "layouts", "missing-values", "drop-rows", "breaks", "validity-years", "cadence"):
        assert anchor in ANCHORS, anchor


def _anchors_referenced_in_code() -> set[str]:
    out = set()
    for p in (REPO / "pipelines").rglob("*.py"):
        out |= set(re.findall(r"ONBOARDING\.md#([a-z0-9-]+)", p.read_text(encoding="utf-8")))
    out |= set(docs_ref.PROBLEM_SECTION.values()) | set(docs_ref.RULE_SECTION.values())
    out |= set(docs_ref.CHECK_SECTION.values())
    return out


def test_every_anchor_referenced_in_code_exists_in_the_guide():
    refs = _anchors_referenced_in_code()
    assert len(refs) > 15
    missing = sorted(refs - ANCHORS)
    assert not missing, f"anchors named in the code but absent from docs/ONBOARDING.md: {missing}"


def test_every_link_inside_the_guide_resolves():
    links = set(re.findall(r"\]\(#([a-z0-9-]+)\)", TEXT))
    assert not sorted(links - ANCHORS)


def test_every_problem_key_has_a_section():
    cat = yaml.safe_load((REPO / "quality_rules" / "messages" / "problems.yaml").read_text(encoding="utf-8"))
    assert not sorted(set(cat) - set(docs_ref.PROBLEM_SECTION))
    assert not sorted(set(docs_ref.PROBLEM_SECTION) - set(cat)), "sections for problem keys that do not exist"


# --------------------------------------------------------------------------------------------------
# the messages carry their section
# --------------------------------------------------------------------------------------------------
@pytest.fixture
def ref_copy(tmp_path):
    ref = tmp_path / "reference"
    shutil.copytree(REPO / "reference", ref)
    return ref


def _load(ref):
    from pipelines.specs.source import _load_all, load_all_specs

    _load_all.cache_clear()
    return load_all_specs(ref)


def test_spec_loading_errors_name_their_section(ref_copy):
    p = ref_copy / "sources" / "ar_snic.yaml"
    raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    raw["layouts"][0]["reader"]["encoding"] = "ebcdic"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=r"docs/ONBOARDING.md#reader"):
        _load(ref_copy)
    raw["layouts"][0]["reader"]["encoding"] = "utf-8"
    raw["cadence"] = "weekly"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=r"docs/ONBOARDING.md#cadence"):
        _load(ref_copy)
    raw["cadence"] = "annual"
    raw["layouts"][0]["columns"]["year"] = {"column": "anio", "date_part": "year", "date_format": "%d/%m/%y"}
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=r"docs/ONBOARDING.md#date-formats"):
        _load(ref_copy)
    p.unlink()
    from pipelines.adapters import load_spec

    _load(ref_copy)
    with pytest.raises(KeyError, match=r"docs/ONBOARDING.md#source-spec"):
        load_spec("ar_snic", ref_copy)


def test_doctor_failures_name_their_section(ref_copy, tmp_path, monkeypatch):
    from pipelines.doctor import run_checks
    from pipelines.settings import get_settings

    with open(ref_copy / "crosswalks" / "ar_snic.csv", "a", encoding="utf-8") as fh:
        fh.write('9999,Hipotético,0101,same,1,,,"Hypothetical, ICCS 0101."\n')
    bad = tmp_path / "snic-pais-bad.csv"
    bad.write_bytes("anio;codigo_delito_snic_id;codigo_delito_snic_nombre;cantidad_hechos\n2022;1;Homicidios;x\n"
                    .encode("utf-8"))
    monkeypatch.setenv("HEMISTAT_REFERENCE_DIR", str(ref_copy))
    monkeypatch.setenv("HEMISTAT_DATA_DIR", str(tmp_path / "data"))
    _load(ref_copy)
    s = get_settings()
    checks = {n: (ok, d) for n, ok, d in run_checks(s, files=[("ar_snic", bad), ("no_such_source", bad)])}
    failed = {n: d for n, (ok, d) in checks.items() if not ok}
    assert "crosswalk ar_snic for ar_snic" in failed
    assert "relation 'same'" in failed["crosswalk ar_snic for ar_snic"]
    assert len(failed) >= 3
    for n, d in failed.items():
        assert re.search(r"docs/ONBOARDING\.md#[a-z0-9-]+", d), (n, d)
        for a in re.findall(r"docs/ONBOARDING\.md#([a-z0-9-]+)", d):
            assert a in ANCHORS, (n, a)
