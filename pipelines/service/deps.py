"""FastAPI dependencies of the portal's routes.

* ``WebDep``, ``PortalDep``, ``DbDep`` – the app's shared objects (``pipelines/service/web.py``).
* pages (session cookie): ``OptionalUser``; ``SignedIn`` (else a redirect to the sign-in page); the roles
  ``Uploader`` (office, reviewer, admin), ``Reviewer``, ``Supervisor`` (reviewer, admin), ``Admin``
  (else 403 ``err_forbidden``).
* forms: ``CsrfForm`` (the form of a signed-in user, its CSRF token checked), ``LoginForm`` (bound to the
  pre-session cookie), ``UploadForm`` (one file, at most 20 fields, CSRF checked).
* JSON API (bearer tokens, no cookies, so no CSRF): ``ApiUser`` (else 401 ``err_token``), ``ApiReviewer``.

Dependencies run in the order of the route's parameters, so a route that asks for a role and a form checks
the role first (403) and the CSRF token second, as before.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData, UploadFile

from pipelines.service import auth
from pipelines.service.db import Database
from pipelines.service.portal import Denied, Portal
from pipelines.service.web import LoginRequired, Web, client_ip


def get_web(request: Request) -> Web:
    return request.app.state.web


WebDep = Annotated[Web, Depends(get_web)]


def get_portal(web: WebDep) -> Portal:
    return web.portal


def get_db(web: WebDep) -> Database:
    return web.db


PortalDep = Annotated[Portal, Depends(get_portal)]
DbDep = Annotated[Database, Depends(get_db)]


# session users and roles --------------------------------------------------------------------------------------
def optional_user(request: Request, web: WebDep) -> auth.Principal | None:
    return web.current_user(request)


OptionalUser = Annotated[auth.Principal | None, Depends(optional_user)]


def signed_in(user: OptionalUser) -> auth.Principal:
    if user is None:
        raise LoginRequired()
    return user


SignedIn = Annotated[auth.Principal, Depends(signed_in)]


def _role_guard(principal, prefix: str, roles: tuple[str, ...]):
    """A dependency: the user ``principal`` gives (a session or an API token), if their role is one of
    ``roles`` (403 otherwise)."""

    def dependency(user: principal) -> auth.Principal:
        if user.role not in roles:
            raise Denied("err_forbidden")
        return user

    dependency.__name__ = prefix + "_".join(roles)
    # the module's annotations are strings (postponed evaluation): give FastAPI the real dependency type
    dependency.__annotations__ = {"user": principal, "return": auth.Principal}
    return dependency


def require_roles(*roles: str):
    """A dependency: the signed-in user, if their role is one of ``roles`` (403 otherwise)."""
    return _role_guard(SignedIn, "role_", roles)


Uploader = Annotated[auth.Principal, Depends(require_roles("office", "reviewer", "admin"))]
Reviewer = Annotated[auth.Principal, Depends(require_roles("reviewer"))]
Supervisor = Annotated[auth.Principal, Depends(require_roles("reviewer", "admin"))]
Admin = Annotated[auth.Principal, Depends(require_roles("admin"))]


# forms with their CSRF token ----------------------------------------------------------------------------------
async def csrf_form(request: Request, web: WebDep, user: SignedIn) -> FormData:
    form = await request.form()
    web.check_csrf(request, user, form)
    return form


async def login_form(request: Request, web: WebDep) -> FormData:
    form = await request.form()
    web.check_csrf(request, None, form)
    return form


async def upload_form(request: Request, web: WebDep, user: SignedIn) -> FormData:
    form = await request.form(max_files=1, max_fields=20)
    web.check_csrf(request, user, form)
    return form


CsrfForm = Annotated[FormData, Depends(csrf_form)]
LoginForm = Annotated[FormData, Depends(login_form)]
UploadForm = Annotated[FormData, Depends(upload_form)]


def form_file(form: FormData) -> UploadFile | None:
    f = form.get("file")
    return f if isinstance(f, UploadFile) else None


def form_source(form: FormData) -> str | None:
    src = form.get("source")
    return str(src) if src else None


def form_released_on(form: FormData) -> str:
    v = form.get("released_on")
    return v.strip() if isinstance(v, str) else ""


# API tokens ---------------------------------------------------------------------------------------------------
def api_user(request: Request, web: WebDep) -> auth.Principal:
    h = request.headers.get("authorization", "")
    token = h[7:].strip() if h[:7].lower() == "bearer " else None
    u = auth.token_user(web.db, token)
    if u is None:
        if token:
            web.db.audit("token_refused", ip=client_ip(request), path=request.url.path, token_prefix=token[:10])
        raise Denied("err_token", status=401)
    return u


ApiUser = Annotated[auth.Principal, Depends(api_user)]


def api_roles(*roles: str):
    """A dependency: the API token's user, if their role is one of ``roles`` (403 otherwise)."""
    return _role_guard(ApiUser, "api_role_", roles)


ApiReviewer = Annotated[auth.Principal, Depends(api_roles("reviewer"))]


async def api_upload_form(request: Request, user: ApiUser) -> FormData:
    """The multipart body of an API upload (one file, at most 20 fields); read after the token is checked."""
    return await request.form(max_files=1, max_fields=20)


ApiUploadForm = Annotated[FormData, Depends(api_upload_form)]
