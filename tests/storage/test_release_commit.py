"""Issue 14, item 1 (a publish is atomic for the history views too) and item 13 (single points of failure of
the published warehouse: a corrupt file in an old release, a moved or copied data folder).

One small synthetic publication (the SNIC national file of pipelines/samples/synthetic.py) is built once per
module; each test works on its own copy of that data folder, so every test also reads a warehouse that is
not where it was built.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipelines import pipeline
from pipelines.harmonise import reference as ref
from pipelines.samples.synthetic import generate_sample
from pipelines.settings import get_settings
from pipelines.storage import release as rel
from tests.conftest import environ


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A data folder with one committed release of the synthetic SNIC national file."""
    tmp = tmp_path_factory.mktemp("commit")
    with environ({"HEMISTAT_DATA_DIR": str(tmp / "data"), "DAGSTER_HOME": str(tmp / "data" / "dagster_home")}):
        s = get_settings()
        s.ensure_dirs()
        pais = next(p for p in generate_sample(tmp / "sample")["ar_snic"] if p.name.startswith("snic-pais"))
        sid = pipeline.submit(s, pais, "ar_snic")[0].submission_id
        pipeline.ingest(s, sid)
        pipeline.validate(s, sid)
        if pipeline.failing_warnings(s, sid):
            pipeline.acknowledge(s, sid, pipeline.failing_warnings(s, sid), by="test", reason="synthetic sample")
        pipeline.harmonise_all(s)
        pipeline.publish_all(s)
    return tmp / "data"


@pytest.fixture
def env(template, tmp_path, monkeypatch):
    """A private copy of the template's data folder (elsewhere than where it was built)."""
    d = tmp_path / "copy of data"
    shutil.copytree(template, d, symlinks=True)
    monkeypatch.setenv("HEMISTAT_DATA_DIR", str(d))
    monkeypatch.setenv("DAGSTER_HOME", str(d / "dagster_home"))
    return get_settings()


def _republish(s) -> str:
    """A new release of what the current one serves (the storage layer's publish, no harmonisation)."""
    cur = s.published_dir / "releases" / rel.current_release(s.published_dir)
    tables = {p.stem: p for p in cur.glob("*.parquet")}
    refs = {"countries": ref.countries(s.reference_dir), "iccs": ref.iccs(s.reference_dir),
            "population_national": ref.population_national(s.reference_dir),
            "population_subnational": ref.population_subnational(s.reference_dir)}
    return rel.publish(s.published_dir, s.duckdb_path, s.views_dir, tables, refs, metadata={"submissions": []})


def _views(s) -> dict:
    """What each view of the warehouse says the release is."""
    con = rel.connect(s.duckdb_path)
    try:
        return {
            "release": con.execute("select release_id from published.release").fetchone()[0],
            "releases": [r[0] for r in con.execute("select release_id from published.releases order by 1").fetchall()],
            "history": sorted(r[0] for r in con.execute(
                "select distinct release_id from published.indicator_history").fetchall()),
            "as_of_now": con.execute("select distinct release_id from published.indicators_as_of(now())").fetchall(),
            "n": con.execute("select count(*) from published.indicators").fetchone()[0],
            "n_as_of": con.execute("select count(*) from published.indicators_as_of(now())").fetchone()[0],
            "changelog": sorted({r[0] for r in con.execute("select release_id from published.changelog").fetchall()}),
        }
    finally:
        con.close()


def _crash_while_building(monkeypatch):
    """The process dies while the new database is being built: the release folder is written, nothing after
    it runs — no clean-up either (a kill -9 or a power cut runs no handler)."""
    def killed(*a, **k):
        raise SystemExit("killed while building the database")

    monkeypatch.setattr(rel, "build_database", killed)
    monkeypatch.setattr(rel.shutil, "rmtree", lambda *a, **k: None)


# ---- item 1 ---------------------------------------------------------------------------------------------
def test_crash_before_commit_every_view_keeps_the_old_release_and_the_next_publish_recovers(env, monkeypatch):
    r1 = rel.current_release(env.published_dir)
    before = _views(env)
    assert before["release"] == r1 and before["releases"] == [r1] and before["history"] == [r1]

    with monkeypatch.context() as m:
        _crash_while_building(m)
        with pytest.raises(SystemExit):
            _republish(env)
    orphans = [d.name for d in (env.published_dir / "releases").iterdir() if d.name != r1]
    assert len(orphans) == 1 and (env.published_dir / "releases" / orphans[0] / "release.json").exists()

    # every view still agrees on the old release; the orphan is named nowhere
    during = _views(env)
    assert during == before
    assert during["as_of_now"] == [(r1,)] and during["n_as_of"] == during["n"]
    assert rel.current_release(env.published_dir) == r1 and rel.committed_releases(env.published_dir) == [r1]

    # the next publish recovers with no manual step: the orphan is removed, the history holds committed
    # releases only
    r3 = pipeline.publish_all(env)["release_id"]
    assert not (env.published_dir / "releases" / orphans[0]).exists()
    after = _views(env)
    assert after["release"] == r3 and after["releases"] == after["history"] == sorted({r1, r3})
    assert orphans[0] not in after["changelog"]
    assert rel.committed_releases(env.published_dir) == list(dict.fromkeys([r1, r3]))
    assert sorted(d.name for d in (env.published_dir / "releases").iterdir()) == sorted({r1, r3})

    # and so does a release published later
    r4 = _republish(env)
    assert _views(env)["history"] == sorted({r1, r3, r4})

