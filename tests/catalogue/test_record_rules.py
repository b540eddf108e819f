"""The record rules (quality_rules/records/catalogue.yaml) as data: schema, checks, four languages; and the
engine's isolation: a check that raises is an error_in_rule that blocks, never a pass."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipelines.i18n.catalogues import placeholders
from pipelines.knowledge import record_rules

RULES = Path(__file__).resolve().parents[2] / "quality_rules" / "records"


def test_every_check_is_implemented_and_every_table_has_rules(cat_settings):
    enum = set(json.loads((RULES / "catalogue_rule.schema.json").read_text("utf-8"))["properties"]["check"]["enum"])
    # registered as record checks in the quality registry, beside the practice checks
    assert enum == {c for c in record_rules.RECORD_CHECKS if c.startswith("record_")}
    rules = record_rules.load_record_rules(cat_settings)
    assert len({r.id for r in rules}) == len(rules) == 22
    assert {r.category for r in rules} == set(record_rules.TABLES)
    assert {r.check for r in rules} == enum


def test_messages_in_four_languages_with_the_same_placeholders(cat_settings):
    for r in record_rules.load_record_rules(cat_settings):
        en = placeholders(r.message["en"].replace("[[", "").replace("]]", ""))
        for lang in ("es", "pt", "fr"):
            assert placeholders(r.message[lang].replace("[[", "").replace("]]", "")) == en, (r.id, lang)
            assert r.message[lang] != r.message["en"] and r.title[lang] != r.title["en"], (r.id, lang)


def test_a_broken_check_blocks_instead_of_passing(cat_settings, monkeypatch):
    def boom(rule, table, ctx, con):
        raise RuntimeError("boom")

    monkeypatch.setitem(record_rules.RECORD_CHECKS, "record_unique", boom)
    df = pd.DataFrame({"response_id": ["a"], "__file": ["x.csv"], "__line": [2]})
    results = record_rules.check_records(cat_settings, "survey", df)
    broken = [r for r in results if r.rule.check == "record_unique"]
    assert [r.status for r in broken] == ["error_in_rule"] and broken[0].blocking
    with pytest.raises(record_rules.RecordError, match="SUR6: RuntimeError: boom"):
        record_rules.raise_for(results)


def test_rule_file_errors_name_the_file_and_rule(tmp_path, monkeypatch):
    import shutil

    d = tmp_path / "quality_rules" / "records"
    shutil.copytree(RULES, d)
    text = (d / "catalogue.yaml").read_text("utf-8").replace("check: record_ledger", "check: record_magic", 1)
    (d / "catalogue.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("HEMISTAT_RULES_DIR", str(tmp_path / "quality_rules"))
    from pipelines.settings import get_settings

    with pytest.raises(ValueError, match=r"catalogue.yaml: rule FUN10: 'record_magic' is not one of"):
        record_rules.load_record_rules(get_settings())
