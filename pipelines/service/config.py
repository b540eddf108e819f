"""Portal configuration, read from the environment when the app is created (never at import time).

* ``HEMISTAT_DB_URL`` – SQLAlchemy URL of the users/audit database. Default: SQLite at
  ``<data>/portal/portal.sqlite3``. PostgreSQL: ``postgresql+psycopg://user:pw@host:5432/db``.
* ``HEMISTAT_SECRET_KEY`` – key for CSRF tokens. Default: a random key kept in ``<data>/portal/secret.key`` (0600).
* ``HEMISTAT_MAX_UPLOAD_MB`` – largest accepted upload (default 50).
* ``HEMISTAT_COOKIE_SECURE`` – ``1`` (default) sends cookies with ``Secure``; ``0`` only for plain-http
  development on 127.0.0.1 (``hemistat serve`` sets it when bound to a loopback address).
* ``HEMISTAT_SESSION_HOURS`` – session lifetime (default 8).
* ``HEMISTAT_LOGIN_MAX_FAILURES`` – failed sign-ins per user name in ``HEMISTAT_LOGIN_WINDOW_MIN`` minutes
  (default 5 in 15) before sign-in is refused with HTTP 429; an address gets 4x as many.
* ``HEMISTAT_PUBLISH_ON_APPROVAL`` – ``1`` (default): an approval harmonises and publishes at once.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pipelines.settings import Settings


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class PortalConfig:
    db_url: str
    secret_key: bytes
    max_upload_bytes: int
    cookie_secure: bool
    session_hours: float
    login_max_failures: int
    login_window_minutes: int
    publish_on_approval: bool
    work_dir: Path

    @property
    def max_uncompressed_bytes(self) -> int:
        """What an xlsx may expand to (zip-bomb guard): 10x the upload limit, at least 100 MB."""
        return max(10 * self.max_upload_bytes, 100 * 1024 * 1024)

    @classmethod
    def from_env(cls, settings: Settings, **overrides) -> "PortalConfig":
        env = os.environ
        work = settings.data_dir / "portal"
        work.mkdir(parents=True, exist_ok=True)
        key = env.get("HEMISTAT_SECRET_KEY", "").encode()
        if not key:
            kp = work / "secret.key"
            if not kp.exists():
                fd = os.open(kp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_hex(32))
            key = kp.read_text().strip().encode()
        cfg = dict(
            db_url=env.get("HEMISTAT_DB_URL") or f"sqlite:///{work / 'portal.sqlite3'}",
            secret_key=key,
            max_upload_bytes=int(float(env.get("HEMISTAT_MAX_UPLOAD_MB", "50")) * 1024 * 1024),
            cookie_secure=_flag(env.get("HEMISTAT_COOKIE_SECURE"), True),
            session_hours=float(env.get("HEMISTAT_SESSION_HOURS", "8")),
            login_max_failures=int(env.get("HEMISTAT_LOGIN_MAX_FAILURES", "5")),
            login_window_minutes=int(env.get("HEMISTAT_LOGIN_WINDOW_MIN", "15")),
            publish_on_approval=_flag(env.get("HEMISTAT_PUBLISH_ON_APPROVAL"), True),
            work_dir=work,
        )
        cfg.update(overrides)
        return cls(**cfg)
