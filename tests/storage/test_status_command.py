"""Issue 13, item 2: `hemistat status` says what awaits whom — a statistician's acknowledgement, a reviewer's
approval, the pipeline, a data office's new file — and `hemistat publish` says what it left out and why."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pipelines import pipeline
from pipelines.cli import app
from pipelines.pipeline.review import HOLD_DETAIL
from pipelines.pipeline.status import overview
from pipelines.samples.synthetic import generate_sample
from pipelines.storage import submissions as subs


def _land(settings, tmp_path):
    files = [p for ps in generate_sample(tmp_path / "sample").values() for p in ps][:5]
    sids = [pipeline.submit(settings, f, f.parent.name)[0].submission_id for f in files]
    subs.set_status(settings.landing_dir, sids[0], "awaiting_review", detail="warnings to acknowledge: P2, P3")
    subs.set_status(settings.landing_dir, sids[1], "awaiting_review", detail=HOLD_DETAIL)
    subs.set_status(settings.landing_dir, sids[2], "rejected", detail="C1: 3 row(s)")
    subs.set_status(settings.landing_dir, sids[3], "validated", detail="1,000 cells")
    return sids          # sids[4] stays 'received'


def test_status_groups_by_who_acts(data_env, tmp_path):
    sids = _land(data_env, tmp_path)
    by = {r["submission_id"]: r["waiting_for"] for r in overview(data_env)}
    assert [by[s] for s in sids] == ["statistician", "reviewer", "data office", "pipeline", "pipeline"]
    out = CliRunner().invoke(app, ["status"]).output
    assert out.index("waiting for the statistician (1)") < out.index("waiting for the reviewer (1)")
    assert f"{sids[0]}  [awaiting_review] warnings to acknowledge: P2, P3" in out
    assert "hemistat acknowledge SID RULE" in out and "approve or reject the upload in the portal" in out
    assert "waiting for the data office (1)" in out and "per source and country:" in out
    rows = [json.loads(x) for x in CliRunner().invoke(app, ["status", "--json"]).output.splitlines()]
    assert {r["submission_id"] for r in rows} == set(sids)
    one = CliRunner().invoke(app, ["status", "--source", sids[0].split("__")[0], "--json"]).output.splitlines()
    assert {json.loads(x)["source_id"] for x in one} == {sids[0].split("__")[0]}


def test_a_status_the_release_contradicts_waits_for_the_pipeline(data_env, tmp_path):
    """'published' but not in the current release (a crash between the two): status says so."""
    sids = _land(data_env, tmp_path)
    subs.set_status(data_env.landing_dir, sids[4], "published", detail="in release x")
    data_env.published_dir.mkdir(parents=True, exist_ok=True)
    (data_env.published_dir / "releases" / "r1").mkdir(parents=True)
    (data_env.published_dir / "releases" / "r1" / "release.json").write_text(json.dumps({"submissions": []}))
    (data_env.published_dir / "CURRENT").write_text("r1")
    row = next(r for r in overview(data_env) if r["submission_id"] == sids[4])
    assert row["waiting_for"] == "pipeline" and "not in the current release" in row["action"]
