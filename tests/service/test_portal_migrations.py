"""Schema migrations with Alembic (pipelines/service/migrations/): the portal runs `upgrade head` when it
starts, on SQLite and PostgreSQL. A new database upgraded to head has exactly the tables, columns and
indexes of the SQLAlchemy models (and Alembic's own comparison finds nothing to do); a database made by the
code before migrations (`metadata.create_all` + the triggers) is stamped with the baseline and upgraded
with every row kept and the audit log still append-only."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from pipelines.service import auth, migrate
from pipelines.service.db import Base, Database
from tests.service.conftest import PASSWORD

# what db.init_db did before migrations (copied here: this is the old code path)
OLD_SQLITE_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
OLD_PG_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION hemistat_audit_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION hemistat_audit_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION hemistat_audit_append_only()",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    return f"sqlite:///{tmp_path / 'portal.sqlite3'}" if request.param == "sqlite" \
        else request.getfixturevalue("pg_fresh_url")


def _schema(engine, tables) -> dict:
    """table -> {columns: {name: (type, nullable)}, indexes: {name: (columns, unique)}, pk, fks}"""
    insp = inspect(engine)
    out = {}
    for t in sorted(tables):
        out[t] = {
            "columns": {c["name"]: (str(c["type"]), c["nullable"], c.get("default")) for c in insp.get_columns(t)},
            "indexes": {i["name"]: (tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(t)},
            "pk": tuple(insp.get_pk_constraint(t)["constrained_columns"]),
            "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                          for f in insp.get_foreign_keys(t)),
        }
    return out


def _append_only(engine) -> None:
    with engine.begin() as con:
        con.execute(text("insert into audit_log (at, action, detail) values (CURRENT_TIMESTAMP, 'test', '{}')"))
    for stmt in ("update audit_log set actor = 'mallory'", "delete from audit_log"):
        with pytest.raises(DBAPIError) as e:
            with engine.begin() as con:
                con.execute(text(stmt))
        assert "append-only" in str(e.value)


def test_a_new_database_upgraded_to_head_is_the_models_schema(url, tmp_path):
    db = Database(url)                                             # the portal's start: upgrade head
    try:
        names = set(inspect(db.engine).get_table_names())
        assert names == set(Base.metadata.tables) | {"alembic_version"}
        with db.engine.connect() as con:
            assert migrate.current(con) == migrate.head()
            # Alembic's own comparison of the database with the models finds nothing to change
            assert compare_metadata(MigrationContext.configure(con), Base.metadata) == []
        # the same tables, columns, types, nullability, indexes and keys as metadata.create_all makes
        ref_url = f"sqlite:///{tmp_path / 'create_all.sqlite3'}"
        ref = create_engine(ref_url) if url.startswith("sqlite") else None
        if ref is None:                                            # on PostgreSQL: a second database
            import uuid

            import psycopg

            name = "ref_" + uuid.uuid4().hex[:10]
            port = int(url.rsplit(":", 1)[1].split("/")[0])
            with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as c:
                c.execute(f"CREATE DATABASE {name}")
            ref = create_engine(url.rsplit("/", 1)[0] + "/" + name)
        Base.metadata.create_all(ref)
        assert _schema(db.engine, Base.metadata.tables) == _schema(ref, Base.metadata.tables)
        ref.dispose()
        _append_only(db.engine)
        again = migrate.upgrade(db.engine)                        # a second start has nothing to do
        assert again == {"before": migrate.head(), "after": migrate.head(), "stamped": False}
    finally:
        db.dispose()


def test_a_database_from_before_migrations_is_stamped_and_keeps_its_rows(url):
    # the old code path: create_all + triggers, then a portal's life: users, tokens, sessions, audit events
    engine = create_engine(url)
    # the old code made the portal's tables only (tables added since come from their migrations)
    Base.metadata.create_all(engine, tables=[Base.metadata.tables[t] for t in sorted(migrate.PORTAL_TABLES)])
    with engine.begin() as con:
        for stmt in OLD_PG_TRIGGERS if engine.dialect.name == "postgresql" else OLD_SQLITE_TRIGGERS:
            con.execute(text(stmt))
    engine.dispose()
    old = Database(url, upgrade=False)        # the old tables, used without running any migration
    office = auth.create_user(old, "mig.office", PASSWORD, "office", country_iso3="ARG", lang="es")
    _, token = auth.create_token(old, office.id, "script")
    session = auth.start_session(old, office.id, hours=1)
    auth.authenticate(old, "mig.office", "wrong password!!", "10.0.0.1")
    old.audit("upload", actor="mig.office", submission_id="ar_snic__20260101__00000000", sha256="ab" * 32)
    with old.engine.connect() as con:
        assert "alembic_version" not in inspect(con).get_table_names()
        before = {t: con.execute(text(f"select count(*) from {t}")).scalar() for t in migrate.PORTAL_TABLES}
    old.dispose()

    db = Database(url)                                             # the new code starts on it
    try:
        with db.engine.connect() as con:
            assert migrate.current(con) == migrate.head()
            assert {t: con.execute(text(f"select count(*) from {t}")).scalar() for t in migrate.PORTAL_TABLES} == before
            assert compare_metadata(MigrationContext.configure(con), Base.metadata) == []
        assert auth.token_user(db, token).username == "mig.office"
        assert auth.session_user(db, session).username == "mig.office"
        assert auth.authenticate(db, "mig.office", PASSWORD, "10.0.0.1").lang == "es"
        assert [e.action for e in db.audit_events(10)] == ["upload"]
        _append_only(db.engine)
    finally:
        db.dispose()


def test_the_baseline_goes_down_and_up_again(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'p.sqlite3'}"
    Database(url).dispose()
    cfg = migrate.alembic_config(url)
    command.downgrade(cfg, "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
    engine.dispose()
