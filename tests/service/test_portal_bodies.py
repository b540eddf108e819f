"""Request bodies are pydantic models (pipelines/service/schemas.py): a JSON array where an object is
expected, a number where text belongs, a missing required field or JSON that does not parse is answered 422
with a clear JSON error — never 500 — and nothing happens; the portal's own checks (a comment, a reason,
a known decision) still answer their translated 400. The routes are APIRouters with dependencies for the
user, the role and the CSRF token; the app runs in this process (TestClient)."""

from __future__ import annotations

import json

import pytest
from fastapi.routing import APIRoute

from tests.service.conftest import PASSWORD, WebClient, good_file


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from tests.service.conftest import App

    a = App(tmp_path_factory.mktemp("bodies") / "data")
    a.user("b.arg", "office", "ARG")
    a.user("b.rev", "reviewer")
    a.user("b.adm", "admin")
    code, v = a.upload(a.token("b.arg"), good_file(tmp_path_factory.mktemp("f")))
    assert code == 201 and v["status"] == "awaiting_review", v
    a.sid = v["submission_id"]
    a.warns = sorted({f["rule_id"] for f in v["failures"] if f["severity"] == "warn"})
    yield a
    a.stop()


def _invalid(code: int, body: dict, field: str | None = None):
    assert code == 422, body
    assert body["error"] == "invalid_body" and body["message"].startswith("The request body"), body
    assert body["detail"] and all({"loc", "msg", "type"} <= set(d) for d in body["detail"]), body
    if field:
        assert any(field in d["loc"] for d in body["detail"]), body


CASES = [
    # (endpoint, body sent as JSON, the field that is wrong)
    ("decision", ["approve", "ok"], None),                                # an array, not an object
    ("decision", "approve", None),                                         # a string
    ("decision", {"comment": "no decision"}, "decision"),                  # missing field
    ("decision", {"decision": 1, "comment": "ok"}, "decision"),            # wrong type
    ("decision", {"decision": "approve", "comment": ["ok"]}, "comment"),
    ("acknowledge", [{"rules": ["I1"], "reason": "x"}], None),
    ("acknowledge", {"reason": "no rules"}, "rules"),
    ("acknowledge", {"rules": "I1", "reason": "a string, not a list"}, "rules"),
    ("acknowledge", {"rules": ["I1", 5], "reason": "x"}, "rules"),
    ("acknowledge", {"rules": ["I1"], "reason": {"why": "x"}}, "reason"),
    ("withdraw", ["a reason in an array"], None),
    ("withdraw", {"reason": 42}, "reason"),
]


@pytest.mark.parametrize("action,body,field", CASES)
def test_wrong_shapes_are_422_not_500(app, action, body, field):
    rev = app.token("b.rev")
    code, r = app.api(rev, "POST", f"/api/submissions/{app.sid}/{action}", json=body)
    _invalid(code, r, field)
    code, r = app.api(rev, "GET", f"/api/submissions/{app.sid}")
    assert r["status"] == "awaiting_review"                                # nothing happened
    assert not app.db.audit_events(5, action="withdraw", submission_id=app.sid)


def test_json_that_does_not_parse_is_422(app):
    rev = app.token("b.rev")
    for action in ("decision", "acknowledge", "withdraw"):
        code, r = app.api(rev, "POST", f"/api/submissions/{app.sid}/{action}", content=b'{"decision": "appr',
                          headers={"content-type": "application/json"})
        _invalid(code, r)
        assert r["detail"][0]["type"] == "json_invalid"


def test_right_shapes_keep_the_portals_own_answers(app):
    """What the models leave to the portal is answered as before: translated 400s and 409s."""
    rev, sid = app.token("b.rev"), app.sid
    code, r = app.api(rev, "POST", f"/api/submissions/{sid}/decision", json={"decision": "maybe", "comment": "x"})
    assert code == 400 and r["error"] == "err_bad_decision"
    code, r = app.api(rev, "POST", f"/api/submissions/{sid}/decision", json={"decision": "approve"}, lang="es")
    assert code == 400 and r["error"] == "err_comment_required" and r["message"] == "Una decisión necesita un comentario."
    code, r = app.api(rev, "POST", f"/api/submissions/{sid}/acknowledge", json={"rules": []})
    assert code == 400 and r["error"] == "err_no_rules"
    code, r = app.api(rev, "POST", f"/api/submissions/{sid}/acknowledge", json={"rules": app.warns})
    assert code == 400 and r["error"] == "err_reason_required"
    code, r = app.api(rev, "POST", f"/api/submissions/{sid}/withdraw")                     # no body at all
    assert code == 400 and r["error"] == "err_withdraw_reason"
    code, r = app.api(rev, "POST", f"/api/submissions/{sid}/decision", json={"decision": "approve", "comment": "ok"})
    assert code == 409 and r["error"] == "err_pending_warnings"
    # unknown fields are ignored; a JSON body without a content-type header is still JSON
    code, r = app.api(rev, "POST", f"/api/submissions/{sid}/acknowledge",
                      content=json.dumps({"rules": app.warns, "reason": "known SNIC warnings", "extra": 1}).encode())
    assert code == 200 and r["status"] == "awaiting_review", r


def test_who_before_what(app):
    """The token and the role are checked before the body: an office gets 403, no token 401."""
    code, r = app.api(app.token("b.arg"), "POST", f"/api/submissions/{app.sid}/decision", json=["x"])
    assert code == 403 and r["error"] == "err_forbidden"
    code, r = app.api("hst_" + "x" * 43, "POST", f"/api/submissions/{app.sid}/withdraw", json={"reason": 1})
    assert code == 401 and r["error"] == "err_token"


def test_forms_of_the_wrong_shape_are_422_pages(app):
    """The user-administration form is a model too: a user id that is not a number is 422, not 500."""
    admin = WebClient(app)
    assert admin.login("b.adm").status_code == 200
    r = admin.post_form("/admin/users", "/admin/users", action="deactivate", user_id="not-a-number")
    assert r.status_code == 422 and "user_id" in r.text and "<html" in r.text
    r = admin.post_form("/admin/users", "/admin/users", action="create", username="b.new", password=PASSWORD,
                        role="analyst")
    assert r.status_code == 200 and 'data-user="b.new"' in r.text
    admin.close()


def test_routes_are_routers_with_dependencies(app):
    """Every route comes from a router of pipelines/service/routers; the role and session checks are
    dependencies, not calls inside the handlers."""
    from pipelines.service.routers import ROUTERS

    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) >= 35 and not [r for r in app.app.routes if isinstance(r, APIRoute)]   # nothing but routers
    assert {r.endpoint.__module__.rsplit(".", 1)[-1] for r in routes} == {
        "account", "uploads", "submissions", "downloads", "admin", "health", "practices", "catalogue", "network",
        "site"}
    deps = {r.path + " " + ",".join(sorted(r.methods)):
            {d.call.__name__ for d in r.dependant.dependencies} for r in routes}
    assert "role_reviewer" in deps["/submissions/{sid}/decision POST"]
    assert "csrf_form" in deps["/submissions/{sid}/decision POST"]
    assert "api_role_reviewer" in deps["/api/submissions/{sid}/decision POST"]
    assert "role_admin" in deps["/admin/users POST"]
    assert "login_form" in deps["/login POST"]
