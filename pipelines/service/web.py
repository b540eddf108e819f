"""What every route of the portal shares: settings, configuration, database, the Portal, the message
catalogues and the page templates (one ``Web`` object per app, ``app.state.web``), with the helpers that
turn them into responses: language of a request, CSRF tokens, cookies, rendering a page, attachments.

The routes themselves are in ``pipelines/service/routers/``; the FastAPI dependencies that hand them the
signed-in user, a role or a checked form are in ``pipelines/service/deps.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment

from pipelines.i18n import LANG_COOKIE, LANGUAGES as LANGS, Translator, negotiate
from pipelines.service import auth
from pipelines.service.config import PortalConfig
from pipelines.service.db import Database
from pipelines.service.portal import Denied, Portal
from pipelines.service.texts import event_text, source_title
from pipelines.settings import Settings

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "hemistat_session"
PRE_COOKIE = "hemistat_pre"
from pipelines.storage.submissions import STATUSES  # noqa: E402 (one list of status names)
PUBLISH_OUTCOMES = ("published", "failed", "deferred")   # Portal._publish


class LoginRequired(Exception):
    """A page needs a signed-in user: answered with a redirect to the sign-in page."""


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "?"


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this site only."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/submissions"
    parts = urlsplit(value)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def attachment(data: bytes, filename: str, media_type: str) -> Response:
    return Response(data, media_type=media_type, headers={
        "content-disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"})


@dataclass
class Web:
    settings: Settings
    cfg: PortalConfig
    db: Database
    portal: Portal
    catalogues: dict
    env: Environment

    # who and which language -----------------------------------------------------------------------------
    def current_user(self, request: Request) -> auth.Principal | None:
        """The user of the session cookie (looked up once per request)."""
        if not hasattr(request.state, "user"):
            request.state.user = auth.session_user(self.db, request.cookies.get(SESSION_COOKIE))
        return request.state.user

    def lang_of(self, request: Request, user: auth.Principal | None = None) -> str:
        return negotiate(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE),
                         user.lang if user else None, request.headers.get("accept-language"))

    def tr(self, request: Request, user: auth.Principal | None = None) -> Translator:
        return Translator(self.catalogues, self.lang_of(request, user))

    def translator(self, lang: str) -> Translator:
        return Translator(self.catalogues, lang)

    # cookies and CSRF -----------------------------------------------------------------------------------
    def set_cookie(self, resp: Response, name: str, value: str, *, max_age: int | None = None,
                   samesite: str = "lax") -> None:
        resp.set_cookie(name, value, max_age=max_age, httponly=True, secure=self.cfg.cookie_secure,
                        samesite=samesite, path="/")

    def csrf_for(self, request: Request, user: auth.Principal | None) -> str:
        binding = user.session_token if user else request.cookies.get(PRE_COOKIE) or getattr(request.state, "pre", "")
        return auth.csrf_token(self.cfg.secret_key, binding) if binding else ""

    def check_csrf(self, request: Request, user: auth.Principal | None, form) -> None:
        """The form's ``csrf`` field must be bound to the session (or, for sign-in, the pre-session cookie)."""
        binding = user.session_token if user else request.cookies.get(PRE_COOKIE)
        if not auth.csrf_ok(self.cfg.secret_key, binding, form.get("csrf")):
            self.db.audit("csrf_refused", actor=user.username if user else None, ip=client_ip(request),
                          path=request.url.path)
            raise Denied("err_csrf")

    # pages ------------------------------------------------------------------------------------------------
    def render(self, request: Request, name: str, status: int = 200, user=None, **ctx) -> HTMLResponse:
        user = user if user is not None else self.current_user(request)
        t = self.tr(request, user)
        html = self.env.get_template(name).render(
            t=t, lang=t.lang, langs=LANGS, user=user, csrf=self.csrf_for(request, user), path=request.url.path,
            statuses=STATUSES, status_label=lambda s: t(f"status_{s}") if s else "",
            event_text=lambda d: event_text(t, d), source_title=lambda sid, fb=None: source_title(t, sid, fb), **ctx)
        resp = HTMLResponse(html, status_code=status)
        q = request.query_params.get("lang")
        if q in LANGS:
            self.set_cookie(resp, LANG_COOKIE, q, max_age=365 * 24 * 3600)
        if getattr(request.state, "pre", None):
            self.set_cookie(resp, PRE_COOKIE, request.state.pre, samesite="strict")
        return resp

    def render_413(self, scope) -> tuple[str, bytes]:
        """The answer of the body-size middleware (before any route runs): JSON for the API, else a page."""
        hdrs = {k.decode().lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        t = Translator(self.catalogues, negotiate(None, None, None, hdrs.get("accept-language")))
        msg = t("err_too_large", limit_mb=self.cfg.max_upload_bytes // (1024 * 1024))
        if scope["path"].startswith("/api/"):
            return "application/json", json.dumps({"error": "err_too_large", "message": msg}).encode()
        page = self.env.get_template("error.html").render(t=t, lang=t.lang, langs=LANGS, user=None, csrf="",
                                                          path="", statuses=STATUSES, status_label=str, message=msg)
        return "text/html; charset=utf-8", page.encode()
