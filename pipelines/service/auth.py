"""Accounts: argon2 password hashes, hashed revocable API tokens, server-side sessions, CSRF tokens
and sign-in rate limiting. Nothing secret is stored in clear: the database holds argon2id hashes of
passwords and SHA-256 digests of tokens (tokens are 256-bit random, so a fast digest is enough)."""

from __future__ import annotations

import hashlib
import json
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from pipelines.i18n import LANGUAGES as LANGS
from pipelines.service.db import ROLES, ApiToken, AuditEvent, Database, LoginAttempt, User, WebSession, utcnow

_PH = PasswordHasher()  # argon2id, RFC 9106 low-memory profile defaults
_DUMMY_HASH = _PH.hash("not a password: equalises timing for unknown users")
TOKEN_PREFIX = "hst_"
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")


class AuthError(ValueError):
    """A bad account operation; ``key`` is an i18n message key."""

    def __init__(self, key: str, **params):
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Principal:
    """The signed-in user as the web layer sees it (detached from the database session)."""

    id: int
    username: str
    role: str
    country_iso3: str | None
    lang: str | None
    session_token: str | None = None  # the raw cookie value, for CSRF tokens
    via_token: bool = False


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _PH.hash(password)


def check_password_policy(password: str) -> None:
    if len(password) < 12:
        raise AuthError("err_password_short")


def _principal(u: User, session_token: str | None = None, via_token: bool = False) -> Principal:
    return Principal(u.id, u.username, u.role, u.country_iso3, u.lang, session_token, via_token)


# users ---------------------------------------------------------------------------------------------------
def member_states() -> set[str]:
    """ISO3 codes of the OAS member states (reference/countries), read at run time."""
    from pipelines.harmonise import reference as ref
    from pipelines.settings import get_settings

    return set(ref.countries(get_settings().reference_dir)["iso3"])


def _check_country(country_iso3: str | None) -> None:
    """A country given to an account must be a member state's ISO3 code (never ``XXX`` or ``ZZZZZZ``)."""
    if country_iso3 and (not re.fullmatch(r"[A-Z]{3}", country_iso3) or country_iso3 not in member_states()):
        raise AuthError("err_country_not_member", country=country_iso3[:12])


def create_user(db: Database, username: str, password: str, role: str, *, country_iso3: str | None = None,
                lang: str | None = None) -> Principal:
    if not USERNAME_RE.match(username or ""):
        raise AuthError("err_username")
    if role not in ROLES:
        raise AuthError("err_role")
    country_iso3 = (country_iso3 or "").strip().upper() or None
    if role == "office" and not country_iso3:
        raise AuthError("err_office_country")
    _check_country(country_iso3)
    if lang and lang not in LANGS:
        raise AuthError("err_lang")
    check_password_policy(password)
    with db.Session.begin() as s:
        if s.scalar(select(User).where(User.username == username)):
            raise AuthError("err_user_exists")
        u = User(username=username, password_hash=hash_password(password), role=role, country_iso3=country_iso3,
                 lang=lang or None, active=True, created_at=utcnow())
        s.add(u)
        s.flush()
        return _principal(u)


def update_user(db: Database, user_id: int, *, role: str | None = None, country_iso3: str | None = None,
                active: bool | None = None, password: str | None = None, lang: str | None = None,
                actor: str | None = None, actor_role: str | None = None, ip: str | None = None) -> Principal:
    """Change a user. Deactivating ends its sessions and **revokes** its API tokens (each revocation is a
    ``token_revoke`` row of the audit log, written in the same transaction, by ``actor``), so re-activating the
    user later revives none of them: the user makes new tokens."""
    with db.Session.begin() as s:
        u = s.get(User, user_id)
        if u is None:
            raise AuthError("err_not_found")
        if role is not None:
            if role not in ROLES:
                raise AuthError("err_role")
            u.role = role
        if country_iso3 is not None:
            _check_country(country_iso3.strip().upper() or None)
            u.country_iso3 = country_iso3.strip().upper() or None
        if u.role == "office" and not u.country_iso3:
            raise AuthError("err_office_country")
        if lang is not None:
            if lang and lang not in LANGS:
                raise AuthError("err_lang")
            u.lang = lang or None
        if password:
            check_password_policy(password)
            u.password_hash = hash_password(password)
        if active is not None:
            u.active = active
        if active is False or password:
            # a deactivated user or a new password ends every open session
            for ws in s.scalars(select(WebSession).where(WebSession.user_id == u.id, WebSession.revoked_at.is_(None))):
                ws.revoked_at = utcnow()
        if active is False:
            revoke_user_tokens(s, u, reason="user deactivated", actor=actor, actor_role=actor_role, ip=ip)
        return _principal(u)


def revoke_user_tokens(s, u: User, *, reason: str, actor: str | None = None, actor_role: str | None = None,
                       ip: str | None = None) -> list[int]:
    """Revoke every live API token of ``u`` in session ``s`` and append a ``token_revoke`` audit row for each
    (the caller's transaction commits both or neither). Returns the ids revoked."""
    now, ids = utcnow(), []
    for t in s.scalars(select(ApiToken).where(ApiToken.user_id == u.id, ApiToken.revoked_at.is_(None))
                       .order_by(ApiToken.id)):
        t.revoked_at = now
        ids.append(t.id)
        s.add(AuditEvent(at=now, actor=actor, role=actor_role, action="token_revoke", ip=ip,
                         detail=json.dumps({"user": u.username, "token_id": t.id, "token_prefix": t.prefix,
                                            "reason": reason}, sort_keys=True)))
    return ids