def test_crash_between_database_swap_and_commit_is_recovered(env, monkeypatch):
    """The new database was swapped in (readers already see it, every view on it) but the commit record was
    not written: the next publish counts that release as committed, it stays in the history."""
    r1 = rel.current_release(env.published_dir)
    real_commit = rel._commit
    calls = []

    def die_once(*a, **k):
        if not calls:
            calls.append(1)
            raise SystemExit("killed before the commit record")
        return real_commit(*a, **k)

    monkeypatch.setattr(rel, "_commit", die_once)
    with pytest.raises(SystemExit):
        _republish(env)
    seen = _views(env)
    r2 = seen["release"]
    assert r2 != r1 and seen["releases"] == seen["history"] == sorted([r1, r2])

    r3 = _republish(env)
    assert rel.committed_releases(env.published_dir) == [r1, r2, r3]
    assert _views(env)["releases"] == sorted([r1, r2, r3])


# ---- item 13 --------------------------------------------------------------------------------------------
def test_a_corrupt_file_in_an_old_release_does_not_block_later_publishes(env):
    r1 = rel.current_release(env.published_dir)
    r2 = _republish(env)
    old = env.published_dir / "releases" / r1 / "indicators.parquet"
    old.unlink()                                      # (hard-linked with r2's: replace, never write in place)
    old.write_bytes(b"PAR1 not parquet at all")
    r3 = _republish(env)                              # used to fail: the history view read every old file
    v = _views(env)
    assert v["release"] == r3 and v["history"] == sorted([r2, r3]) and v["n"] > 0
    skipped = rel.release_metadata(env.published_dir, r3)["history_skipped"]
    assert [s["release_id"] for s in skipped] == [r1] and "indicators.parquet" in skipped[0]["reason"]


def test_a_moved_data_folder_still_answers(env, tmp_path):
    _republish(env)                                   # a database built here, in this folder
    n = _views(env)["n"]
    moved = tmp_path / "elsewhere" / "datos movidos"
    moved.parent.mkdir()
    os.rename(env.data_dir, moved)
    con = rel.connect(moved / "hemistat.duckdb")
    try:
        assert con.execute("select count(*) from published.indicators").fetchone()[0] == n
        assert con.execute("select count(*) from published.indicators_as_of(now())").fetchone()[0] == n
        assert con.execute("select count(*) from published.cells").fetchone()[0] > 0
    finally:
        con.close()


def test_a_copied_data_folder_reads_its_own_files(env, tmp_path):
    """A copy never reads the original's files: once the original's release is gone, the copy still answers;
    a copy made without the release files fails loudly instead of reading someone else's."""
    _republish(env)                                   # a database built here, in this folder
    n = _views(env)["n"]
    copy = Path(tmp_path / "copy2")
    shutil.copytree(env.data_dir, copy)
    shutil.rmtree(env.published_dir / "releases")
    con = rel.connect(copy / "hemistat.duckdb")
    try:
        assert con.execute("select count(*) from published.indicators").fetchone()[0] == n
    finally:
        con.close()
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy2(copy / "hemistat.duckdb", bare / "hemistat.duckdb")
    con = rel.connect(bare / "hemistat.duckdb")
    try:
        with pytest.raises(Exception, match="No files found"):
            con.execute("select count(*) from published.indicators").fetchone()
    finally:
        con.close()


def test_materialised_views_hold_what_their_definitions_compute(env):
    """Issue 12 (views under 200 ms): national_annual and the quality summaries are tables computed when the
    database is built; each must equal its view's definition over the release's files, for this release."""
    s = env
    con = rel.connect(s.duckdb_path)
    try:
        defs = {r[0]: r[1] for r in con.execute(
            "select view_name, sql from duckdb_views() where schema_name = 'published'").fetchall()}
        for name in rel.MATERIALISED:
            assert "materialised." + name in defs[name], defs[name]
        got = con.execute("select * from published.national_annual order by all").fetchall()
        want = con.execute("select * from published.indicators where subdivision_code is null and month is null "
                           "and age = '_T' and relationship = '_T' order by all").fetchall()
        assert got and got == want
        n_summary = con.execute("select count(*) from published.quality_summary").fetchone()[0]
        assert n_summary > 0
    finally:
        con.close()
    rid = _republish(s)      # a new release: the tables are rebuilt with it, never carried over
    con = rel.connect(s.duckdb_path)
    try:
        assert con.execute("select release_id from published.release").fetchone()[0] == rid
        assert con.execute("select count(*) from published.quality_summary").fetchone()[0] == n_summary
    finally:
        con.close()
