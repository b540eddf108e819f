"""Schema migrations of the portal database with Alembic (``pipelines/service/migrations/``).

``upgrade(engine)`` is what the portal runs when it starts (``Database(url)``), on SQLite and PostgreSQL:

* a new, empty database is brought to ``head`` (the baseline revision creates today's schema and the
  append-only triggers of the audit log);
* a database made by the code before migrations (``metadata.create_all``: the portal's tables, no
  ``alembic_version``) is stamped with the baseline — it has exactly that schema — and then upgraded, so
  nothing in it is touched;
* a database already under Alembic is upgraded to ``head`` (nothing to do when it is there).

Two processes starting on the same database at once are serialised: a PostgreSQL advisory lock (in the
migration's transaction), a file lock beside a SQLite file.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001_baseline"
PORTAL_TABLES = {"users", "api_tokens", "sessions", "login_attempts", "audit_log"}
PG_LOCK_KEY = 724100


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(con: Connection) -> str | None:
    return MigrationContext.configure(con).get_current_revision()


@contextmanager
def _sqlite_file_lock(engine: Engine):
    db = engine.url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        yield
        return
    with open(f"{db}.migrate-lock", "a", opener=lambda p, flags: os.open(p, flags, 0o600)) as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "head") -> dict:
    """Bring the database to ``revision`` (stamping a pre-migration database with the baseline first).
    Returns {"before": revision or None, "after": revision, "stamped": bool}."""
    lock = _sqlite_file_lock(engine) if engine.dialect.name == "sqlite" else _nolock()
    with lock, engine.begin() as con:
        if con.dialect.name == "postgresql":
            con.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
        before = current(con)
        stamped = False
        cfg = alembic_config()
        cfg.attributes["connection"] = con
        if before is None and PORTAL_TABLES & set(inspect(con).get_table_names()):
            command.stamp(cfg, BASELINE)            # made by metadata.create_all before migrations existed
            stamped = True
        command.upgrade(cfg, revision)
        return {"before": before, "after": current(con), "stamped": stamped}


@contextmanager
def _nolock():
    yield
