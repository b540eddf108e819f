"""The pipeline's publications reuse the harmonised parts whose inputs did not change
(``HEMISTAT_HARMONISE_CACHE``, default on; ``<data>/cache/harmonise_parts``), and publish what a publication
computing every part publishes."""

from __future__ import annotations

import duckdb
import pytest

from pipelines import pipeline
from pipelines.samples.synthetic import generate_sample
from pipelines.settings import get_settings
from tests.storage.test_isolated_faults import _accept


def _table(path, ordered: bool = False) -> list:
    """A harmonised table's rows: in file order for the indicators (their published order), else as a multiset
    (the cells and revisions of several parts are merged in no set order)."""
    rows = duckdb.execute("select * from read_parquet(?)", [str(path)]).fetchall()
    return rows if ordered else sorted(rows, key=repr)


def test_publications_reuse_unchanged_parts_and_publish_the_same_tables(data_env, tmp_path, monkeypatch):
    monkeypatch.setenv("HEMISTAT_HARMONISE_PART_CELLS", "1")     # a part per country (or year): several parts
    s = get_settings()
    sample = generate_sample(tmp_path / "sample")
    first, second = sample["ar_snic"][:2]
    _accept(s, first, "ar_snic")
    one = pipeline.harmonise_all(s)
    assert one["parts"] > 1 and one["parts_reused"] == 0
    again = pipeline.harmonise_all(s)
    assert again["parts_reused"] == again["parts"]
    sid2 = _accept(s, second, "ar_snic")
    changed = pipeline.harmonise_all(s)
    assert changed["parts_reused"] < changed["parts"]       # the parts the new file touches are computed again
    cached = {name: _table(s.harmonised_dir / f"{name}.parquet", name == "indicators")
              for name in ("indicators", "cells", "revisions")}
    # the same publication with every part computed
    monkeypatch.setenv("HEMISTAT_HARMONISE_CACHE", "0")
    fresh = pipeline.harmonise_all(get_settings())
    assert fresh["parts_reused"] == 0
    for name, rows in cached.items():
        assert _table(s.harmonised_dir / f"{name}.parquet", name == "indicators") == rows, name
    # a withdrawal: what is published no longer holds the file, from the cache as without it
    monkeypatch.setenv("HEMISTAT_HARMONISE_CACHE", "1")
    pipeline.withdraw(get_settings(), sid2, reason="test", by="t")
    pipeline.harmonise_all(get_settings())
    used = [r[0] for r in _table(s.harmonised_dir / "used_submissions.parquet")]
    assert sid2 not in used


def test_the_cache_can_be_turned_off(data_env, tmp_path, monkeypatch):
    monkeypatch.setenv("HEMISTAT_HARMONISE_CACHE", "0")
    s = get_settings()
    assert s.harmonise_cache is False
    _accept(s, generate_sample(tmp_path / "sample")["ar_snic"][0], "ar_snic")
    assert pipeline.harmonise_all(s)["parts_reused"] == 0
    assert not s.harmonise_cache_dir.exists()
    monkeypatch.setenv("HEMISTAT_HARMONISE_CACHE", "maybe")
    from pipelines.settings import SettingsError

    with pytest.raises(SettingsError, match="HEMISTAT_HARMONISE_CACHE"):
        get_settings()
