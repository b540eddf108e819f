"""Issue 14 item 12: malformed requests get 400/422 with a message naming what is wrong, never a 500 with a
traceback — a decision body that is not a JSON object, a list among the acknowledged rules, a token id `1e23`
(or one too large for the database), `user_id=abc` — and nothing changes."""

from __future__ import annotations

import pytest

from tests.service.conftest import WebClient

SID = "ar_snic__20260101__00000000"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from tests.service.conftest import App

    a = App(tmp_path_factory.mktemp("malformed") / "data")
    a.user("m.rev", "reviewer")
    a.user("m.adm", "admin")
    a.user("m.off", "office", "ARG")
    yield a
    a.stop()


@pytest.fixture(scope="module")
def admin(app):
    w = WebClient(app)
    assert w.login("m.adm").status_code == 200
    yield w
    w.close()


def _no_trace(text: str):
    assert "Traceback" not in text and "OverflowError" not in text and "sqlalchemy" not in text.lower()


@pytest.mark.parametrize("body", [["approve", "ok"], "approve", 42, None, [{"decision": "approve"}]])
def test_decision_body_not_an_object_is_422(app, body):
    code, out = app.api(app.token("m.rev"), "POST", f"/api/submissions/{SID}/decision", json=body)
    assert code == 422, out
    assert out["error"] == "invalid_body" and "expected shape" in out["message"], out
    _no_trace(str(out))


@pytest.mark.parametrize("rules", [[["I1"]], ["I1", ["I2"]], [{"rule": "I1"}], ["I1", None]])
def test_a_list_among_acknowledged_rules_is_422(app, rules):
    code, out = app.api(app.token("m.rev"), "POST", f"/api/submissions/{SID}/acknowledge",
                        json={"rules": rules, "reason": "checked"})
    assert code == 422, out
    assert any("rules" in d["loc"] for d in out["detail"]), out
    assert "rules" in out["message"], out


@pytest.mark.parametrize("token_id", ["1e23", "100000000000000000000000", "2147483648", "-1", "abc", "1.5"])
def test_token_id_not_a_row_id_is_422(app, admin, token_id):
    r = admin.post_form(f"/account/tokens/{token_id}/revoke", "/account")
    assert r.status_code == 422, r.text[:500]
    assert "token_id" in r.text and "does not have the expected shape" in r.text
    _no_trace(r.text)
    assert not app.db.audit_events(10, action="token_revoke")


def test_token_id_in_range_but_unknown_is_404(app, admin):
    r = admin.post_form("/account/tokens/2147483647/revoke", "/account")
    assert r.status_code == 404, r.text[:300]


@pytest.mark.parametrize("user_id", ["abc", "1e23", "100000000000000000000000", "-5", "2147483648"])
def test_user_id_not_a_row_id_is_422(app, admin, user_id):
    from pipelines.service.auth import get_user

    r = admin.post_form("/admin/users", "/admin/users", action="deactivate", user_id=user_id)
    assert r.status_code == 422, r.text[:500]
    assert "user_id" in r.text
    _no_trace(r.text)
    assert get_user(app.db, "m.off").active


def test_unknown_user_id_is_400(app, admin):
    r = admin.post_form("/admin/users", "/admin/users", action="deactivate", user_id="2147483647")
    assert r.status_code == 400, r.text[:300]
    _no_trace(r.text)
