"""Issue 9, items 1, 3 and 4: what a release says about quality and statuses is right.

Base file: the real Argentina SNIC national file (snic-pais.csv); a copy with one line repeated is a second
submission that rule C4 (no duplicate observations) rejects with the lines "4, 21".
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from pipelines import pipeline
from pipelines.pipeline.quality_files import _failure_frame
from pipelines.adapters import SubmissionError
from pipelines.settings import get_settings
from pipelines.storage import release as rel
from pipelines.storage import submissions as subs
from tests.conftest import real
from pipelines.storage.release import connect as release_connect


@pytest.fixture
def odd_env(tmp_path, monkeypatch):
    """A data folder whose path has a space, a quote and an accent (it used to be refused at publish)."""
    d = tmp_path / "datos de la Oficina d'Estadística"
    monkeypatch.setenv("HEMISTAT_DATA_DIR", str(d))
    monkeypatch.setenv("DAGSTER_HOME", str(d / "dagster_home"))
    s = get_settings()
    s.ensure_dirs()
    return s


def _accept(s, path, source="ar_snic"):
    man, _ = pipeline.submit(s, path, source)
    pipeline.ingest(s, man.submission_id)
    pipeline.validate(s, man.submission_id)
    st = subs.read_status(s.landing_dir, man.submission_id)
    if st["status"] == "awaiting_review":
        pipeline.acknowledge(s, man.submission_id, pipeline.failing_warnings(s, man.submission_id), by="test",
                          reason="known SNIC findings")
    return man.submission_id


def _duplicated_copy(tmp_path):
    lines = real("ar_snic/snic-pais.csv").read_bytes().splitlines(keepends=True)
    bad = lines[:20] + [lines[3]] + lines[20:]          # file line 4 repeated as line 21
    p = tmp_path / "snic-pais-dup.csv"
    p.write_bytes(b"".join(bad))
    return p


@pytest.fixture
def published(odd_env, tmp_path):
    s = odd_env
    good = _accept(s, real("ar_snic/snic-pais.csv"))
    man, _ = pipeline.submit(s, _duplicated_copy(tmp_path), "ar_snic")
    pipeline.ingest(s, man.submission_id)
    with pytest.raises(SubmissionError):
        pipeline.validate(s, man.submission_id)
    pipeline.harmonise_all(s)
    res = pipeline.publish_all(s)
    return s, good, man.submission_id, res


def test_scorecard_reads_only_rule_results(published):
    """Item 1: the <sid>_coverage.parquet files are not quality results (no NULL rule_id, no stray columns)."""
    s, good, bad, _ = published
    con = release_connect(s.duckdb_path)
    try:
        n, n_null = con.execute("select count(*), count(*) filter (where rule_id is null) "
                                "from published.quality_scorecard").fetchone()
        cols = {r[0] for r in con.execute("describe published.quality_rules").fetchall()}
        per_sub = dict(con.execute("select submission_id, count(*) from published.quality_scorecard "
                                   "where submission_id is not null group by 1").fetchall())
    finally:
        con.close()
    assert n > 0 and n_null == 0
    assert not {"country_iso3", "year"} & cols, cols            # coverage columns leaked in before
    assert set(per_sub) == {good, bad}
    assert per_sub[good] == per_sub[bad]                         # one row per rule of each submission


def test_failure_lines_are_kept(published):
    """Item 4: a duplicate reported on lines "4, 21" keeps both lines in published.quality_failures."""
    s, _, bad, _ = published
    con = release_connect(s.duckdb_path)
    try:
        rows = con.execute("select line, lines from published.quality_failures where rule_id = 'C4' "
                           "and submission_id = ?", [bad]).fetchall()
        null_lines = con.execute("select count(*) from published.quality_failures where rule_id = 'C4' "
                                 "and line is null").fetchone()[0]
    finally:
        con.close()
    assert len(rows) >= 1 and set(rows) == {(4, "4, 21")}   # one row per duplicated cell of line 4
    assert null_lines == 0


def test_statuses_follow_the_release(published):
    """Item 3: a publish in a folder with spaces and quotes works; statuses and the release agree."""
    s, good, bad, res = published
    assert " " in str(s.data_dir) and "'" in str(s.data_dir)
    st = subs.read_status(s.landing_dir, good)
    assert st["status"] == "published" and st["release_id"] == res["release_id"]
    assert subs.read_status(s.landing_dir, bad)["status"] == "rejected"
    con = release_connect(s.duckdb_path)
    try:
        in_release = dict(con.execute("select submission_id, status from published.submissions").fetchall())
        n_hist = con.execute("select count(distinct release_id) from published.indicator_history").fetchone()[0]
    finally:
        con.close()
    assert in_release == {good: "published", bad: "rejected"}
    assert n_hist == 1


def test_failed_publish_changes_no_status(odd_env, monkeypatch):
    """Item 3: if the release cannot be written, no submission says 'published' and nothing is left
    half-made; the next publish succeeds and only then sets the status."""
    s = odd_env
    sid = _accept(s, real("ar_snic/snic-pais.csv"))
    pipeline.harmonise_all(s)
    before = subs.read_status(s.landing_dir, sid)
    assert before["status"] == "validated"

    def boom(*a, **k):
        raise OSError("No space left on device")

    monkeypatch.setattr(rel, "build_database", boom)
    with pytest.raises(OSError):
        pipeline.publish_all(s)
    after = subs.read_status(s.landing_dir, sid)
    assert after["status"] == "validated" and after["events"] == before["events"]
    assert rel.current_release(s.published_dir) is None
    assert rel.finished_releases(s.published_dir / "releases") == []   # the unserved release is removed
    assert not s.duckdb_path.exists()

    monkeypatch.undo()
    res = pipeline.publish_all(s)
    assert subs.read_status(s.landing_dir, sid)["status"] == "published"
    assert rel.current_release(s.published_dir) == res["release_id"]


def test_failure_frame_keeps_every_line():
    f = _failure_frame([pd.DataFrame({"line": ["4, 21", 7, None], "value": ["a", "b", "c"]})], [])
    assert f["line"].tolist()[:2] == [4, 7] and pd.isna(f["line"].iloc[2])
    assert f["lines"].tolist()[:2] == ["4, 21", "7"] and pd.isna(f["lines"].iloc[2])
