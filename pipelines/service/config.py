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
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipelines.settings import Settings, SettingsError, env_errors, private_dir

# field -> the environment variable it is read from
ENV_VARS = {"db_url": "HEMISTAT_DB_URL", "secret_key": "HEMISTAT_SECRET_KEY", "max_upload_mb": "HEMISTAT_MAX_UPLOAD_MB",
            "cookie_secure": "HEMISTAT_COOKIE_SECURE", "session_hours": "HEMISTAT_SESSION_HOURS",
            "login_max_failures": "HEMISTAT_LOGIN_MAX_FAILURES", "login_window_minutes": "HEMISTAT_LOGIN_WINDOW_MIN",
            "publish_on_approval": "HEMISTAT_PUBLISH_ON_APPROVAL", "verdict_wait_seconds": "HEMISTAT_VERDICT_WAIT_S"}


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


class _PortalEnv(BaseModel):
    """The portal's environment variables, typed (a bad value names its variable)."""
    model_config = ConfigDict(extra="forbid")

    max_upload_mb: float = Field(50, gt=0)
    session_hours: float = Field(8, gt=0)
    login_max_failures: int = Field(5, ge=1)
    login_window_minutes: int = Field(15, ge=1)
    # how long an upload's answer waits for its verdict; the checks go on in the background after that and
    # the submission page follows them (0: answer at once)
    verdict_wait_seconds: float = Field(300, ge=0)

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_default(cls, v, info):
        return cls.model_fields[info.field_name].default if isinstance(v, str) and not v.strip() else v


class PortalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    db_url: str
    secret_key: bytes
    max_upload_bytes: int = Field(gt=0)
    cookie_secure: bool
    session_hours: float = Field(gt=0)
    login_max_failures: int = Field(ge=1)
    login_window_minutes: int = Field(ge=1)
    publish_on_approval: bool
    work_dir: Path
    verdict_wait_seconds: float = 300.0

    @property
    def max_uncompressed_bytes(self) -> int:
        """What an xlsx may expand to (zip-bomb guard): 10x the upload limit, at least 100 MB."""
        return max(10 * self.max_upload_bytes, 100 * 1024 * 1024)

    @classmethod
    def from_env(cls, settings: Settings, **overrides) -> "PortalConfig":
        env = os.environ
        work = private_dir(settings.data_dir / "portal")         # 0700: the database, its WAL, the key
        key = env.get("HEMISTAT_SECRET_KEY", "").encode()
        if not key:
            kp = work / "secret.key"
            if not kp.exists():
                fd = os.open(kp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_hex(32))
            key = kp.read_text().strip().encode()
        try:
            typed = _PortalEnv(**{k: env[v] for k, v in ENV_VARS.items() if k in _PortalEnv.model_fields and v in env})
        except ValidationError as exc:
            raise SettingsError(env_errors(exc, ENV_VARS)) from None
        cfg = dict(
            db_url=env.get("HEMISTAT_DB_URL") or f"sqlite:///{work / 'portal.sqlite3'}",
            secret_key=key,
            max_upload_bytes=int(typed.max_upload_mb * 1024 * 1024),
            cookie_secure=_flag(env.get("HEMISTAT_COOKIE_SECURE"), True),
            session_hours=typed.session_hours,
            login_max_failures=typed.login_max_failures,
            login_window_minutes=typed.login_window_minutes,
            publish_on_approval=_flag(env.get("HEMISTAT_PUBLISH_ON_APPROVAL"), True),
            work_dir=work,
            verdict_wait_seconds=typed.verdict_wait_seconds,
        )
        cfg.update(overrides)
        return cls(**cfg)
