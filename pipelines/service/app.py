"""The upload portal: FastAPI app with server-rendered pages (Jinja2, no JavaScript) and a JSON API.

Start it with ``hemistat serve`` (uvicorn). ``create_app(settings)`` builds the app; the database,
secret key and limits come from the environment (``pipelines/service/config.py``).
"""

from __future__ import annotations

import json
import secrets
import threading
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from pipelines.service import auth
from pipelines.service.config import PortalConfig
from pipelines.service.db import ROLES, Database
from pipelines.service.i18n import LANG_COOKIE, LANGS, Translator, load_catalogues, negotiate
from pipelines.service.portal import Denied, Portal
from pipelines.service.uploads import UploadRefused, frame_rows, to_csv_bytes, to_xlsx_bytes
from pipelines.settings import Settings

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "hemistat_session"
PRE_COOKIE = "hemistat_pre"
STATUSES = ["received", "rejected", "validated", "awaiting_review", "approved", "published", "superseded",
            "withdrawn"]
CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
PUBLISH_OUTCOMES = ("published", "failed", "deferred")   # Portal._publish
FAILURE_COLUMNS = ["rule_id", "severity", "file_name", "line", "column_name", "value", "message"]


class LoginRequired(Exception):
    pass


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
def create_app(settings: Settings, config: PortalConfig | None = None) -> FastAPI:
    settings.ensure_dirs()
    from pipelines import steps  # noqa: F401 - import the pipeline (pandas, duckdb …) now, not on the first upload

    cfg = config or PortalConfig.from_env(settings)
    db = Database(cfg.db_url)
    portal = Portal(settings, cfg, db)
    threading.Thread(target=portal.warm_up, name="warm-up", daemon=True).start()
    catalogues = load_catalogues(settings.reference_dir)
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))

    app = FastAPI(title="hemistat upload portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.portal = portal
    app.state.db = db
    app.state.config = cfg
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    # helpers --------------------------------------------------------------------------------------------
    def client_ip(request: Request) -> str:
        return request.client.host if request.client else "?"

    def current_user(request: Request) -> auth.Principal | None:
        if not hasattr(request.state, "user"):
            request.state.user = auth.session_user(db, request.cookies.get(SESSION_COOKIE))
        return request.state.user

    def require_user(request: Request, *roles: str) -> auth.Principal:
        u = current_user(request)
        if u is None:
            raise LoginRequired()
        if roles and u.role not in roles:
            raise Denied("err_forbidden")
        return u

    def lang_of(request: Request, user: auth.Principal | None = None) -> str:
        return negotiate(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE),
                         user.lang if user else None, request.headers.get("accept-language"))

    def tr(request: Request, user=None) -> Translator:
        return Translator(catalogues, lang_of(request, user))

    def set_cookie(resp: Response, name: str, value: str, *, max_age: int | None = None, samesite: str = "lax"):
        resp.set_cookie(name, value, max_age=max_age, httponly=True, secure=cfg.cookie_secure, samesite=samesite,
                        path="/")

    def csrf_for(request: Request, user: auth.Principal | None) -> str:
        binding = user.session_token if user else request.cookies.get(PRE_COOKIE) or getattr(request.state, "pre", "")
        return auth.csrf_token(cfg.secret_key, binding) if binding else ""

    def check_csrf(request: Request, user: auth.Principal | None, form) -> None:
        binding = user.session_token if user else request.cookies.get(PRE_COOKIE)
        if not auth.csrf_ok(cfg.secret_key, binding, form.get("csrf")):
            db.audit("csrf_refused", actor=user.username if user else None, ip=client_ip(request),
                     path=request.url.path)
            raise Denied("err_csrf")

    def render(request: Request, name: str, status: int = 200, user=None, **ctx) -> HTMLResponse:
        user = user if user is not None else current_user(request)
        t = tr(request, user)
        html = env.get_template(name).render(
            t=t, lang=t.lang, langs=LANGS, user=user, csrf=csrf_for(request, user), path=request.url.path,
            statuses=STATUSES, status_label=lambda s: t(f"status_{s}") if s else "", **ctx)
        resp = HTMLResponse(html, status_code=status)
        q = request.query_params.get("lang")
        if q in LANGS:
            set_cookie(resp, LANG_COOKIE, q, max_age=365 * 24 * 3600)
        if getattr(request.state, "pre", None):
            set_cookie(resp, PRE_COOKIE, request.state.pre, samesite="strict")
        return resp

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    def api_user(request: Request, *roles: str) -> auth.Principal:
        h = request.headers.get("authorization", "")
        token = h[7:].strip() if h[:7].lower() == "bearer " else None
        u = auth.token_user(db, token)
        if u is None:
            if token:
                db.audit("token_refused", ip=client_ip(request), path=request.url.path,
                         token_prefix=token[:10])
            raise Denied("err_token", status=401)
        if roles and u.role not in roles:
            raise Denied("err_forbidden")
        return u

    def safe_next(value: str | None) -> str:
        if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
            return "/submissions"
        parts = urlsplit(value)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def attachment(data: bytes, filename: str, media_type: str) -> Response:
        return Response(data, media_type=media_type, headers={
            "content-disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"})

    # errors ---------------------------------------------------------------------------------------------
    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired):
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(Denied)
    async def _denied(request: Request, exc: Denied):
        u = None if is_api(request) else current_user(request)
        t = tr(request, u)
        msg = t(exc.key, **exc.params)
        if is_api(request):
            headers = {"www-authenticate": "Bearer"} if exc.status == 401 else None
            return JSONResponse({"error": exc.key, "message": msg}, status_code=exc.status, headers=headers)
        return render(request, "error.html", status=exc.status, user=u, message=msg)

    @app.exception_handler(UploadRefused)
    async def _refused(request: Request, exc: UploadRefused):
        t = tr(request, None if is_api(request) else current_user(request))
        return JSONResponse({"error": exc.key, "message": t(exc.key, **exc.params)}, status_code=exc.status)

    def render_413(scope) -> tuple[str, bytes]:
        hdrs = {k.decode().lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        t = Translator(catalogues, negotiate(None, None, None, hdrs.get("accept-language")))
        msg = t("err_too_large", limit_mb=cfg.max_upload_bytes // (1024 * 1024))
        if scope["path"].startswith("/api/"):
            return "application/json", json.dumps({"error": "err_too_large", "message": msg}).encode()
        page = env.get_template("error.html").render(t=t, lang=t.lang, langs=LANGS, user=None, csrf="", path="",
                                                     statuses=STATUSES, status_label=str, message=msg)
        return "text/html; charset=utf-8", page.encode()

    # pages: sign-in -------------------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def home(request: Request):
        return RedirectResponse("/submissions" if current_user(request) else "/login", status_code=303)

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request):
        if not request.cookies.get(PRE_COOKIE):
            request.state.pre = secrets.token_urlsafe(24)
        return render(request, "login.html", user=None, next=safe_next(request.query_params.get("next")))

    @app.post("/login")
    async def login_post(request: Request):
        form = await request.form()
        check_csrf(request, None, form)
        username = str(form.get("username") or "")[:64]
        password = str(form.get("password") or "")[:1024]
        nxt = safe_next(str(form.get("next") or ""))
        ip = client_ip(request)
        if auth.login_blocked(db, username, ip, cfg.login_max_failures, cfg.login_window_minutes):
            db.audit("sign_in_blocked", actor=username, ip=ip)
            return render(request, "login.html", status=429, user=None, next=nxt,
                          error=tr(request)("err_rate_limited", minutes=cfg.login_window_minutes))
        u = await run_in_threadpool(auth.authenticate, db, username, password, ip)
        if u is None:
            db.audit("sign_in_failed", actor=username, ip=ip)
            return render(request, "login.html", status=401, user=None, next=nxt, error=tr(request)("err_login"))
        token = auth.start_session(db, u.id, cfg.session_hours)
        db.audit("sign_in", actor=u.username, role=u.role, ip=ip)
        resp = RedirectResponse(nxt, status_code=303)
        set_cookie(resp, SESSION_COOKIE, token, max_age=int(cfg.session_hours * 3600))
        return resp

    @app.post("/logout")
    async def logout(request: Request):
        u = require_user(request)
        check_csrf(request, u, await request.form())
        auth.end_session(db, u.session_token)
        db.audit("sign_out", actor=u.username, role=u.role, ip=client_ip(request))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE, path="/", secure=cfg.cookie_secure, httponly=True)
        return resp

    @app.get("/account", response_class=HTMLResponse)
    def account(request: Request):
        u = require_user(request)
        return render(request, "account.html", user=u, tokens=auth.list_tokens(db, u.id),
                      new_token=None)

    @app.post("/account")
    async def account_post(request: Request):
        u = require_user(request)
        form = await request.form()
        check_csrf(request, u, form)
        lang = str(form.get("lang") or "")
        auth.update_user(db, u.id, lang=lang if lang in LANGS else "")
        db.audit("account_update", actor=u.username, role=u.role, ip=client_ip(request), lang=lang)
        resp = RedirectResponse("/account", status_code=303)
        resp.delete_cookie(LANG_COOKIE, path="/")
        return resp

    @app.post("/account/tokens")
    async def token_create(request: Request):
        u = require_user(request)
        form = await request.form()
        check_csrf(request, u, form)
        tid, token = auth.create_token(db, u.id, str(form.get("name") or "token"))
        db.audit("token_create", actor=u.username, role=u.role, ip=client_ip(request), token_id=tid,
                 token_prefix=token[:10])
        return render(request, "account.html", user=u, tokens=auth.list_tokens(db, u.id), new_token=token)

    @app.post("/account/tokens/{token_id}/revoke")
    async def token_revoke(request: Request, token_id: int):
        u = require_user(request)
        check_csrf(request, u, await request.form())
        owner = None if u.role == "admin" else u.id
        if not auth.revoke_token(db, token_id, owner_id=owner):
            raise Denied("err_not_found", status=404)
        db.audit("token_revoke", actor=u.username, role=u.role, ip=client_ip(request), token_id=token_id)
        return RedirectResponse("/admin/users" if owner is None and request.query_params.get("admin") else "/account",
                                status_code=303)

    # pages: upload and submissions ------------------------------------------------------------------------
    @app.get("/upload", response_class=HTMLResponse)
    def upload_page(request: Request):
        u = require_user(request, "office", "reviewer", "admin")
        return render(request, "upload.html", user=u, sources=portal.upload_sources(u),
                      source_info=portal.sources(), limit_mb=cfg.max_upload_bytes // (1024 * 1024))

    async def _read_upload(request: Request):
        form = await request.form(max_files=1, max_fields=20)
        f = form.get("file")
        src = form.get("source")
        return form, (f if isinstance(f, UploadFile) else None), (str(src) if src else None)

    def _released_on(form) -> str:
        v = form.get("released_on")
        return v.strip() if isinstance(v, str) else ""

    @app.post("/upload")
    async def upload_post(request: Request):
        u = require_user(request, "office", "reviewer", "admin")
        form, f, src = await _read_upload(request)
        check_csrf(request, u, form)
        t = tr(request, u)
        try:
            if f is None:
                raise UploadRefused("err_no_file")
            res = await run_in_threadpool(portal.upload, u, f.file, f.filename, src, client_ip(request),
                                          _released_on(form))
        except (UploadRefused, Denied) as exc:
            return render(request, "upload.html", status=exc.status, user=u, sources=portal.upload_sources(u),
                          source_info=portal.sources(), limit_mb=cfg.max_upload_bytes // (1024 * 1024),
                          error=t(exc.key, **exc.params), selected=src,
                          released_on=_released_on(form)[:40])
        return RedirectResponse(f"/submissions/{res.submission_id}?new={int(res.created)}", status_code=303)

    @app.get("/submissions", response_class=HTMLResponse)
    def submissions_page(request: Request):
        u = require_user(request)
        rows = portal.submissions_for(u)
        status = request.query_params.get("status")
        if status in STATUSES:
            rows = [r for r in rows if r["status"] == status]
        return render(request, "submissions.html", user=u, rows=rows, filter_status=status)

    @app.get("/submissions.csv")
    def submissions_csv(request: Request):
        u = require_user(request)
        cols = ["submission_id", "source_id", "country_iso3", "received_at", "uploaded_by", "original_name",
                "sha256", "size_bytes", "status", "status_detail"]
        rows = [[r.get(c) for c in cols] for r in portal.submissions_for(u)]
        db.audit("download_list", actor=u.username, role=u.role, ip=client_ip(request), rows=len(rows))
        return attachment(to_csv_bytes(cols, rows), "submissions.csv", "text/csv; charset=utf-8")

    def _failing_rules(report: dict | None) -> list[dict]:
        if not report:
            return []
        order = {"error": 0, "warn": 1, "info": 2}
        rules = [r for r in report.get("rules", []) if r.get("status") == "fail"]
        return sorted(rules, key=lambda r: (order.get(r.get("severity"), 3), r.get("rule_id")))

    @app.get("/submissions/{sid}", response_class=HTMLResponse)
    def submission_page(request: Request, sid: str):
        u = require_user(request)
        info = portal.submission(u, sid)
        pending = portal.pending_warnings(sid) if info["report"] else []
        return render(request, "submission.html", user=u, sid=sid, info=info, man=info["manifest"],
                      st=info["status"], report=info["report"], failing=_failing_rules(info["report"]),
                      pending=pending, new=request.query_params.get("new"),
                      can_review=u.role == "reviewer" and info["status"].get("status") in ("awaiting_review",
                                                                                           "validated"),
                      can_correct=u.role == "reviewer" and info["status"].get("status") != "withdrawn",
                      release=_release(info), flash=request.query_params.get("msg"),
                      pub=request.query_params.get("pub") if request.query_params.get("pub") in PUBLISH_OUTCOMES
                      else None)

    def _release(info: dict) -> dict:
        """The publisher's release date of a submission and where it comes from (declared / file / received)."""
        from pipelines.storage.submissions import release_date

        day, src = release_date(info["manifest"], info["status"])
        kind, _, how = str(src).partition(":")
        return {"date": day, "from": src, "kind": kind.strip() if kind.strip() in ("declared", "file", "received")
                else "file", "how": how.strip()}

    def _release_text(t: Translator, rel: dict) -> str:
        return t("release_from_" + rel["kind"], how=rel["how"] or "?")

    def _publish_text(t: Translator, out: dict) -> str | None:
        return t("pub_" + out["publish"]) if out.get("publish") else None

    @app.get("/submissions/{sid}/report", response_class=HTMLResponse)
    def report_page(request: Request, sid: str):
        u = require_user(request)
        from pipelines.quality.report import render_html

        info = portal.submission(u, sid)
        if not info["report"]:
            raise Denied("err_no_report", status=404)
        lang = lang_of(request, u)
        db.audit("download_report", actor=u.username, role=u.role, submission_id=sid, ip=client_ip(request),
                 source_id=info["manifest"]["source_id"], country_iso3=info["manifest"]["country_iso3"], lang=lang)
        return HTMLResponse(render_html(info["report"], lang))

    @app.get("/submissions/{sid}/original")
    def original(request: Request, sid: str):
        u = require_user(request)
        return _send_original(request, u, sid)

    def _send_original(request: Request, u: auth.Principal, sid: str):
        path, info = portal.original_path(u, sid)
        man = info["manifest"]
        db.audit("download_original", actor=u.username, role=u.role, submission_id=sid, ip=client_ip(request),
                 source_id=man["source_id"], country_iso3=man["country_iso3"], sha256=man["sha256"])
        # the bytes exactly as received (checksum header), never rendered inline
        return FileResponse(path, media_type="application/octet-stream", filename=man["original_name"],
                            headers={"x-content-sha256": man["sha256"]})

    def _failures(report: dict | None, lang: str) -> tuple[list[str], list[list]]:
        rows = []
        for r in _failing_rules(report):
            for f in r.get("failures", []):
                rows.append([r["rule_id"], r["severity"], f.get("file_name") or (report or {}).get("file"),
                             f.get("line"), f.get("column_name"), None if f.get("value") is None else str(f["value"]),
                             (f.get("message") or {}).get(lang) or (f.get("message") or {}).get("en")])
        for p in (report or {}).get("problems", []):
            if p.get("rule") == "ACCESS":
                rows.append(["ACCESS", "error", p.get("file"), p.get("line"), p.get("column"), p.get("value"),
                             p.get("message")])
        return FAILURE_COLUMNS, rows

    @app.get("/submissions/{sid}/failures.{fmt}")
    def failures_export(request: Request, sid: str, fmt: str):
        u = require_user(request)
        if fmt not in ("csv", "xlsx"):
            raise Denied("err_not_found", status=404)
        info = portal.submission(u, sid)
        cols, rows = _failures(info["report"], lang_of(request, u))
        db.audit("download_failures", actor=u.username, role=u.role, submission_id=sid, ip=client_ip(request),
                 format=fmt, rows=len(rows))
        if fmt == "csv":
            return attachment(to_csv_bytes(cols, rows), f"{sid}_failures.csv", "text/csv; charset=utf-8")
        return attachment(to_xlsx_bytes(cols, rows, "failures"), f"{sid}_failures.xlsx",
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    @app.post("/submissions/{sid}/acknowledge")
    async def acknowledge_post(request: Request, sid: str):
        u = require_user(request, "reviewer")
        form = await request.form()
        check_csrf(request, u, form)
        rules = [str(r) for r in form.getlist("rules")]
        await run_in_threadpool(portal.acknowledge, u, sid, rules, str(form.get("reason") or ""), client_ip(request))
        return RedirectResponse(f"/submissions/{sid}?msg=acknowledged", status_code=303)

    @app.post("/submissions/{sid}/decision")
    async def decision_post(request: Request, sid: str):
        u = require_user(request, "reviewer")
        form = await request.form()
        check_csrf(request, u, form)
        out = await run_in_threadpool(portal.decide, u, sid, str(form.get("decision") or ""),
                                      str(form.get("comment") or ""), client_ip(request))
        msg = "publish_failed" if out["publish_error"] else out["status"]
        return RedirectResponse(f"/submissions/{sid}?msg={msg}", status_code=303)

    @app.post("/submissions/{sid}/reprocess")
    async def reprocess_post(request: Request, sid: str):
        u = require_user(request, "reviewer")
        form = await request.form()
        check_csrf(request, u, form)
        out = await run_in_threadpool(portal.reprocess, u, sid, client_ip(request))
        return RedirectResponse(f"/submissions/{sid}?msg=reprocessed&pub={out['publish']}", status_code=303)

    @app.post("/submissions/{sid}/withdraw")
    async def withdraw_post(request: Request, sid: str):
        u = require_user(request, "reviewer")
        form = await request.form()
        check_csrf(request, u, form)
        out = await run_in_threadpool(portal.withdraw, u, sid, str(form.get("reason") or ""), client_ip(request))
        return RedirectResponse(f"/submissions/{sid}?msg=withdrawn&pub={out['publish']}", status_code=303)

    @app.get("/review", response_class=HTMLResponse)
    def review_page(request: Request):
        u = require_user(request, "reviewer", "admin")
        rows = [r for r in portal.submissions_for(u) if r["status"] in ("awaiting_review", "validated")]
        for r in rows:
            r["pending"] = portal.pending_warnings(r["submission_id"])
        return render(request, "review.html", user=u, rows=rows)

    # pages: downloads, audit, admin -----------------------------------------------------------------------
    @app.get("/downloads", response_class=HTMLResponse)
    def downloads_page(request: Request):
        u = require_user(request)
        return render(request, "downloads.html", user=u, published=settings.duckdb_path.exists())

    @app.get("/downloads/indicators.{fmt}")
    def indicators_export(request: Request, fmt: str):
        u = require_user(request)
        if fmt not in ("csv", "xlsx"):
            raise Denied("err_not_found", status=404)
        country = request.query_params.get("country") or None
        df = portal.published_indicators(u, country, limit=200000 if fmt == "csv" else 100000)
        if df is None:
            raise Denied("err_no_warehouse", status=404)
        cols, rows = frame_rows(df)
        db.audit("download_published", actor=u.username, role=u.role, ip=client_ip(request), format=fmt,
                 country_iso3=(u.country_iso3 if u.role == "office" else (country or "")[:3] or None), rows=len(rows))
        name = f"indicators_{(u.country_iso3 if u.role == 'office' else country) or 'all'}.{fmt}"
        if fmt == "csv":
            return attachment(to_csv_bytes(cols, rows), name, "text/csv; charset=utf-8")
        return attachment(to_xlsx_bytes(cols, rows, "indicators"), name,
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    @app.get("/audit", response_class=HTMLResponse)
    def audit_page(request: Request):
        u = require_user(request, "reviewer", "admin")
        filters = {}
        sid = request.query_params.get("submission_id")
        if sid:
            filters["submission_id"] = sid[:80]
        return render(request, "audit.html", user=u, events=db.audit_events(500, **filters))

    @app.get("/admin/users", response_class=HTMLResponse)
    def users_page(request: Request):
        u = require_user(request, "admin")
        return render(request, "users.html", user=u, users=auth.list_users(db), roles=ROLES,
                      tokens=auth.list_tokens(db), error=None)

    @app.post("/admin/users")
    async def users_post(request: Request):
        u = require_user(request, "admin")
        form = await request.form()
        check_csrf(request, u, form)
        action = str(form.get("action") or "create")
        try:
            if action == "create":
                new = auth.create_user(db, str(form.get("username") or ""), str(form.get("password") or ""),
                                       str(form.get("role") or ""), country_iso3=str(form.get("country_iso3") or ""),
                                       lang=str(form.get("lang") or "") or None)
                db.audit("user_create", actor=u.username, role=u.role, ip=client_ip(request), user=new.username,
                         user_role=new.role, country_iso3=new.country_iso3)
            else:
                uid = int(form.get("user_id") or 0)
                changes = {}
                if action == "deactivate":
                    changes["active"] = False
                elif action == "activate":
                    changes["active"] = True
                elif action == "password":
                    changes["password"] = str(form.get("password") or "")
                elif action == "role":
                    changes["role"] = str(form.get("role") or "")
                    changes["country_iso3"] = str(form.get("country_iso3") or "")
                else:
                    raise Denied("err_bad_decision", status=400)
                upd = auth.update_user(db, uid, **changes)
                db.audit("user_update", actor=u.username, role=u.role, ip=client_ip(request), user=upd.username,
                         change=action, user_role=upd.role, country_iso3=upd.country_iso3)
        except auth.AuthError as exc:
            return render(request, "users.html", status=400, user=u, users=auth.list_users(db), roles=ROLES,
                          tokens=auth.list_tokens(db), error=tr(request, u)(exc.key, **exc.params))
        return RedirectResponse("/admin/users", status_code=303)

    # JSON API (bearer tokens; no cookies, so no CSRF) -----------------------------------------------------------
    def _api_submission(info: dict, lang: str) -> dict:
        man, st, rep = info["manifest"], info["status"], info["report"]
        rel, t = _release(info), Translator(catalogues, lang)
        return {"submission_id": man["submission_id"], "source_id": man["source_id"],
                "country_iso3": man["country_iso3"], "sha256": man["sha256"], "size_bytes": man["size_bytes"],
                "original_name": man["original_name"], "received_at": man["received_at"],
                "uploaded_by": man["uploaded_by"], "status": st.get("status"),
                "verdict": (rep or {}).get("verdict"),
                "released_on": man.get("released_on"), "release_date": rel["date"], "release_date_from": rel["from"],
                "release_date_text": _release_text(t, rel),
                "withdrawn": ({**st["withdrawn"], "text": t("withdrawn_reason", reason=st["withdrawn"].get("reason"))}
                              if st.get("status") == "withdrawn" and st.get("withdrawn") else None),
                "failures": [dict(zip(FAILURE_COLUMNS, r)) for r in _failures(rep, lang)[1]][:500],
                "report_url": f"/api/submissions/{man['submission_id']}/report",
                "events": st.get("events", [])}

    @app.post("/api/submissions")
    async def api_upload(request: Request):
        u = api_user(request)
        form, f, src = await _read_upload(request)
        if f is None:
            raise UploadRefused("err_no_file")
        res = await run_in_threadpool(portal.upload, u, f.file, f.filename, src, client_ip(request),
                                      _released_on(form))
        info = portal.submission(u, res.submission_id)
        body = _api_submission(info, lang_of(request, u))
        body.update(created=res.created, error=res.error)
        return JSONResponse(body, status_code=201 if res.created else 200)

    @app.get("/api/submissions")
    def api_list(request: Request):
        u = api_user(request)
        keep = ("submission_id", "source_id", "country_iso3", "sha256", "size_bytes", "original_name",
                "received_at", "uploaded_by", "status", "status_detail")
        return {"submissions": [{k: r.get(k) for k in keep} for r in portal.submissions_for(u)]}

    @app.get("/api/submissions/{sid}")
    def api_get(request: Request, sid: str):
        u = api_user(request)
        return _api_submission(portal.submission(u, sid), lang_of(request, u))

    @app.get("/api/submissions/{sid}/report")
    def api_report(request: Request, sid: str):
        u = api_user(request)
        info = portal.submission(u, sid)
        if not info["report"]:
            raise Denied("err_no_report", status=404)
        db.audit("download_report", actor=u.username, role=u.role, submission_id=sid, ip=client_ip(request),
                 format="json")
        return info["report"]

    @app.get("/api/submissions/{sid}/original")
    def api_original(request: Request, sid: str):
        u = api_user(request)
        return _send_original(request, u, sid)

    @app.post("/api/submissions/{sid}/acknowledge")
    async def api_ack(request: Request, sid: str):
        u = api_user(request, "reviewer")
        body = await request.json()
        st = await run_in_threadpool(portal.acknowledge, u, sid, list(body.get("rules") or []),
                                     str(body.get("reason") or ""), client_ip(request))
        return {"submission_id": sid, "status": st["status"]}

    @app.post("/api/submissions/{sid}/decision")
    async def api_decision(request: Request, sid: str):
        u = api_user(request, "reviewer")
        body = await request.json()
        out = await run_in_threadpool(portal.decide, u, sid, str(body.get("decision") or ""),
                                      str(body.get("comment") or ""), client_ip(request))
        return {"submission_id": sid, **out}

    async def _json_body(request: Request) -> dict:
        try:
            body = await request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    @app.post("/api/submissions/{sid}/reprocess")
    async def api_reprocess(request: Request, sid: str):
        u = api_user(request, "reviewer")
        out = await run_in_threadpool(portal.reprocess, u, sid, client_ip(request))
        return {"submission_id": sid, **out, "publish_message": _publish_text(tr(request, u), out)}

    @app.post("/api/submissions/{sid}/withdraw")
    async def api_withdraw(request: Request, sid: str):
        u = api_user(request, "reviewer")
        body = await _json_body(request)
        out = await run_in_threadpool(portal.withdraw, u, sid, str(body.get("reason") or ""), client_ip(request))
        t = tr(request, u)
        return {"submission_id": sid, **out, "status_text": t("withdrawn_reason", reason=out["reason"]),
                "publish_message": _publish_text(t, out)}

    @app.get("/healthz", include_in_schema=False)
    def healthz():
        return {"ok": True, "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}

    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, limit=cfg.max_upload_bytes + (1 << 20), render=render_413)  # outermost
    return app


def app_from_env():
    """For ``uvicorn --factory pipelines.service.app:app_from_env``."""
    from pipelines.settings import get_settings

    return create_app(get_settings())
