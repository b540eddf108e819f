"""Every hostile or broken file (tests/reliability/hostile.py) uploaded through the portal's API (FastAPI
TestClient, a reviewer's token): a refusal (4xx with a message naming the file) or a verdict (the file's rows
and rules), never a 500 or a traceback, and the published warehouse byte-identical before and after."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SHARED
from tests.reliability.conftest import build_warehouse, fast_tmp, published_fingerprint
from tests.reliability.hostile import hostile_files

CASES = hostile_files(SHARED)
RESULTS: dict[str, dict] = {}
REFUSALS = (400, 403, 404, 409, 413, 415, 422)


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    from tests.service.conftest import App

    with fast_tmp(tmp_path_factory, "hostile_portal") as tmp:
        build_warehouse(tmp / "data", tmp / "sample")
        app = App(tmp / "data")
        app.user("rel.rev", "reviewer")
        app.tok = app.token("rel.rev")
        yield app, tmp / "data"
        app.stop()
    (tmp_path_factory.getbasetemp() / "hostile_portal_figures.json").write_text(json.dumps(RESULTS, indent=1))


@pytest.mark.parametrize("h", CASES, ids=[h.case for h in CASES])
def test_hostile_file_through_the_portal(portal, h):
    app, data = portal
    before = published_fingerprint(data)
    with app.client() as c:
        r = c.post("/api/submissions", headers={"authorization": f"Bearer {app.tok}"},
                   data={"source": h.source}, files={"file": (h.name, h.data)})
    after = published_fingerprint(data)
    text = r.text
    res = RESULTS[h.case] = {"expect": h.expect, "status": r.status_code, "traceback": "Traceback" in text,
                             "published_changed": before != after}
    assert r.status_code < 500 and "Traceback" not in text, text[:2000]
    body = r.json()
    if r.status_code in REFUSALS:
        res["refusal"] = body.get("error")
        assert body.get("error") and body.get("message"), body
        assert body.get("file"), body                      # the answer names the file it refuses
    else:
        assert r.status_code in (200, 201), text[:2000]
        res["verdict"] = body.get("verdict")
        assert body["verdict"] in ("accepted", "review", "rejected"), body
        assert body.get("error") is None, body["error"]     # processed, not left 'received' by an exception
        assert body.get("original_name"), body
        if body["verdict"] == "rejected":
            assert body["failures"] and all(f["file_name"] and f["rule_id"] for f in body["failures"]), body
        if h.expect == "refuse":
            assert body["verdict"] == "rejected", body
    assert after == before, "the published warehouse changed"
    res["clear"] = True


def test_figures(portal):
    done = RESULTS.values()
    figures = {"files_tried": len(done),
               "refused_4xx": sum(1 for r in done if r.get("clear") and r["status"] in REFUSALS),
               "verdict_rejected": sum(1 for r in done if r.get("clear") and r.get("verdict") == "rejected"),
               "verdict_held_or_accepted": sum(1 for r in done if r.get("clear") and r.get("verdict") in
                                               ("review", "accepted")),
               "tracebacks_or_500": sum(1 for r in done if r["traceback"] or r["status"] >= 500),
               "published_changed": sum(1 for r in done if r["published_changed"])}
    print("\nreliability, portal:", json.dumps(figures))
    if len(done) < len(CASES):
        pytest.skip("run with the whole module for the figures")
    assert figures["files_tried"] >= 80 and figures["tracebacks_or_500"] == 0 and figures["published_changed"] == 0
