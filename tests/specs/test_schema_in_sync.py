"""reference/sources/source.schema.json is generated from the models (one validator; editors keep a schema)."""

from __future__ import annotations

from pipelines.specs.schema import REGENERATE, schema_path, source_schema_text


def test_committed_schema_is_the_generated_one():
    committed = schema_path().read_text(encoding="utf-8")
    assert committed == source_schema_text(), (
        f"reference/sources/source.schema.json differs from the models in pipelines/specs/source.py; "
        f"regenerate it with `{REGENERATE}` and commit it")
