"""The declarative base of every table of the portal database and the timestamp helper, in a module of their own
so that model modules beside ``db.py`` (``network_models.py``) can share them and ``db.py`` can import those
modules without an import cycle."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.orm import DeclarativeBase


def utcnow() -> datetime:
    """Naive UTC (stored the same way on SQLite and PostgreSQL)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass
