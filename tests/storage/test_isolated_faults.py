"""Issue 14, item 13: a fault touches only what it belongs to. One unparsable status.json sets aside that
submission only (named by `hemistat status`), and every other submission is listed, submitted and published;
one broken source spec fails that source only (validate and submit of the others go on).

Inputs: the synthetic SNIC files (pipelines/samples/synthetic.py)."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from pipelines import pipeline
from pipelines.cli import app
from pipelines.pipeline.status import overview
from pipelines.samples.synthetic import generate_sample
from pipelines.settings import REPO_ROOT, get_settings
from pipelines.specs.source import load_all_specs, load_spec
from pipelines.storage import release as rel
from pipelines.storage import submissions as subs


def _accept(s, path, source="ar_snic") -> str:
    sid = pipeline.submit(s, path, source)[0].submission_id
    pipeline.ingest(s, sid)
    pipeline.validate(s, sid)
    if pipeline.failing_warnings(s, sid):
        pipeline.acknowledge(s, sid, pipeline.failing_warnings(s, sid), by="test", reason="synthetic sample")
    return sid


def _published(s) -> set:
    con = rel.connect(s.duckdb_path)
    try:
        return {r[0] for r in con.execute("select distinct submission_id from published.indicators").fetchall()}
    finally:
        con.close()


@pytest.fixture
def snic(tmp_path):
    files = generate_sample(tmp_path / "sample")["ar_snic"]
    return (next(p for p in files if p.name.startswith("snic-pais")),
            next(p for p in files if p.name.startswith("snic-provincias")))


def test_an_unparsable_status_file_sets_aside_only_its_submission(data_env, snic):
    s = data_env
    pais, provincias = snic
    a = _accept(s, pais)
    pipeline.harmonise_all(s)
    pipeline.publish_all(s)
    assert _published(s) == {a}
    (subs.submission_dir(s.landing_dir, a) / "status.json").write_text('{"status": "published", "ev', "utf-8")

    # reading it names the file and why; listing the others goes on
    with pytest.raises(subs.StatusFileError, match=r"status\.json cannot be read \(not valid JSON"):
        subs.read_status(s.landing_dir, a)
    assert subs.list_submissions(s.landing_dir) == []
    assert [u["submission_id"] for u in subs.unreadable_submissions(s.landing_dir)] == [a]

    # another submission is stored, checked and published; the broken one keeps its published values
    b = _accept(s, provincias)
    assert [x["submission_id"] for x in subs.list_submissions(s.landing_dir)] == [b]
    pipeline.harmonise_all(s)
    out = pipeline.publish_all(s)
    assert out["statuses"] == {b: "published"}
    assert _published(s) == {a, b}
    assert subs.read_status(s.landing_dir, b)["status"] == "published"

    # hemistat status says what is wrong and who acts
    row = next(r for r in overview(s) if r["submission_id"] == a)
    assert row["waiting_for"] == "administrator" and "status.json" in row["action"]
    r = CliRunner().invoke(app, ["status"])
    assert r.exit_code == 0, r.output
    assert "waiting for the administrator (1)" in r.output and a in r.output

    # submitting the same bytes again names the broken file instead of a traceback
    r = CliRunner().invoke(app, ["submit", str(pais), "--source", "ar_snic"])
    assert r.exit_code == 2 and "status.json cannot be read" in r.output


@pytest.fixture
def broken_ref(tmp_path, monkeypatch):
    """A copy of reference/ in which cl_cead.yaml is not YAML at all."""
    ref = tmp_path / "reference"
    shutil.copytree(REPO_ROOT / "reference", ref)
    (ref / "sources" / "cl_cead.yaml").write_text("source_id: cl_cead\nlayouts: [\n  {reader: ", "utf-8")
    monkeypatch.setenv("HEMISTAT_REFERENCE_DIR", str(ref))
    return ref


def test_a_broken_spec_fails_only_its_own_source(data_env, broken_ref, snic):
    pais, _ = snic
    specs = load_all_specs(broken_ref, strict=False)
    assert "cl_cead" not in specs and "ar_snic" in specs and len(specs) > 5
    with pytest.raises(ValueError, match=r"cl_cead\.yaml: invalid source spec: not readable YAML"):
        load_spec("cl_cead", broken_ref)
    assert load_spec("ar_snic", broken_ref).source_id == "ar_snic"
    assert get_settings().reference_dir == broken_ref.resolve()

    r = CliRunner().invoke(app, ["validate", str(pais), "--source", "ar_snic"])
    assert r.exit_code in (0, 1) and "Traceback" not in r.output, r.output   # a verdict, not a crash
    assert "cl_cead" not in r.output
    r = CliRunner().invoke(app, ["submit", str(pais), "--source", "ar_snic"])
    assert r.exit_code == 0, r.output
    sid = r.output.split("stored: ")[1].split()[0]
    assert subs.read_status(data_env.landing_dir, sid)["status"] in ("published", "awaiting_review")

    r = CliRunner().invoke(app, ["submit", str(pais), "--source", "cl_cead"])
    assert r.exit_code == 2 and "cl_cead.yaml: invalid source spec" in r.output
