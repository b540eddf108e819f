"""Users, API tokens, sessions, sign-in attempts and the append-only audit log (SQLAlchemy 2).

SQLite by default, PostgreSQL when ``HEMISTAT_DB_URL`` says so. The schema is made and changed by Alembic
migrations (``pipelines/service/migrations/``), applied when the portal starts. The audit log is append-only
in the database itself: UPDATE, DELETE (and TRUNCATE on PostgreSQL) on ``audit_log`` raise an error.
Passwords are stored as argon2id hashes, API and session tokens as SHA-256 digests only.
"""

from __future__ import annotations

import json
import os
from datetime import datetime

from sqlalchemy import (Boolean, DateTime, ForeignKey, Integer, String, Text, create_engine, event, select)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

ROLES = ("office", "reviewer", "analyst", "admin", "network")
# "network": a person who came to the portal through the Inter-American Network for the Prevention of Violence and
# Crime (issue 17) only: no data-office right (no upload, no review, no submission); their Network roles are in
# network_roles (pipelines/service/network_models.py).


from pipelines.service.base import Base, utcnow  # noqa: E402 - shared with the models beside this module


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    country_iso3: Mapped[str | None] = mapped_column(String(3), nullable=True)
    lang: Mapped[str | None] = mapped_column(String(2), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class WebSession(Base):
    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    ok: Mapped[bool] = mapped_column(Boolean)


class AuditEvent(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    submission_id: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    source_id: Mapped[str | None] = mapped_column(String(60), nullable=True)
    country_iso3: Mapped[str | None] = mapped_column(String(3), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="{}")


class PracticeSubmission(Base):
    """A good practice submitted in the portal by a data office (issue 16): the record as submitted (JSON, the
    schema of reference/practices/schema.json), its review status (submitted -> under_review -> published or
    returned), the reviewer and the reason. Every change is also in the audit log (practice_* actions)."""
    __tablename__ = "practice_submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    practice_id: Mapped[str] = mapped_column(String(80), index=True)
    country_iso3: Mapped[str | None] = mapped_column(String(3), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    record_json: Mapped[str] = mapped_column(Text)
    submitted_by: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reviewer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def _private_sqlite_files(database: str | None) -> None:
    """The SQLite file and its ``-wal``/``-shm`` companions readable by the owner only (0600): they hold password
    hashes, token digests and the audit log. SQLite gives the WAL and shared-memory files the main file's
    permissions; files made before this (0644) are tightened too. (The portal's folder, ``<data>/portal``, is made
    0700 by ``PortalConfig``.)"""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    from pathlib import Path

    db = Path(database)
    if not db.parent.is_dir():
        return          # sqlite reports it
    if not db.exists():
        os.close(os.open(db, os.O_WRONLY | os.O_CREAT, 0o600))
    for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}.migrate-lock")):
        if p.exists() and p.stat().st_mode & 0o077:
            os.chmod(p, 0o600)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        eng = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                            pool_size=20, max_overflow=20)
        _private_sqlite_files(eng.url.database)

        @event.listens_for(eng, "connect")
        def _pragmas(dbapi_con, _rec):  # noqa: ANN001
            _private_sqlite_files(eng.url.database)      # before WAL mode creates its files
            cur = dbapi_con.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
        return eng
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def init_db(engine: Engine) -> dict:
    """Bring the schema to the newest migration (``pipelines/service/migrate.py``, Alembic): a new database
    gets the baseline (today's tables and the append-only triggers of the audit log), a database made before
    migrations is stamped with it, and later revisions are applied. Idempotent; concurrent starts wait."""
    from pipelines.service.migrate import upgrade

    return upgrade(engine)


class Database:
    def __init__(self, url: str, *, upgrade: bool = True):
        self.url = url
        self.engine = make_engine(url)
        if upgrade:     # False only for tools and tests that must see the database as it is
            init_db(self.engine)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)

    def audit(self, action: str, *, actor: str | None = None, role: str | None = None,
              submission_id: str | None = None, source_id: str | None = None, country_iso3: str | None = None,
              ip: str | None = None, **detail) -> None:
        """Append one event (its own short transaction)."""
        with self.Session.begin() as s:
            s.add(AuditEvent(at=utcnow(), actor=actor, role=role, action=action, submission_id=submission_id,
                             source_id=source_id, country_iso3=country_iso3, ip=ip,
                             detail=json.dumps(detail, ensure_ascii=False, default=str, sort_keys=True)))

    def audit_events(self, limit: int = 500, **filters) -> list[AuditEvent]:
        with self.Session() as s:
            q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
            for k, v in filters.items():
                q = q.where(getattr(AuditEvent, k) == v)
            return list(s.scalars(q))

    def dispose(self) -> None:
        self.engine.dispose()


# the Network's tables share Base (their models register on import; migration 0005_network creates them)
from pipelines.service import network_models  # noqa: E402,F401
