"""Alembic migrations of the portal database (users, tokens, sessions, sign-in attempts, audit log).
See ``pipelines/service/migrate.py`` and docs/PORTAL.md (Schema migrations)."""
