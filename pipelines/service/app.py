"""The upload portal: FastAPI app with server-rendered pages (Jinja2, no JavaScript) and a JSON API.

Start it with ``hemistat serve`` (uvicorn). ``create_app(settings)`` builds the app; the database,
secret key and limits come from the environment (``pipelines/service/config.py``).

Layout: this module builds the app (shared state, error handlers, middlewares); the routes are
``APIRouter``s by area in ``routers/``; the dependencies that give a route its user, role, checked form or
API principal are in ``deps.py``; request bodies are pydantic models in ``schemas.py``; what the routes share
(templates, translations, CSRF, cookies) is the ``Web`` object in ``web.py``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from pipelines.i18n import load_catalogues, register_jinja_filters
from pipelines.service.config import PortalConfig
from pipelines.service.db import Database
from pipelines.service.portal import Denied, Portal
from pipelines.service.routers import ROUTERS
from pipelines.service.uploads import UploadRefused
from pipelines.service.web import (PUBLISH_OUTCOMES, STATUSES, LoginRequired, Web,  # noqa: F401 - re-exported
                                   is_api)
from pipelines.settings import Settings, use_private_umask

HERE = Path(__file__).resolve().parent
CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


# ASGI middlewares -------------------------------------------------------------------------------------------
class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over the limit with 413 before they are read (Content-Length) or while they
    are read (chunked). The exact per-file limit is checked again on the stored bytes."""

    def __init__(self, app, limit: int, render):
        self.app = app
        self.limit = limit
        self.render = render

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        try:
            length = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            length = 0
        if length > self.limit:
            return await self._reject(scope, send)
        seen = 0
        started = False

        async def limited():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge()
            return msg

        async def tracking_send(msg):
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(scope, send)

    async def _reject(self, scope, send):
        ctype, body = self.render(scope)
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(msg):
            if msg["type"] == "http.response.start":
                h = list(msg.get("headers") or [])
                names = {k.lower() for k, _ in h}
                for k, v in ((b"content-security-policy", CSP), (b"x-content-type-options", "nosniff"),
                             (b"x-frame-options", "DENY"), (b"referrer-policy", "same-origin"),
                             (b"cache-control", "no-store")):
                    if k not in names:
                        h.append((k, v.encode()))
                msg = {**msg, "headers": h}
            await send(msg)

        await self.app(scope, receive, send_with_headers)


# the app ---------------------------------------------------------------------------------------------------
def _validation_message(errors: list[dict]) -> str:
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "body"
        parts.append(f"{loc}: {e.get('msg')}")
    what = ("The request body" if all((e.get("loc") or ("body",))[0] == "body" for e in errors)
            else "The request")   # a path or query parameter (a token id "1e23", user_id=abc)
    return f"{what} does not have the expected shape (" + "; ".join(parts) + ")."


def create_app(settings: Settings, config: PortalConfig | None = None) -> FastAPI:
    use_private_umask()         # the database, its WAL, uploads in progress: 0600 / 0700
    settings.ensure_dirs()
    from pipelines import pipeline  # noqa: F401 - import the pipeline (pandas, duckdb …) now, not on the first upload

    cfg = config or PortalConfig.from_env(settings)
    db = Database(cfg.db_url)
    portal = Portal(settings, cfg, db)
    threading.Thread(target=portal.warm_up, name="warm-up", daemon=True).start()
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    register_jinja_filters(env)   # {{ n|number }}, {{ d|date }} in the language of the page
    web = Web(settings, cfg, db, portal, load_catalogues(settings.reference_dir), env)

    app = FastAPI(title="hemistat upload portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = web
    app.state.portal = portal
    app.state.db = db
    app.state.config = cfg
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)

    # errors ---------------------------------------------------------------------------------------------
    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired):
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(Denied)
    async def _denied(request: Request, exc: Denied):
        u = None if is_api(request) else web.current_user(request)
        msg = web.tr(request, u)(exc.key, **exc.params)
        if is_api(request):
            headers = {"www-authenticate": "Bearer"} if exc.status == 401 else None
            body = {"error": exc.key, "message": msg}
            if getattr(exc, "file_name", None):
                body["file"] = exc.file_name
            return JSONResponse(body, status_code=exc.status, headers=headers)
        return web.render(request, "error.html", status=exc.status, user=u, message=msg)

    @app.exception_handler(UploadRefused)
    async def _refused(request: Request, exc: UploadRefused):
        t = web.tr(request, None if is_api(request) else web.current_user(request))
        body = {"error": exc.key, "message": exc.text(t)}
        if getattr(exc, "file_name", None):
            body["file"] = exc.file_name   # which file was refused
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        """A body, form field or path parameter of the wrong shape: 422 with what is wrong (never 500)."""
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        msg = _validation_message(errors)
        if is_api(request):
            return JSONResponse(jsonable_encoder({"error": "invalid_body", "message": msg, "detail": errors}),
                                status_code=422)
        return web.render(request, "error.html", status=422, message=msg)

    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, limit=cfg.max_upload_bytes + (1 << 20), render=web.render_413)  # outermost
    return app


def app_from_env():
    """For ``uvicorn --factory pipelines.service.app:app_from_env``."""
    from pipelines.settings import get_settings

    return create_app(get_settings())
