"""Checks of the quality-rule catalogue in quality_rules/*.yaml and the per-source overrides.

The rules are data: every rule validates against quality_rules/rule.schema.json, the 28 ids of the
catalogue (DOMAIN.md 2.2) are present exactly once, each ``check`` is used with exactly the params the
engine implements (the typed models of pipelines/quality/params.py),
message templates use only the allowed placeholders, and the four languages are real
translations. Overrides in quality_rules/sources/*.yaml validate against override.schema.json and refer to
existing rules; a rule with its override applied must still be a valid rule.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import jsonschema
import pytest
import yaml

from pipelines.i18n import LANGUAGES as LANGS

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "quality_rules"
SOURCES_DIR = RULES_DIR / "sources"
RULE_SCHEMA = RULES_DIR / "rule.schema.json"
OVERRIDE_SCHEMA = SOURCES_DIR / "override.schema.json"

PLACEHOLDERS = {"file", "line", "column", "value", "country", "subdivision", "year", "month", "code",
                "observed", "expected", "threshold"}
RULE_KEYS = {"id", "title", "message", "check", "params", "severity", "dimension", "category", "layer",
             "rationale", "threshold_source"}
CATEGORIES = {"structure", "classification", "codes", "identity", "validity", "internal consistency",
              "plausibility", "two-source accuracy", "coherence", "completeness", "coverage", "timeliness",
              "revisions", "metadata", "flags"}

# file -> the ids it must hold
FILES = {
    "structure.yaml": {"S1", "S2", "S3"},
    "classification.yaml": {"C1", "C2", "C3", "C4"},
    "validity.yaml": {"V1", "F1"},
    "consistency.yaml": {"I1", "I2", "I3", "I4"},
    "plausibility.yaml": {"P1", "P2", "P3", "P4", "P5"},
    "accuracy.yaml": {"X1", "X2", "X3"},
    "completeness.yaml": {"K1", "K2"},
    "timeliness.yaml": {"T1", "T2"},
    "revisions.yaml": {"R1", "R2"},
    "metadata.yaml": {"M1"},
}
ALL_IDS = set().union(*FILES.values())

# id -> (check, severity, layer) as implemented by the engine
CATALOGUE = {
    "S1": ("file_parses", "error", "raw"),
    "S2": ("encoding_declared", "warn", "raw"),
    "S3": ("months_complete", "error", "validated"),
    "C1": ("crosswalk_covers", "error", "validated"),
    "C2": ("iccs_code_valid", "error", "validated"),
    "C3": ("in_codelist", "error", "validated"),
    "C4": ("unique_key", "error", "validated"),
    "V1": ("value_range", "error", "validated"),
    "V1": ("value_range", "error", "validated"),
    "F1": ("obs_status_valid", "error", "validated"),
    "I1": ("breakdown_sums_to_total", "warn", "validated"),
    "I2": ("hierarchy_child_le_parent", "error", "validated"),
    "I3": ("measure_ratio", "warn", "harmonised"),
    "I4": ("reported_rate_matches", "warn", "validated"),
    "P1": ("rate_range", "warn", "harmonised"),
    "P2": ("yoy_change", "warn", "validated"),
    "P3": ("robust_zscore", "warn", "validated"),
    "P4": ("share_range", "warn", "validated"),
    "P5": ("break_to_zero", "warn", "validated"),
    "X1": ("two_source_ratio", "warn", "harmonised"),
    "X2": ("multi_institution_ratio", "warn", "harmonised"),
    "X3": ("national_equals_subdivisions", "warn", "validated"),
    "K1": ("completeness_rate", "info", "harmonised"),
    "K2": ("coverage_rate", "warn", "validated"),
    "T1": ("time_lag", "info", "validated"),
    "T2": ("punctuality", "info", "validated"),
    "R1": ("revision_size", "warn", "validated"),
    "R2": ("mean_absolute_revision", "info", "validated"),
    "M1": ("metadata_present", "error", "validated"),
}

# English words that must not appear in a translated (es/pt/fr) text
ENGLISH_ONLY = {"the", "is", "are", "must", "and", "of", "with", "should", "missing", "value", "values",
                "file", "line", "not", "please", "than", "has", "from", "year"}


def _load(path: Path):
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _rules_of(path: Path) -> list[dict]:
    doc = _load(path)
    assert isinstance(doc, dict) and set(doc) == {"rules"}, f"{path.name}: top level must be exactly `rules:`"
    assert isinstance(doc["rules"], list) and doc["rules"], f"{path.name}: `rules` must be a non-empty list"
    return doc["rules"]


def _all_rules() -> list[tuple[str, dict]]:
    out = []
    for name in FILES:
        path = RULES_DIR / name
        assert path.exists(), f"missing rule file {path}"
        out += [(name, r) for r in _rules_of(path)]
    return out


def _fields(template: str) -> set[str]:
    names = set()
    for _, field, spec, conv in string.Formatter().parse(template):
        if field is not None:
            assert not spec and not conv, f"format spec/conversion not allowed in {template!r}"
            names.add(field)
    return names


def _stripped_words(text: str) -> set[str]:
    text = re.sub(r"\{[^}]*\}", " ", text)
    return {w.lower() for w in re.findall(r"[A-Za-zÀ-ÿ']+", text)}


RULES = _all_rules()
BY_ID = {r["id"]: r for _, r in RULES if isinstance(r, dict) and "id" in r}
RULE_IDS = [r.get("id", f"#{i}") for i, (_, r) in enumerate(RULES)]


@pytest.fixture(scope="module")
def rule_validator():
    schema = json.loads(RULE_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def override_validator():
    schema = json.loads(OVERRIDE_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


# ---------------------------------------------------------------------------------------------------
# catalogue as a whole
# ---------------------------------------------------------------------------------------------------
def test_no_unexpected_rule_files():
    present = {p.name for p in RULES_DIR.glob("*.yaml")} | {p.name for p in RULES_DIR.glob("*.yml")}
    assert present == set(FILES), f"unexpected or missing rule files: {sorted(present ^ set(FILES))}"


def test_each_file_holds_its_family():
    for name, ids in FILES.items():
        got = [r.get("id") for r in _rules_of(RULES_DIR / name)]
        assert sorted(got) == sorted(ids), f"{name}: has {sorted(got)}, expected {sorted(ids)}"


def test_every_catalogue_id_exactly_once():
    # DOMAIN.md 2.2 lists 28 ids: S1-S3, C1-C4, V1, I1-I4, P1-P5, X1-X3, K1-K2, T1-T2, R1-R2, M1, F1
    assert ALL_IDS == set(CATALOGUE) and len(CATALOGUE) == 28
    ids = [r.get("id") for _, r in RULES]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"duplicate rule ids: {dupes}"
    assert set(ids) == ALL_IDS, f"missing {sorted(ALL_IDS - set(ids))}, extra {sorted(set(ids) - ALL_IDS)}"
    assert len(ids) == len(ALL_IDS)


# ---------------------------------------------------------------------------------------------------
# per rule
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,rule", RULES, ids=RULE_IDS)
def test_rule_validates_against_schema(name, rule, rule_validator):
    errors = sorted(rule_validator.iter_errors(rule), key=lambda e: list(e.path))
    assert not errors, f"{name} {rule.get('id')}: " + "; ".join(
        f"{'/'.join(map(str, e.path)) or '<rule>'}: {e.message}" for e in errors)


@pytest.mark.parametrize("name,rule", RULES, ids=RULE_IDS)
def test_rule_has_exactly_the_documented_keys(name, rule):
    assert set(rule) == RULE_KEYS, f"{rule.get('id')}: keys differ: {sorted(set(rule) ^ RULE_KEYS)}"
    assert rule["category"] in CATEGORIES, f"{rule['id']}: unknown category {rule['category']!r}"


@pytest.mark.parametrize("name,rule", RULES, ids=RULE_IDS)
def test_check_severity_layer_match_catalogue(name, rule):
    rid = rule["id"]
    assert rid in CATALOGUE, f"{rid} is not in the catalogue"
    got = (rule["check"], rule["severity"], rule["layer"])
    assert got == CATALOGUE[rid], f"{rid}: (check, severity, layer) is {got}, expected {CATALOGUE[rid]}"


def _check_params(rid: str, check: str, params: dict, file: str = "catalogue"):
    """The parameters validate against the typed model of the check (pipelines/quality/params.py)."""
    from pipelines.quality.params import MODELS, validate

    assert check in MODELS, f"{rid}: check {check!r} has no parameter model"
    validate(check, params, file=file, rule_id=rid)  # raises RuleParamError naming the parameter


@pytest.mark.parametrize("name,rule", RULES, ids=RULE_IDS)
def test_check_used_with_valid_params(name, rule):
    _check_params(rule["id"], rule["check"], rule["params"], name)


@pytest.mark.parametrize("name,rule", RULES, ids=RULE_IDS)
def test_catalogue_states_every_parameter(name, rule):
    """Thresholds are read in the YAML, not in code: the catalogue sets every parameter of its check."""
    from pipelines.quality.params import MODELS

    fields = set(MODELS[rule["check"]].model_fields)
    assert set(rule["params"]) == fields, f"{rule['id']}: parameters not stated: {sorted(fields - set(rule['params']))}"


def test_every_check_of_the_schema_has_a_model():
    from pipelines.quality.registry import CHECKS, PROBLEM_CHECKS
    from pipelines.quality.params import MODELS

    enum = set(json.loads(RULE_SCHEMA.read_text(encoding="utf-8"))["properties"]["check"]["enum"])
    assert enum == set(MODELS) == set(CHECKS) | set(PROBLEM_CHECKS)


def test_param_values_are_coherent():
    p = {rid: r["params"] for rid, r in BY_ID.items()}
    assert p["C2"]["pattern"] == r"^\d{2}(\d{2}(\d(\d)?)?)?$"
    assert re.fullmatch(p["C2"]["pattern"][1:-1], "0101") and not re.fullmatch(p["C2"]["pattern"][1:-1], "101")
    assert p["C3"]["columns"]["sex"] == ["_T", "F", "M", "_U"]
    from pipelines.contracts.tables import MEASURES, UNITS

    assert set(p["C3"]["columns"]["unit"]) == set(UNITS)          # the code lists are the contract's
    assert set(p["C3"]["columns"]["measure"]) == set(MEASURES)
    ref = p["C3"]["columns"]["country_iso3"]
    assert ref == "reference:oas_members"
    assert (REPO / "reference" / "countries" / "oas_members.csv").exists()
    assert p["C4"]["columns"] == ["country_iso3", "subdivision_code", "year", "month", "national_code",
                                  "measure", "unit", "sex", "age", "relationship"]
    assert set(p["F1"]["note_required_for"]) <= set(p["F1"]["codes"])
    assert set(p["F1"]["codes"]) == set("ABDEMPIULOV")
    assert p["I1"]["total"] not in p["I1"]["parts"]
    assert p["I3"]["min"] < p["I3"]["max"]
    assert p["I4"]["warn_rel"] < p["I4"]["different_base_rel"]
    assert p["P1"]["max"] < p["P1"]["hard_max"]
    assert p["P3"]["min_years"] <= p["P3"]["window"]
    assert p["P4"]["min"] < p["P4"]["max"]
    x1 = p["X1"]
    assert x1["min"] <= x1["info_min"] < 1 < x1["info_max"] <= x1["max"]
    core = p["K1"]["core_iccs"]
    assert len(core) == 21 and len(set(core)) == 21
    iccs_csv = REPO / "reference" / "iccs" / "iccs.csv"
    if iccs_csv.exists():
        import csv

        with iccs_csv.open(encoding="utf-8") as fh:
            known = {row["code"] for row in csv.DictReader(fh)}
        assert set(core) <= known, f"K1 core codes not in ICCS: {sorted(set(core) - known)}"
    # M1 fields are fields of the source spec
    src_schema = json.loads((REPO / "reference" / "sources" / "source.schema.json").read_text(encoding="utf-8"))
    unknown = set(p["M1"]["fields"]) - set(src_schema["properties"])
    assert not unknown, f"M1 asks for fields the source spec does not have: {sorted(unknown)}"


@pytest.mark.parametrize("name,rule", RULES, ids=RULE_IDS)
def test_message_placeholders(name, rule):
    per_lang = {}
    for lang in LANGS:
        fields = _fields(rule["message"][lang])
        bad = fields - PLACEHOLDERS
        assert not bad, f"{rule['id']} message[{lang}] uses unknown placeholders {sorted(bad)}"
        per_lang[lang] = fields
        assert not _fields(rule["title"][lang]), f"{rule['id']} title[{lang}] must not contain placeholders"
    for lang in LANGS[1:]:
        assert per_lang[lang] == per_lang["en"], (
            f"{rule['id']}: message[{lang}] placeholders {sorted(per_lang[lang])} differ from en {sorted(per_lang['en'])}")
    # optional [[ ... ]] segments: balanced, and the same placeholders made optional in every language
    segs = {lang: re.findall(r"\[\[(.*?)\]\]", rule["message"][lang]) for lang in LANGS}
    for lang in LANGS:
        rest = re.sub(r"\[\[(.*?)\]\]", "", rule["message"][lang])
        assert "[[" not in rest and "]]" not in rest, f"{rule['id']} message[{lang}]: unbalanced [[ ]]"
        assert [_fields(x) for x in segs[lang]] == [_fields(x) for x in segs["en"]], (
            f"{rule['id']} message[{lang}]: optional segments differ from en")


def test_optional_segments_drop_when_their_value_is_missing():
    from pipelines.quality import load_rules

    s1 = next(r for r in load_rules(REPO / "quality_rules", reference_dir=REPO / "reference") if r.id == "S1")
    assert s1.render("es", file="a.csv", line=3, observed="x") == "No se puede leer el archivo a.csv en la línea 3: x"
    assert s1.render("es", file="a.csv", observed="x", expected="y") == \
        "No se puede leer el archivo a.csv: x (se esperaba: y)"
    assert s1.render("en", file="a.csv", line=0, observed="x") == "File a.csv cannot be read at line 0: x"


@pytest.mark.parametrize("name,rule", RULES, ids=RULE_IDS)
def test_four_languages_are_real_translations(name, rule):
    for key in ("title", "message"):
        texts = rule[key]
        assert set(texts) == set(LANGS)
        norm = {lang: " ".join(texts[lang].split()).casefold() for lang in LANGS}
        for i, a in enumerate(LANGS):
            for b in LANGS[i + 1:]:
                assert norm[a] != norm[b], f"{rule['id']} {key}: {a} and {b} are identical: {texts[a]!r}"
        for lang in LANGS[1:]:
            english = _stripped_words(texts[lang]) & ENGLISH_ONLY
            assert not english, f"{rule['id']} {key}[{lang}] looks untranslated (English words {sorted(english)})"


@pytest.mark.parametrize("name,rule", RULES, ids=RULE_IDS)
def test_rationale_and_threshold_source(name, rule):
    assert len(rule["rationale"].strip()) >= 40, f"{rule['id']}: rationale too short"
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", rule["rationale"].strip()) if s]
    assert 1 <= len(sentences) <= 3, f"{rule['id']}: rationale should be 1-3 sentences, has {len(sentences)}"
    ts = rule["threshold_source"]
    assert re.search(r"\[S\d+\]|\(P\)|\(B\)|DOMAIN|NQAF|DQAF|ESS|ICCS|UNODC|SDMX", ts), (
        f"{rule['id']}: threshold_source must cite a framework/source or 'project proposal (P)': {ts!r}")


# ---------------------------------------------------------------------------------------------------
# per-source overrides
# ---------------------------------------------------------------------------------------------------
OVERRIDE_FILES = sorted(SOURCES_DIR.glob("*.yaml"))


def test_expected_override_files_exist():
    names = {p.stem for p in OVERRIDE_FILES}
    assert {"ar_snic", "mx_sesnsp"} <= names


@pytest.mark.parametrize("path", OVERRIDE_FILES, ids=[p.stem for p in OVERRIDE_FILES])
def test_override_file(path, override_validator, rule_validator):
    doc = _load(path)
    errors = list(override_validator.iter_errors(doc))
    assert not errors, f"{path.name}: " + "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)
    assert doc["source_id"] == path.stem, f"{path.name}: source_id {doc['source_id']!r} must match the file name"
    assert (REPO / "reference" / "sources" / f"{path.stem}.yaml").exists(), f"unknown source {path.stem}"
    ids = [o["id"] for o in doc["overrides"]]
    assert len(ids) == len(set(ids)), f"{path.name}: a rule is overridden twice"
    for o in doc["overrides"]:
        assert o["id"] in BY_ID, f"{path.name}: override of unknown rule {o['id']}"
        assert o["reason"].strip(), f"{path.name}: {o['id']} needs a reason"
        base = BY_ID[o["id"]]
        merged = dict(base)
        if "severity" in o:
            merged["severity"] = o["severity"]
        if "enabled" in o:
            merged["enabled"] = o["enabled"]
        merged["params"] = {**base["params"], **o.get("params", {})}
        errors = list(rule_validator.iter_errors(merged))
        assert not errors, f"{path.name}: {o['id']} after override: {[e.message for e in errors]}"
        _check_params(o["id"], merged["check"], merged["params"], path.name)


def test_required_overrides():
    ar = {o["id"]: o for o in _load(SOURCES_DIR / "ar_snic.yaml")["overrides"]}
    assert ar["I2"]["severity"] == "warn"
    assert ar["X3"]["params"]["tolerance_rel"] == 0.02
    assert ar["X3"].get("severity", BY_ID["X3"]["severity"]) == "warn"
    mx = {o["id"]: o for o in _load(SOURCES_DIR / "mx_sesnsp.yaml")["overrides"]}
    assert mx["S3"]["params"]["allow_incomplete_last_year"] is True
