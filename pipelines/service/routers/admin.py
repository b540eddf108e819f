"""Administration: the audit log (reviewers and admins) and user management (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from pipelines.service import auth
from pipelines.service.db import ROLES
from pipelines.service.deps import Admin, CsrfForm, Supervisor, WebDep
from pipelines.service.portal import Denied
from pipelines.service.schemas import UserAdminForm
from pipelines.service.web import client_ip

router = APIRouter(tags=["admin"])


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, web: WebDep, u: Supervisor):
    filters = {}
    sid = request.query_params.get("submission_id")
    if sid:
        filters["submission_id"] = sid[:80]
    return web.render(request, "audit.html", user=u, events=web.db.audit_events(500, **filters))


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, web: WebDep, u: Admin):
    return web.render(request, "users.html", user=u, users=auth.list_users(web.db), roles=ROLES,
                      tokens=auth.list_tokens(web.db), error=None)


@router.post("/admin/users")
async def users_post(request: Request, web: WebDep, u: Admin, form: CsrfForm,
                     body: Annotated[UserAdminForm, Form()]):
    db = web.db
    action = body.action or "create"
    try:
        if action == "create":
            new = auth.create_user(db, body.username, body.password, body.role, country_iso3=body.country_iso3,
                                   lang=body.lang or None)
            db.audit("user_create", actor=u.username, role=u.role, ip=client_ip(request), user=new.username,
                     user_role=new.role, country_iso3=new.country_iso3)
        else:
            changes = {}
            if action == "deactivate":
                changes["active"] = False
            elif action == "activate":
                changes["active"] = True
            elif action == "password":
                changes["password"] = body.password
            elif action == "role":
                changes["role"] = body.role
                changes["country_iso3"] = body.country_iso3
            else:
                raise Denied("err_bad_decision", status=400)
            upd = auth.update_user(db, body.user_id, **changes, actor=u.username, actor_role=u.role,
                                   ip=client_ip(request))
            db.audit("user_update", actor=u.username, role=u.role, ip=client_ip(request), user=upd.username,
                     change=action, user_role=upd.role, country_iso3=upd.country_iso3)
    except auth.AuthError as exc:
        return web.render(request, "users.html", status=400, user=u, users=auth.list_users(db), roles=ROLES,
                          tokens=auth.list_tokens(db), error=web.tr(request, u)(exc.key, **exc.params))
    return RedirectResponse("/admin/users", status_code=303)
