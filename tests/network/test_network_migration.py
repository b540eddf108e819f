"""Upgrading a portal database made by the previous release (Alembic head ``0002_revoke_inactive_tokens``) to
``0005_network`` keeps every user, API token, session and audit event — on a copy of the database (a copied
SQLite file; on PostgreSQL a ``CREATE DATABASE … TEMPLATE`` copy), the original left as it was. The existing
portal roles keep working, and a data-office user can also hold Network roles."""

from __future__ import annotations

import shutil
import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from pipelines.network import rules
from pipelines.service import auth, migrate
from pipelines.service import network_store as store
from pipelines.service.db import Database
from tests.service.conftest import PASSWORD

PREVIOUS = "0002_revoke_inactive_tokens"
PORTAL = ("users", "api_tokens", "sessions", "login_attempts", "audit_log")


def _previous_release(url: str) -> dict:
    """A portal database as the previous release left it, with a life: users of every role, tokens (one
    revoked), a session, sign-in attempts, audit events."""
    command.upgrade(migrate.alembic_config(url), PREVIOUS)
    old = Database(url, upgrade=False)
    made = {}
    for name, role, country in (("of.jam", "office", "JAM"), ("rev.one", "reviewer", None),
                                ("ana.lyst", "analyst", None), ("ad.min", "admin", None)):
        made[name] = auth.create_user(old, name, PASSWORD, role, country_iso3=country, lang="en")
    tid, token = auth.create_token(old, made["of.jam"].id, "script")
    tid2, token2 = auth.create_token(old, made["rev.one"].id, "old")
    auth.revoke_token(old, tid2)
    session = auth.start_session(old, made["ana.lyst"].id, hours=2)
    auth.authenticate(old, "of.jam", "wrong password!!", "10.0.0.9")
    for i in range(5):
        old.audit("upload", actor="of.jam", submission_id=f"jm_sample__2026010{i}__0000000{i}", sha256="ab" * 32)
    with old.engine.connect() as con:
        assert migrate.current(con) == PREVIOUS
        assert not {t for t in inspect(con).get_table_names() if t.startswith("network_")}
    old.dispose()
    return {"token": token, "revoked": token2, "session": session}


def _rows(url: str) -> dict:
    eng = create_engine(url)
    with eng.connect() as con:
        out = {t: [tuple(r) for r in con.execute(text(f"select * from {t} order by 1"))] for t in PORTAL}
    eng.dispose()
    return out


@pytest.fixture(params=["sqlite", "postgresql"])
def original_and_copy(request, tmp_path):
    if request.param == "sqlite":
        orig = tmp_path / "portal.sqlite3"
        url = f"sqlite:///{orig}"
        made = _previous_release(url)
        copy = tmp_path / "portal-copy.sqlite3"
        shutil.copy2(orig, copy)
        return url, f"sqlite:///{copy}", made
    import psycopg

    url = request.getfixturevalue("pg_fresh_url")
    made = _previous_release(url)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    name = "copy_" + uuid.uuid4().hex[:10]
    with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name} TEMPLATE {url.rsplit('/', 1)[1]}")
    return url, url.rsplit("/", 1)[0] + "/" + name, made


def test_the_upgrade_keeps_users_tokens_sessions_and_the_audit_log(original_and_copy):
    url, copy_url, made = original_and_copy
    before = _rows(copy_url)
    assert len(before["users"]) == 4 and len(before["api_tokens"]) == 2 and len(before["audit_log"]) == 5
    db = Database(copy_url)                                   # the new release starts on the copy: upgrade head
    try:
        with db.engine.connect() as con:
            assert migrate.current(con) == migrate.head()
            tables = set(inspect(con).get_table_names())
            forum = con.execute(text("select slug, kind, verification, window_start, window_end, source "
                                     "from network_events")).all()
        assert {"network_members", "network_roles", "network_spaces", "network_posts", "network_events",
                "network_proposals"} <= tables
        assert _rows(copy_url) == before                      # every row of the portal's tables, unchanged
        # the seeded first virtual forum, with its source
        assert len(forum) == 1 and forum[0][:3] == ("first-virtual-forum-2016", "virtual", "unverified")
        assert str(forum[0][3])[:10] == "2016-01-01" and str(forum[0][4])[:10] == "2016-06-30"
        assert "MISPA-V" in forum[0][5] and "AG/RES. 2866" in forum[0][5]
        # credentials and roles work as before
        assert auth.token_user(db, made["token"]).username == "of.jam"
        assert auth.token_user(db, made["revoked"]) is None
        assert auth.session_user(db, made["session"]).username == "ana.lyst"
        for name, role in (("of.jam", "office"), ("rev.one", "reviewer"), ("ana.lyst", "analyst"), ("ad.min", "admin")):
            p = auth.authenticate(db, name, PASSWORD, "10.0.0.1")
            assert p is not None and p.role == role
        # the audit log is still append-only
        with pytest.raises(DBAPIError) as e:
            with db.engine.begin() as con:
                con.execute(text("delete from audit_log"))
        assert "append-only" in str(e.value)
        # the Jamaican data office becomes its country's focal point: both roles at once, users.role unchanged
        office = auth.get_user(db, "of.jam")
        store.grant(db, office.id, "focal_point", actor=None, country_iso3="JAM")
        app = rules.check_application({"display_name": "Jamaica office", "organisation": "Sample statistics office",
                                       "sector": "member_state", "country_iso3": "JAM", "iccs": ["0201"],
                                       "languages": ["en"]}, member_states=auth.member_states(), iccs_codes={"0201"},
                                      vocab={"sectors": ["member_state"], "prevention_types": ["social"],
                                             "pillars": ["prevention"]})
        m = store.apply(db, office.id, app, actor=rules.Viewer(office.id, "of.jam", "office"))
        store.decide(db, m.id, "approve", "", actor=rules.Viewer(0, "ad.min", "admin"))
        p = auth.authenticate(db, "of.jam", PASSWORD, "10.0.0.1")
        v = store.viewer(db, p)
        assert p.role == "office" and v.roles == {"member", "focal_point"} and v.focal_countries == {"JAM"}
        assert rules.can_answer_demand_survey(v, "JAM") and not rules.can_answer_demand_survey(v, "CHL")
    finally:
        db.dispose()
    # the original is untouched: still the previous release's schema and rows
    eng = create_engine(url)
    with eng.connect() as con:
        assert migrate.current(con) == PREVIOUS
        assert not [t for t in inspect(con).get_table_names() if t.startswith("network_")]
    eng.dispose()
    assert _rows(url) == before


def test_the_network_migration_goes_down_and_up(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.sqlite3'}"
    made = _previous_release(url)
    Database(url).dispose()
    cfg = migrate.alembic_config(url)
    command.downgrade(cfg, PREVIOUS)
    eng = create_engine(url)
    assert not [t for t in inspect(eng).get_table_names() if t.startswith("network_")]
    eng.dispose()
    command.upgrade(cfg, "head")
    db = Database(url)
    try:
        assert auth.token_user(db, made["token"]).username == "of.jam"
        assert len(db.audit_events(50, action="upload")) == 5
    finally:
        db.dispose()
