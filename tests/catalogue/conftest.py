"""Fixtures of the catalogue, survey and fund tests: settings over a private data folder, and a private copy of
``reference/`` (and ``quality_rules/``) for the tests that change a record."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cat_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("HEMISTAT_DATA_DIR", str(tmp_path / "data"))
    from pipelines.settings import get_settings

    s = get_settings()
    s.ensure_dirs()
    return s


@pytest.fixture
def ref_copy(tmp_path, monkeypatch):
    """A writable copy of reference/ and quality_rules/, used by the settings of this test."""
    ref = tmp_path / "reference"
    shutil.copytree(REPO / "reference", ref)
    rules = tmp_path / "quality_rules"
    shutil.copytree(REPO / "quality_rules", rules)
    monkeypatch.setenv("HEMISTAT_REFERENCE_DIR", str(ref))
    monkeypatch.setenv("HEMISTAT_RULES_DIR", str(rules))
    monkeypatch.setenv("HEMISTAT_DATA_DIR", str(tmp_path / "data"))
    from pipelines.settings import get_settings

    s = get_settings()
    s.ensure_dirs()
    return s
