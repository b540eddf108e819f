"""``reference/sources/source.schema.json`` is generated from the models of ``pipelines.specs.source`` (editors
keep a JSON Schema; the models are the one validator). Regenerate after changing a model:

    python -m pipelines.specs.schema

``tests/specs/test_schema_in_sync.py`` fails when the committed file differs from the generated one."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.specs.source import SourceSpec

REGENERATE = "python -m pipelines.specs.schema"


def source_schema() -> dict:
    schema = SourceSpec.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$comment": f"GENERATED from pipelines/specs/source.py by `{REGENERATE}`; do not edit by hand",
            **schema, "title": "hemistat source spec (reference/sources/<source_id>.yaml)"}


def source_schema_text() -> str:
    return json.dumps(source_schema(), indent=2, ensure_ascii=False) + "\n"


def schema_path(reference_dir: Path | None = None) -> Path:
    from pipelines.settings import REPO_ROOT

    return Path(reference_dir or REPO_ROOT / "reference") / "sources" / "source.schema.json"


def main() -> None:
    p = schema_path()
    p.write_text(source_schema_text(), encoding="utf-8")
    print(f"wrote {p}")


if __name__ == "__main__":
    main()
