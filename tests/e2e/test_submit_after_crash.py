"""Issue 14, item 2: re-running `hemistat submit` after a crash publishes what the crash left out; a status
never claims a publication that did not happen.

The synthetic SNIC national file (pipelines/samples/synthetic.py) through the command line, in process.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pipelines import pipeline
from pipelines.cli import app
from pipelines.pipeline.status import in_current_release, missing_from_release
from pipelines.samples.synthetic import generate_sample
from pipelines.storage import release as rel
from pipelines.storage import submissions as subs


@pytest.fixture
def accepted(data_env, tmp_path):
    """The synthetic SNIC national file stored and accepted (status validated), not published."""
    pais = next(p for p in generate_sample(tmp_path / "sample")["ar_snic"] if p.name.startswith("snic-pais"))
    sid = pipeline.submit(data_env, pais, "ar_snic")[0].submission_id
    pipeline.ingest(data_env, sid)
    pipeline.validate(data_env, sid)
    if pipeline.failing_warnings(data_env, sid):
        pipeline.acknowledge(data_env, sid, pipeline.failing_warnings(data_env, sid), by="test", reason="synthetic")
    assert subs.read_status(data_env.landing_dir, sid)["status"] == "validated"
    return data_env, pais, sid


def _published_sids(s) -> set:
    con = rel.connect(s.duckdb_path)
    try:
        return {r[0] for r in con.execute("select distinct submission_id from published.indicators").fetchall()}
    finally:
        con.close()


def test_resubmit_after_a_crashed_publish_publishes(accepted, monkeypatch):
    s, pais, sid = accepted

    def killed(*a, **k):
        raise OSError("No space left on device")

    with monkeypatch.context() as m:      # the first publication dies while the database is built
        m.setattr(rel, "build_database", killed)
        r = CliRunner().invoke(app, ["submit", str(pais), "--source", "ar_snic"])
    assert r.exit_code != 0
    assert subs.read_status(s.landing_dir, sid)["status"] == "validated"
    assert missing_from_release(s) == [sid]

    r = CliRunner().invoke(app, ["submit", str(pais), "--source", "ar_snic"])
    assert r.exit_code == 0, r.output
    assert "already received" in r.output and "publishing it" in r.output
    assert f"ACCEPTED: {pais.name} -> status published" in r.output
    assert sid in _published_sids(s) and in_current_release(s, sid)
    assert missing_from_release(s) == []


def test_a_status_published_without_its_release_is_published_again(accepted):
    """Marked published, but no release holds it (the publication was lost): the 'already received' path
    publishes it instead of repeating the claim."""
    s, pais, sid = accepted
    subs.set_status(s.landing_dir, sid, "published", detail="in release 20990101T000000-deadbe")
    assert not s.duckdb_path.exists()
    r = CliRunner().invoke(app, ["submit", str(pais), "--source", "ar_snic"])
    assert r.exit_code == 0, r.output
    assert "is published but not in the current release: publishing it" in r.output
    assert sid in _published_sids(s) and in_current_release(s, sid)


def test_no_publish_says_it_is_not_in_a_release(accepted):
    s, pais, sid = accepted
    r = CliRunner().invoke(app, ["submit", str(pais), "--source", "ar_snic", "--no-publish"])
    assert r.exit_code == 0, r.output
    assert "status validated, not in a release yet" in r.output
    assert not s.duckdb_path.exists()
