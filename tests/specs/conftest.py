"""A private copy of reference/ (and quality_rules/) per test, so one thing can be broken in it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ref(tmp_path) -> Path:
    out = tmp_path / "reference"
    shutil.copytree(REPO / "reference", out, ignore=shutil.ignore_patterns("population"))
    return out


def edit_spec(ref: Path, source_id: str, change) -> Path:
    """Load ``reference/sources/<source_id>.yaml`` of the copy, apply ``change(raw)``, write it back."""
    p = ref / "sources" / f"{source_id}.yaml"
    raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    change(raw)
    p.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p