def list_users(db: Database) -> list[User]:
    with db.Session() as s:
        return list(s.scalars(select(User).order_by(User.username)))


def get_user(db: Database, username: str) -> User | None:
    with db.Session() as s:
        return s.scalar(select(User).where(User.username == username))


# sign-in -----------------------------------------------------------------------------------------------
def login_blocked(db: Database, username: str, ip: str, max_failures: int, window_minutes: int) -> bool:
    """Too many failed attempts for this user name (or from this address) in the window."""
    since = utcnow() - timedelta(minutes=window_minutes)
    with db.Session() as s:
        by_user = s.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == username, LoginAttempt.ok.is_(False), LoginAttempt.at >= since))
        by_ip = s.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.ip == ip, LoginAttempt.ok.is_(False), LoginAttempt.at >= since))
    return by_user >= max_failures or by_ip >= 4 * max_failures


def authenticate(db: Database, username: str, password: str, ip: str) -> Principal | None:
    """Check a password (argon2, constant work for unknown users) and record the attempt."""
    username = (username or "")[:64]
    with db.Session() as s:
        u = s.scalar(select(User).where(User.username == username))
        ok = False
        if u is None or not u.active:
            try:
                _PH.verify(_DUMMY_HASH, password or "x")
            except (VerificationError, InvalidHashError):
                pass
        else:
            try:
                ok = _PH.verify(u.password_hash, password or "")
            except (VerificationError, InvalidHashError):
                ok = False
        p = _principal(u) if ok else None
        rehash = ok and _PH.check_needs_rehash(u.password_hash)
    with db.Session.begin() as s:
        s.add(LoginAttempt(username=username, ip=ip[:64], at=utcnow(), ok=ok))
        if rehash:
            s.get(User, p.id).password_hash = hash_password(password)
    return p


def start_session(db: Database, user_id: int, hours: float) -> str:
    token = secrets.token_urlsafe(32)
    with db.Session.begin() as s:
        s.add(WebSession(token_hash=digest(token), user_id=user_id, created_at=utcnow(),
                         expires_at=utcnow() + timedelta(hours=hours)))
    return token


def _live_credential(s, model, token: str):
    """(credential row, its user) for a session or API token given in clear, looked up by its digest;
    None when unknown, revoked, or its user is deactivated."""
    row = s.execute(select(model, User).join(User, User.id == model.user_id).where(
        model.token_hash == digest(token))).first()
    if row is None or row[0].revoked_at is not None or not row[1].active:
        return None
    return row


def session_user(db: Database, token: str | None) -> Principal | None:
    if not token or len(token) > 200:
        return None
    with db.Session() as s:
        row = _live_credential(s, WebSession, token)
        if row is None or row[0].expires_at < utcnow():
            return None
        return _principal(row[1], session_token=token)


def end_session(db: Database, token: str | None) -> None:
    if not token:
        return
    with db.Session.begin() as s:
        ws = s.scalar(select(WebSession).where(WebSession.token_hash == digest(token)))
        if ws is not None and ws.revoked_at is None:
            ws.revoked_at = utcnow()


# API tokens --------------------------------------------------------------------------------------------
def create_token(db: Database, user_id: int, name: str) -> tuple[int, str]:
    """Returns (token id, the token). The token is shown once; only its digest is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.Session.begin() as s:
        t = ApiToken(user_id=user_id, name=(name or "token").strip()[:100] or "token", prefix=token[:10],
                     token_hash=digest(token), created_at=utcnow())
        s.add(t)
        s.flush()
        return t.id, token


def list_tokens(db: Database, user_id: int | None = None) -> list[ApiToken]:
    with db.Session() as s:
        q = select(ApiToken).order_by(ApiToken.id)
        if user_id is not None:
            q = q.where(ApiToken.user_id == user_id)
        return list(s.scalars(q))


def revoke_token(db: Database, token_id: int, *, owner_id: int | None = None) -> bool:
    """Revoke a token (of ``owner_id`` unless None, i.e. an admin). False if not found."""
    with db.Session.begin() as s:
        t = s.get(ApiToken, token_id)
        if t is None or (owner_id is not None and t.user_id != owner_id):
            return False
        if t.revoked_at is None:
            t.revoked_at = utcnow()
        return True


def token_user(db: Database, token: str | None) -> Principal | None:
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with db.Session() as s:
        row = _live_credential(s, ApiToken, token)
        if row is None:
            return None
        t, u = row
        p = _principal(u, via_token=True)
        stale = t.last_used_at is None or t.last_used_at < utcnow() - timedelta(minutes=1)
        tid = t.id
    if stale:
        with db.Session.begin() as s:
            s.get(ApiToken, tid).last_used_at = utcnow()
    return p


# CSRF --------------------------------------------------------------------------------------------------
def csrf_token(secret: bytes, binding: str) -> str:
    """A form token bound to the session (or, before sign-in, to the pre-session cookie)."""
    return hmac.new(secret, b"csrf|" + binding.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, binding: str | None, submitted: str | None) -> bool:
    if not binding or not submitted:
        return False
    return hmac.compare_digest(csrf_token(secret, binding), submitted)
