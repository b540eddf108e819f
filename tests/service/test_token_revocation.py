"""Issue 14 item 6: deactivating a user revokes its API tokens (each revocation in the audit log), and
re-activating the user revives none of them — on SQLite and PostgreSQL, through `auth`, through the admin
page, and for users deactivated before the fix (migration 0002)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from pipelines.service import auth, migrate
from pipelines.service.db import ApiToken, Database
from tests.service.conftest import PASSWORD, WebClient


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    return f"sqlite:///{tmp_path / 'portal.sqlite3'}" if request.param == "sqlite" \
        else request.getfixturevalue("pg_fresh_url")


def _revocations(db: Database) -> list[dict]:
    return [json.loads(e.detail) | {"actor": e.actor} for e in db.audit_events(100, action="token_revoke")]


def test_reactivating_a_user_does_not_revive_its_tokens(url):
    db = Database(url)
    try:
        u = auth.create_user(db, "rv.office", PASSWORD, "office", country_iso3="ARG")
        t1, tok1 = auth.create_token(db, u.id, "nightly")
        t2, tok2 = auth.create_token(db, u.id, "laptop")
        auth.revoke_token(db, t2, owner_id=u.id)                 # already revoked: not revoked twice
        assert auth.token_user(db, tok1).username == "rv.office"

        auth.update_user(db, u.id, active=False, actor="rv.admin", actor_role="admin", ip="10.0.0.9")
        assert auth.token_user(db, tok1) is None
        revoked = {t.id: t.revoked_at for t in auth.list_tokens(db, u.id)}
        assert revoked[t1] is not None and revoked[t2] is not None          # marked revoked in the database
        assert _revocations(db) == [{"user": "rv.office", "token_id": t1, "token_prefix": tok1[:10],
                                     "reason": "user deactivated", "actor": "rv.admin"}]

        auth.update_user(db, u.id, active=True)
        assert auth.token_user(db, tok1) is None and auth.token_user(db, tok2) is None
        assert auth.authenticate(db, "rv.office", PASSWORD, "10.0.0.1") is not None    # the user is back
        _, tok3 = auth.create_token(db, u.id, "new")                                  # and makes new tokens
        assert auth.token_user(db, tok3).username == "rv.office"
        auth.update_user(db, u.id, active=True)                 # activating an active user revokes nothing
        assert auth.token_user(db, tok3) is not None and len(_revocations(db)) == 1
    finally:
        db.dispose()


def test_tokens_of_users_deactivated_before_the_fix_are_revoked_by_the_migration(url):
    """A database where a user was deactivated by the old code (tokens live but hidden) is upgraded: migration
    0002 revokes those tokens and records each in the audit log; active users' tokens are untouched."""
    old = Database(url, upgrade=False)
    migrate.upgrade(old.engine, "0001_baseline")
    gone = auth.create_user(old, "rv.gone", PASSWORD, "analyst")
    kept = auth.create_user(old, "rv.kept", PASSWORD, "analyst")
    gid, gtok = auth.create_token(old, gone.id, "script")
    _, ktok = auth.create_token(old, kept.id, "script")
    with old.engine.begin() as con:         # what the old update_user(active=False) did: nothing to the tokens
        con.execute(text("update users set active = :f where id = :id"), {"f": False, "id": gone.id})
    old.dispose()

    db = Database(url)
    try:
        with db.engine.connect() as con:
            assert migrate.current(con) == migrate.head()
        with db.Session() as s:
            assert s.get(ApiToken, gid).revoked_at is not None
        assert _revocations(db) == [{"user": "rv.gone", "token_id": gid, "token_prefix": gtok[:10],
                                     "reason": "user deactivated (revoked by migration 0002)",
                                     "actor": "migration"}]
        auth.update_user(db, gone.id, active=True)
        assert auth.token_user(db, gtok) is None
        assert auth.token_user(db, ktok).username == "rv.kept"
    finally:
        db.dispose()


def test_admin_page_deactivate_then_activate_leaves_the_token_dead(portal):
    portal.user("rv.root", "admin")
    portal.user("rv.web", "office", "PER")
    token = portal.token("rv.web")
    bearer = {"authorization": f"Bearer {token}"}
    assert portal.get("/api/submissions", headers=bearer).status_code == 200
    admin = WebClient(portal)
    admin.login("rv.root")
    uid = str(auth.get_user(portal.db, "rv.web").id)
    admin.post_form("/admin/users", "/admin/users", action="deactivate", user_id=uid)
    admin.post_form("/admin/users", "/admin/users", action="activate", user_id=uid)
    assert portal.get("/api/submissions", headers=bearer).status_code == 401
    ev = [e for e in portal.db.audit_events(50, action="token_revoke") if json.loads(e.detail)["user"] == "rv.web"]
    assert len(ev) == 1 and ev[0].actor == "rv.root" and ev[0].role == "admin"
