"""Users, tokens, sessions and the audit log on both databases: SQLite (default) and PostgreSQL (a
private server started by the test with initdb/pg_ctl). The audit log is append-only in the database
itself; passwords are argon2id hashes and tokens SHA-256 digests — nothing secret in clear."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from pipelines.service import auth
from pipelines.service.db import Database
from tests.service.conftest import PASSWORD, WebClient, good_file


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}" if request.param == "sqlite" \
        else request.getfixturevalue("pg_fresh_url")
    d = Database(url)
    Database(url).dispose()          # a second start on the same database is harmless (idempotent set-up)
    yield d
    d.dispose()


def _all_text(db: Database) -> str:
    out = []
    with db.engine.connect() as con:
        for table in ("users", "api_tokens", "sessions", "login_attempts", "audit_log"):
            for row in con.execute(text(f"select * from {table}")):
                out.append(" ".join(str(v) for v in row))
    return "\n".join(out)


def test_accounts_tokens_sessions(db):
    office = auth.create_user(db, "db.office", PASSWORD, "office", country_iso3="arg", lang="es")
    assert office.country_iso3 == "ARG" and office.lang == "es"
    with pytest.raises(auth.AuthError) as e:
        auth.create_user(db, "db.office", PASSWORD, "office", country_iso3="ARG")
    assert e.value.key == "err_user_exists"
    with pytest.raises(auth.AuthError):
        auth.create_user(db, "db.x", "short", "analyst")
    with pytest.raises(auth.AuthError):
        auth.create_user(db, "db.y", PASSWORD, "office")              # an office needs its country
    assert auth.authenticate(db, "db.office", PASSWORD, "10.0.0.1").username == "db.office"
    assert auth.authenticate(db, "db.office", "wrong password!!", "10.0.0.1") is None
    assert auth.authenticate(db, "nobody", PASSWORD, "10.0.0.1") is None

    sess = auth.start_session(db, office.id, hours=1)
    assert auth.session_user(db, sess).username == "db.office"
    auth.end_session(db, sess)
    assert auth.session_user(db, sess) is None

    tid, tok = auth.create_token(db, office.id, "script")
    assert tok.startswith("hst_") and auth.token_user(db, tok).username == "db.office"
    assert auth.revoke_token(db, tid, owner_id=office.id + 999) is False      # not the owner's
    assert auth.revoke_token(db, tid, owner_id=office.id) is True
    assert auth.token_user(db, tok) is None

    # a deactivated user loses sessions and tokens
    s2 = auth.start_session(db, office.id, hours=1)
    _, tok2 = auth.create_token(db, office.id, "two")
    auth.update_user(db, office.id, active=False)
    assert auth.session_user(db, s2) is None and auth.token_user(db, tok2) is None

    dump = _all_text(db)
    for secret in (PASSWORD, tok, tok2, sess, s2):
        assert secret not in dump
    assert auth.digest(tok) in dump                                   # only the digest is kept
    assert all(u.password_hash.startswith("$argon2id$") for u in auth.list_users(db))


def test_sign_in_rate_limit_counts(db):
    auth.create_user(db, "db.rl", PASSWORD, "analyst")
    for _ in range(5):
        assert auth.authenticate(db, "db.rl", "nope nope nope", "10.1.1.1") is None
    assert auth.login_blocked(db, "db.rl", "10.9.9.9", 5, 15)            # by user name
    assert not auth.login_blocked(db, "someone.else", "10.9.9.9", 5, 15)
    # password spraying: many names from one address (recorded as authenticate records them)
    from pipelines.service.db import LoginAttempt, utcnow

    with db.Session.begin() as s:
        s.add_all([LoginAttempt(username=f"spray{i}", ip="10.2.2.2", at=utcnow(), ok=False) for i in range(19)])
    assert not auth.login_blocked(db, "fresh.name", "10.2.2.2", 5, 15)
    assert auth.authenticate(db, "spray19", "nope nope nope", "10.2.2.2") is None
    assert auth.login_blocked(db, "fresh.name", "10.2.2.2", 5, 15)       # by address: 4 x 5 failures


def test_audit_log_is_append_only(db):
    db.audit("upload", actor="a", submission_id="ar_snic__20260101__00000000", sha256="ab" * 32)
    db.audit("verdict", actor="a", submission_id="ar_snic__20260101__00000000", verdict="review")
    ev = db.audit_events(10)
    assert [e.action for e in ev] == ["verdict", "upload"] and json.loads(ev[1].detail)["sha256"] == "ab" * 32
    for stmt in ("update audit_log set actor = 'mallory'", "delete from audit_log"):
        with pytest.raises(DBAPIError) as e:
            with db.engine.begin() as con:
                con.execute(text(stmt))
        assert "append-only" in str(e.value)
    if db.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError):
            with db.engine.begin() as con:
                con.execute(text("truncate audit_log"))
    assert len(db.audit_events(10)) == 2


def test_portal_runs_on_postgresql(app_factory, pg_fresh_url, tmp_path):
    """The whole portal on PostgreSQL: sign-in, upload, verdict, audit events in PostgreSQL."""
    srv = app_factory(db_url=pg_fresh_url)
    assert srv.db.engine.dialect.name == "postgresql"
    srv.user("pg.arg", "office", "ARG")
    web = WebClient(srv, lang="pt")
    assert "Envios" in web.login("pg.arg").text
    r = web.upload(good_file(tmp_path))
    assert r.status_code == 200 and "REQUER REVISÃO" in r.text
    actions = [e.action for e in srv.db.audit_events(20, actor="pg.arg")]
    assert {"sign_in", "upload", "verdict"} <= set(actions)
    assert not (srv.data_dir / "portal" / "portal.sqlite3").exists()
    assert PASSWORD not in _all_text(srv.db)
