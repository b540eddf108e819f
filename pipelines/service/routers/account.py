"""Sign-in, sign-out, the account page (language) and API tokens."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from pipelines.i18n import LANG_COOKIE, LANGUAGES as LANGS
from pipelines.service import auth
from pipelines.service.deps import CsrfForm, DbDep, LoginForm, OptionalUser, SignedIn, WebDep
from pipelines.service.portal import Denied
from pipelines.service.schemas import MAX_ID, AccountForm, TokenForm
from pipelines.service.web import PRE_COOKIE, SESSION_COOKIE, client_ip, safe_next

router = APIRouter(tags=["account"])


@router.get("/", include_in_schema=False)
def home(user: OptionalUser):
    return RedirectResponse("/submissions" if user else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, web: WebDep):
    if not request.cookies.get(PRE_COOKIE):
        request.state.pre = secrets.token_urlsafe(24)
    return web.render(request, "login.html", user=None, next=safe_next(request.query_params.get("next")))


@router.post("/login")
async def login_post(request: Request, web: WebDep, form: LoginForm):
    cfg, db = web.cfg, web.db
    username = str(form.get("username") or "")[:64]
    password = str(form.get("password") or "")[:1024]
    nxt = safe_next(str(form.get("next") or ""))
    ip = client_ip(request)
    if auth.login_blocked(db, username, ip, cfg.login_max_failures, cfg.login_window_minutes):
        db.audit("sign_in_blocked", actor=username, ip=ip)
        return web.render(request, "login.html", status=429, user=None, next=nxt,
                          error=web.tr(request)("err_rate_limited", minutes=cfg.login_window_minutes))
    u = await run_in_threadpool(auth.authenticate, db, username, password, ip)
    if u is None:
        db.audit("sign_in_failed", actor=username, ip=ip)
        return web.render(request, "login.html", status=401, user=None, next=nxt, error=web.tr(request)("err_login"))
    token = auth.start_session(db, u.id, cfg.session_hours)
    db.audit("sign_in", actor=u.username, role=u.role, ip=ip)
    resp = RedirectResponse(nxt, status_code=303)
    web.set_cookie(resp, SESSION_COOKIE, token, max_age=int(cfg.session_hours * 3600))
    return resp


@router.post("/logout")
async def logout(request: Request, web: WebDep, u: SignedIn, form: CsrfForm):
    auth.end_session(web.db, u.session_token)
    web.db.audit("sign_out", actor=u.username, role=u.role, ip=client_ip(request))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/", secure=web.cfg.cookie_secure, httponly=True)
    return resp


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, web: WebDep, u: SignedIn):
    return web.render(request, "account.html", user=u, tokens=auth.list_tokens(web.db, u.id), new_token=None)


@router.post("/account")
async def account_post(request: Request, db: DbDep, u: SignedIn, form: CsrfForm,
                       body: Annotated[AccountForm, Form()]):
    lang = body.lang
    auth.update_user(db, u.id, lang=lang if lang in LANGS else "")
    db.audit("account_update", actor=u.username, role=u.role, ip=client_ip(request), lang=lang)
    resp = RedirectResponse("/account", status_code=303)
    resp.delete_cookie(LANG_COOKIE, path="/")
    return resp


@router.post("/account/tokens")
async def token_create(request: Request, web: WebDep, u: SignedIn, form: CsrfForm,
                       body: Annotated[TokenForm, Form()]):
    tid, token = auth.create_token(web.db, u.id, body.name or "token")
    web.db.audit("token_create", actor=u.username, role=u.role, ip=client_ip(request), token_id=tid,
                 token_prefix=token[:10])
    return web.render(request, "account.html", user=u, tokens=auth.list_tokens(web.db, u.id), new_token=token)


@router.post("/account/tokens/{token_id}/revoke")
async def token_revoke(request: Request, db: DbDep, token_id: Annotated[int, Path(ge=1, le=MAX_ID)], u: SignedIn,
                       form: CsrfForm):
    owner = None if u.role == "admin" else u.id
    if not auth.revoke_token(db, token_id, owner_id=owner):
        raise Denied("err_not_found", status=404)
    db.audit("token_revoke", actor=u.username, role=u.role, ip=client_ip(request), token_id=token_id)
    return RedirectResponse("/admin/users" if owner is None and request.query_params.get("admin") else "/account",
                            status_code=303)
