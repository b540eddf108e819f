"""The Inter-American Network for the Prevention of Violence and Crime in the portal (issue 17): applying and the
technical secretariat's decisions, roles, the public directory, points of common interest, topic spaces (threads,
replies, mentions, attachments, moderation), the digest, Atom feeds of public spaces, forums (agenda, registration,
attendance, minutes, outcomes, ``.ics``), proposals to the practices and catalogue reviews, and a JSON API.

Same session, CSRF and upload protections as the rest of the portal; a space someone may not read answers 404
on every path (page, attachment, feed, API), as a missing one does. Rules: ``pipelines/network/rules.py``;
database work: ``pipelines/service/network_store.py``.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path as FsPath

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from pipelines import yamlio
from pipelines.harmonise import reference as ref
from pipelines.network import attachments as att
from pipelines.network import calendar as ics
from pipelines.network import feeds, rules
from pipelines.network.rules import NetworkError
from pipelines.service import auth
from pipelines.service import network_store as store
from pipelines.service.deps import ApiUser, OptionalUser, SignedIn, WebDep
from pipelines.service.portal import Denied
from pipelines.service.schemas import MAX_ID
from pipelines.service.web import PRE_COOKIE, SESSION_COOKIE, attachment, client_ip

router = APIRouter(tags=["network"])
def Id():
    """A row id in a path (a fresh parameter object per route)."""
    return Path(ge=0, le=MAX_ID)
MAX_FILES = 3
MAX_APPLICATIONS_PER_HOUR = 5     # new accounts made by the apply form, per address


def _row_id(value) -> int:
    """A row id from a form field: a whole number the id columns hold, else 404 (never a 500 from the database)."""
    v = str(value or "").strip()
    if not v.isdigit() or int(v) > MAX_ID:
        raise NetworkError("network.err.not_found", status=404)
    return int(v)


def _denied(exc: NetworkError) -> Denied:
    return Denied(exc.key, status=exc.status, **exc.params)


def _folder(web) -> FsPath:
    return web.settings.data_dir / "portal" / "network" / "attachments"


def _max_bytes(web) -> int:
    return min(att.DEFAULT_MAX_BYTES, web.cfg.max_upload_bytes)


def _vocab(web) -> dict:
    v = dict(rules.vocabularies(web.settings.reference_dir))
    from pipelines.network import warehouse

    v["lines_of_action"] = sorted(set(v.get("lines_of_action") or []) | warehouse.lines_of_action(web.settings.duckdb_path))
    return v


def _iccs(web, lang: str) -> list[tuple[str, str]]:
    df = ref.iccs(web.settings.reference_dir)
    col = f"label_{lang}" if f"label_{lang}" in df.columns else "label_en"
    df = df[df["level"] <= 2]
    return [(str(c), str(lbl)) for c, lbl in zip(df["code"], df[col])]


def _countries(web, lang: str) -> list[tuple[str, str]]:
    df = ref.countries(web.settings.reference_dir)
    col = f"name_{lang}" if f"name_{lang}" in df.columns else "name_en"
    return sorted(zip(df["iso3"], df[col]), key=lambda x: x[1])


def _hooks(web) -> dict:
    p = web.settings.reference_dir / "network" / "hooks.yaml"
    return yamlio.load(p.read_text("utf-8")) if p.exists() else {}


async def _form(request: Request, web, user, *, files: bool = False):
    """The form with its CSRF token checked (bound to the session, or before sign-in to the pre-session cookie)."""
    form = await (request.form(max_files=MAX_FILES, max_fields=80) if files else request.form(max_files=0, max_fields=200))
    web.check_csrf(request, user, form)
    return form


async def _files(form) -> list[tuple[str, bytes]]:
    out = []
    for f in form.getlist("files"):
        if isinstance(f, UploadFile) and f.filename:
            out.append((f.filename, await f.read()))
    return out


def _render(request, web, name, user, v, **ctx):
    return web.render(request, f"network_{name}.html", user=user, v=v, **ctx)


def _go(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _route_paths(routes) -> set[str]:
    """Every path the application answers, routers included through ``include_router`` too (FastAPI keeps them
    as nested routers, whose routes are not in ``app.routes`` themselves)."""
    out: set[str] = set()
    for r in routes:
        if getattr(r, "path", ""):
            out.add(r.path)
        inner = getattr(getattr(r, "original_router", None), "routes", None) or getattr(r, "routes", None)
        if inner and inner is not routes:
            out |= _route_paths(inner)
    return out


# home, application, directory ---------------------------------------------------------------------------------------------
@router.get("/network", response_class=HTMLResponse)
def home(request: Request, web: WebDep, user: OptionalUser):
    v = store.viewer(web.db, user)
    survey = _hooks(web).get("demand_survey_path")
    has_survey = bool(survey) and survey in _route_paths(request.app.routes)
    focal = sorted(v.focal_countries)
    return _render(request, web, "home", user, v, spaces=store.spaces_for(web.db, v), events=store.events(web.db),
                   member=store.member_of(web.db, user.id) if user else None,
                   survey=survey if has_survey and any(rules.can_answer_demand_survey(v, c) for c in focal) else None,
                   focal=focal)


def _apply_page(request, web, user, v, status=200, error=None, values=None):
    t = web.tr(request, user)
    if user is None and not request.cookies.get(PRE_COOKIE):
        request.state.pre = secrets.token_urlsafe(24)
    return _render(request, web, "apply", user, v, status=status, error=error, values=values or {},
                   vocab=_vocab(web), iccs=_iccs(web, t.lang), countries=_countries(web, t.lang),
                   fields=rules.VISIBLE_FIELDS, post_langs=rules.POST_LANGS)


@router.get("/network/apply", response_class=HTMLResponse)
def apply_page(request: Request, web: WebDep, user: OptionalUser):
    return _apply_page(request, web, user, store.viewer(web.db, user))


@router.post("/network/apply")
async def apply_post(request: Request, web: WebDep, user: OptionalUser):
    form = await _form(request, web, user)
    v = store.viewer(web.db, user)
    raw = {k: form.get(k) for k in ("display_name", "organisation", "sector", "country_iso3", "statement")}
    for k in ("iccs", "prevention", "lines", "pillars", "seeks", "offers", "languages", "visible"):
        raw[k] = form.getlist(k)
    t = web.tr(request, user)
    try:
        members = auth.member_states()
        iccs_codes = set(ref.iccs(web.settings.reference_dir)["code"].astype(str))
        app = rules.check_application(raw, member_states=members, iccs_codes=iccs_codes, vocab=_vocab(web),
                                      lines_of_action=set(_vocab(web)["lines_of_action"]))
        new_session = None
        if user is None:                      # a new person: a portal account with no data-office right
            if store.applications_from(web.db, client_ip(request)) >= MAX_APPLICATIONS_PER_HOUR:
                raise NetworkError("network.err.rate_limited", status=429)
            username = str(form.get("username") or "")[:64]
            p = auth.create_user(web.db, username, str(form.get("password") or "")[:1024], "network",
                                 country_iso3=app.country_iso3, lang=t.lang)
            web.db.audit("user_create", actor=p.username, role="network", ip=client_ip(request), user=p.username,
                         user_role="network", via="network_apply")
            user_id, actor = p.id, rules.Viewer(p.id, p.username, "network")
            new_session = auth.start_session(web.db, p.id, web.cfg.session_hours)
        else:
            user_id, actor = user.id, v
        store.apply(web.db, user_id, app, actor=actor, ip=client_ip(request))
    except NetworkError as exc:
        return _apply_page(request, web, user, v, exc.status, t(exc.key, **exc.params), raw)
    except auth.AuthError as exc:
        return _apply_page(request, web, user, v, 400, t(exc.key, **exc.params), raw)
    resp = _go("/network?applied=1")
    if new_session:
        web.set_cookie(resp, SESSION_COOKIE, new_session, max_age=int(web.cfg.session_hours * 3600))
    return resp


@router.get("/network/directory", response_class=HTMLResponse)
def directory(request: Request, web: WebDep, user: OptionalUser):
    return _render(request, web, "directory", user, store.viewer(web.db, user), orgs=store.directory(web.db))


# the technical secretariat ----------------------------------------------------------------------------------------------
@router.get("/network/secretariat", response_class=HTMLResponse)
def secretariat(request: Request, web: WebDep, user: SignedIn):
    v = store.viewer(web.db, user)
    if not v.secretariat:
        raise Denied("network.err.forbidden")
    return _render(request, web, "secretariat", user, v, members=store.members(web.db),
                   spaces=store.spaces_for(web.db, v), reports=store.open_reports(web.db, v),
                   proposals=store.proposals(web.db, v), roles=rules.NETWORK_ROLES, kinds=rules.SPACE_KINDS)


@router.post("/network/secretariat")
async def secretariat_post(request: Request, web: WebDep, user: SignedIn):
    form = await _form(request, web, user)
    v = store.viewer(web.db, user)
    ip = client_ip(request)
    action = str(form.get("action") or "")
    try:
        if action == "decide":
            store.decide(web.db, _row_id(form.get("member_id")), str(form.get("decision") or ""),
                         str(form.get("note") or ""), actor=v, ip=ip)
        elif action in ("grant", "revoke"):
            u = auth.get_user(web.db, str(form.get("username") or "")[:64])
            if u is None:
                raise NetworkError("network.err.not_found", status=404)
            store.grant(web.db, u.id, str(form.get("role") or ""), actor=v, country_iso3=str(form.get("country_iso3") or ""),
                        revoke=action == "revoke", ip=ip)
        elif action == "space":
            store.create_space(web.db, str(form.get("slug") or ""), str(form.get("title") or ""),
                               str(form.get("kind") or ""), str(form.get("description") or ""), actor=v, ip=ip)
        elif action == "group":
            store.add_to_group(web.db, str(form.get("slug") or ""), str(form.get("username") or "")[:64], actor=v, ip=ip)
        elif action == "proposal":
            store.decide_proposal(web.db, _row_id(form.get("proposal_id")), str(form.get("status") or ""), v, ip=ip)
        else:
            raise NetworkError("network.err.decision")
    except (ValueError, TypeError) as exc:
        if isinstance(exc, NetworkError):
            raise _denied(exc)
        raise Denied("network.err.decision", status=400)
    return _go("/network/secretariat?done=" + action)


# points of common interest -------------------------------------------------------------------------------------------------
@router.get("/network/suggestions", response_class=HTMLResponse)
def suggestions(request: Request, web: WebDep, user: SignedIn):
    v = store.viewer(web.db, user)
    t = web.tr(request, user)
    try:
        sug = store.suggestions_for(web.db, web.settings, v, t.lang)
    except NetworkError as exc:
        raise _denied(exc)
    from pipelines.network.scoring import load_weights

    _link_practices(request, web, sug)
    return _render(request, web, "suggestions", user, v, sug=sug, weights=load_weights(web.settings.reference_dir))


def _link_practices(request: Request, web, sug: dict) -> None:
    """A suggested practice links to the practices work's page of it, when the portal has that route (hooks.yaml)."""
    from urllib.parse import quote

    h = _hooks(web)
    if h.get("practice_route") and any(getattr(r, "path", "") == h["practice_route"] for r in request.app.routes):
        for s in sug.get("practice", []):
            s.link = h["practice_link"].format(id=quote(s.ref, safe=""))


# spaces and threads -----------------------------------------------------------------------------------------------------------
def _space(web, request, slug, v):
    try:
        return store.readable_space(web.db, slug, v, audit_ip=client_ip(request))
    except NetworkError as exc:
        raise _denied(exc)


@router.get("/network/spaces/{slug}", response_class=HTMLResponse)
def space_page(request: Request, web: WebDep, user: OptionalUser, slug: str):
    v = store.viewer(web.db, user)
    sp = _space(web, request, slug, v)
    return _render(request, web, "space", user, v, space=sp, threads=store.threads(web.db, sp.id),
                   can_post=rules.can_post(sp.kind, sp.id, v), post_langs=rules.POST_LANGS)


@router.post("/network/spaces/{slug}/threads")
async def thread_new(request: Request, web: WebDep, user: SignedIn, slug: str):
    v = store.viewer(web.db, user)
    sp = _space(web, request, slug, v)
    form = await _form(request, web, user, files=True)
    try:
        tid = store.new_thread(web.db, sp, str(form.get("title") or ""), str(form.get("body") or ""),
                               str(form.get("lang") or ""), v, files=await _files(form), folder=_folder(web),
                               max_bytes=_max_bytes(web), ip=client_ip(request))
    except NetworkError as exc:
        raise _denied(exc)
    return _go(f"/network/threads/{tid}")


def _thread(web, request, thread_id, v):
    try:
        return store.readable_thread(web.db, thread_id, v, audit_ip=client_ip(request))
    except NetworkError as exc:
        raise _denied(exc)


@router.get("/network/threads/{thread_id}", response_class=HTMLResponse)
def thread_page(request: Request, web: WebDep, user: OptionalUser, thread_id: int = Id()):
    v = store.viewer(web.db, user)
    t, sp = _thread(web, request, thread_id, v)
    return _render(request, web, "thread", user, v, thread=t, space=sp, posts=store.posts(web.db, t.id),
                   can_post=rules.can_post(sp.kind, sp.id, v, locked=t.locked),
                   can_moderate=rules.can_moderate(sp.kind, sp.id, v), post_langs=rules.POST_LANGS,
                   kinds=rules.PROPOSAL_KINDS)


@router.post("/network/threads/{thread_id}/reply")
async def thread_reply(request: Request, web: WebDep, user: SignedIn, thread_id: int = Id()):
    v = store.viewer(web.db, user)
    _thread(web, request, thread_id, v)
    form = await _form(request, web, user, files=True)
    try:
        pid = store.reply(web.db, thread_id, str(form.get("body") or ""), str(form.get("lang") or ""), v,
                          files=await _files(form), folder=_folder(web), max_bytes=_max_bytes(web),
                          ip=client_ip(request))
    except NetworkError as exc:
        raise _denied(exc)
    return _go(f"/network/threads/{thread_id}#post-{pid}")


@router.post("/network/threads/{thread_id}/lock")
async def thread_lock(request: Request, web: WebDep, user: SignedIn, thread_id: int = Id()):
    v = store.viewer(web.db, user)
    _thread(web, request, thread_id, v)
    form = await _form(request, web, user)
    try:
        store.lock(web.db, thread_id, form.get("locked") == "1", v, ip=client_ip(request))
    except NetworkError as exc:
        raise _denied(exc)
    return _go(f"/network/threads/{thread_id}")


@router.post("/network/threads/{thread_id}/propose")
async def thread_propose(request: Request, web: WebDep, user: SignedIn, thread_id: int = Id()):
    v = store.viewer(web.db, user)
    _thread(web, request, thread_id, v)
    form = await _form(request, web, user)
    try:
        store.propose(web.db, str(form.get("kind") or ""), "thread", thread_id, str(form.get("title") or ""),
                      str(form.get("summary") or ""), v, ip=client_ip(request))
    except NetworkError as exc:
        raise _denied(exc)
    return _go("/network/proposals")


@router.post("/network/posts/{post_id}/{what}")
async def post_moderate(request: Request, web: WebDep, user: SignedIn, what: str, post_id: int = Id()):
    v = store.viewer(web.db, user)
    form = await _form(request, web, user)
    try:
        if what == "hide":
            tid = store.hide(web.db, post_id, str(form.get("reason") or ""), v, ip=client_ip(request))
        elif what == "report":
            tid = store.report(web.db, post_id, str(form.get("reason") or ""), v, ip=client_ip(request))
        else:
            raise NetworkError("network.err.not_found", status=404)
    except NetworkError as exc:
        raise _denied(exc)
    return _go(f"/network/threads/{tid}#post-{post_id}")


@router.get("/network/attachments/{attachment_id}")
def attachment_get(request: Request, web: WebDep, user: OptionalUser, attachment_id: int = Id()):
    v = store.viewer(web.db, user)
    try:
        a = store.attachment(web.db, attachment_id, v, ip=client_ip(request))
        path = att.stored_path(_folder(web), a.sha256)
    except NetworkError as exc:
        raise _denied(exc)
    if not path.exists():
        raise Denied("network.err.not_found", status=404)
    return attachment(path.read_bytes(), a.file_name, a.media_type)


@router.get("/network/spaces/{slug}/feed.atom")
def space_feed(request: Request, web: WebDep, user: OptionalUser, slug: str):
    """Atom feed of a public space; any other space answers 404 (feeds are read without a session)."""
    v = store.viewer(web.db, None)        # a feed reader is anonymous, whoever asks
    sp = _space(web, request, slug, v)
    if sp.kind != "public":
        raise Denied("network.err.not_found", status=404)
    base = str(request.base_url).rstrip("/")
    entries = [feeds.Entry(id=f"{base}/network/threads/{r['thread'].id}#post-{r['post'].id}", title=r["thread"].title,
                           link=f"{base}/network/threads/{r['thread'].id}#post-{r['post'].id}",
                           updated=r["post"].created_at, author=r["author"], content=r["post"].body, lang=r["post"].lang)
               for r in store.public_feed_posts(web.db, sp)]
    body = feeds.atom_bytes(feed_id=f"{base}/network/spaces/{sp.slug}", title=sp.title,
                            link=f"{base}/network/spaces/{sp.slug}", self_link=f"{base}/network/spaces/{sp.slug}/feed.atom",
                            updated=None, entries=entries)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/network/digest", response_class=HTMLResponse)
def digest(request: Request, web: WebDep, user: SignedIn):
    v = store.viewer(web.db, user)
    since = None
    q = request.query_params.get("since")
    if q:
        try:
            since = datetime.fromisoformat(q[:30])
        except ValueError:
            raise Denied("network.err.datetime", status=400, value=q[:30])
    d = store.digest(web.db, v, since)
    resp = _render(request, web, "digest", user, v, d=d)
    store.mark_digest_read(web.db, v)
    return resp


# events ---------------------------------------------------------------------------------------------------------------
@router.get("/network/events", response_class=HTMLResponse)
def events_page(request: Request, web: WebDep, user: OptionalUser):
    v = store.viewer(web.db, user)
    return _render(request, web, "events", user, v, events=store.events(web.db), kinds=rules.EVENT_KINDS,
                   can_manage=rules.can_manage_events(v))


@router.post("/network/events")
async def events_post(request: Request, web: WebDep, user: SignedIn):
    v = store.viewer(web.db, user)
    form = await _form(request, web, user)
    try:
        e = store.create_event(web.db, {k: form.get(k) for k in ("slug", "title", "kind", "starts_at", "ends_at",
                                                                  "location", "online_url", "capacity", "description",
                                                                  "agenda")}, v, ip=client_ip(request))
    except NetworkError as exc:
        raise _denied(exc)
    return _go(f"/network/events/{e.id}")


def _event(web, event_id):
    try:
        return store.event(web.db, event_id)
    except NetworkError as exc:
        raise _denied(exc)


@router.get("/network/events/{event_id}.ics")
def event_ics(request: Request, web: WebDep, event_id: int = Id()):
    ev = _event(web, event_id)
    e = ev["event"]
    if e.starts_at is None:
        raise Denied("network.err.no_date", status=404)
    base = str(request.base_url).rstrip("/")
    host = request.url.hostname or "hemistat"
    data = ics.ics_bytes(ics.IcsEvent(
        uid=f"network-event-{e.id}@{host}", title=e.title, starts_at=e.starts_at, ends_at=e.ends_at,
        description=e.description, location=e.location or e.online_url, url=f"{base}/network/events/{e.id}",
        status={"cancelled": "CANCELLED"}.get(e.status, "CONFIRMED"),
        sessions=[ics.IcsSession(uid=f"network-session-{s.id}@{host}", title=s.title, starts_at=s.starts_at,
                                 ends_at=s.ends_at, speakers=[x for x in s.speakers.split("\n") if x])
                  for s in ev["sessions"] if s.starts_at is not None]))
    return attachment(data, f"{e.slug}.ics", "text/calendar; charset=utf-8")


@router.get("/network/events/{event_id}", response_class=HTMLResponse)
def event_page(request: Request, web: WebDep, user: OptionalUser, event_id: int = Id()):
    v = store.viewer(web.db, user)
    ev = _event(web, event_id)
    mine = any(r["reg"].user_id == v.user_id for r in ev["registrations"]) if user else False
    return _render(request, web, "event", user, v, ev=ev, mine=mine, can_manage=rules.can_manage_events(v),
                   links=rules.OUTCOME_LINKS, kinds=rules.PROPOSAL_KINDS)


@router.post("/network/events/{event_id}/{what}")
async def event_post(request: Request, web: WebDep, user: SignedIn, what: str, event_id: int = Id()):
    v = store.viewer(web.db, user)
    form = await _form(request, web, user)
    ip = client_ip(request)
    try:
        if what == "register":
            store.register(web.db, event_id, v, cancel=form.get("cancel") == "1", ip=ip)
        elif what == "record":
            attended = [_row_id(x) for x in form.getlist("attended")] if form.get("attendance") else None
            store.record(web.db, event_id, v, attended=attended,
                         minutes=str(form.get("minutes")) if form.get("minutes") is not None else None,
                         outcome=str(form.get("outcome") or "") or None, link_kind=str(form.get("link_kind") or "") or None,
                         link_ref=str(form.get("link_ref") or ""), status=str(form.get("status") or "") or None, ip=ip)
        elif what == "propose":
            store.propose(web.db, str(form.get("kind") or ""), "outcome", _row_id(form.get("outcome_id")),
                          str(form.get("title") or ""), str(form.get("summary") or ""), v, ip=ip)
            return _go("/network/proposals")
        else:
            raise NetworkError("network.err.not_found", status=404)
    except NetworkError as exc:
        raise _denied(exc)
    return _go(f"/network/events/{event_id}")


@router.get("/network/proposals", response_class=HTMLResponse)
def proposals_page(request: Request, web: WebDep, user: SignedIn):
    v = store.viewer(web.db, user)
    return _render(request, web, "proposals", user, v, proposals=store.proposals(web.db, v))


# JSON API (bearer tokens) ---------------------------------------------------------------------------------------------
def _api_error(request: Request, web, exc: NetworkError) -> JSONResponse:
    t = web.tr(request, None)
    return JSONResponse({"error": exc.key, "message": t(exc.key, **exc.params)}, status_code=exc.status)


@router.get("/api/network/spaces")
def api_spaces(web: WebDep, u: ApiUser):
    v = store.viewer(web.db, u)
    return {"spaces": [{"slug": s.slug, "title": s.title, "kind": s.kind} for s in store.spaces_for(web.db, v)]}


@router.get("/api/network/spaces/{slug}/threads")
def api_threads(request: Request, web: WebDep, u: ApiUser, slug: str):
    v = store.viewer(web.db, u)
    try:
        sp = store.readable_space(web.db, slug, v, audit_ip=client_ip(request))
    except NetworkError as exc:
        return _api_error(request, web, exc)
    return {"space": sp.slug, "threads": [{"id": r["thread"].id, "title": r["thread"].title, "author": r["author"],
                                           "posts": r["posts"], "locked": r["thread"].locked}
                                          for r in store.threads(web.db, sp.id)]}


@router.get("/api/network/threads/{thread_id}")
def api_thread(request: Request, web: WebDep, u: ApiUser, thread_id: int = Id()):
    v = store.viewer(web.db, u)
    try:
        t, sp = store.readable_thread(web.db, thread_id, v, audit_ip=client_ip(request))
    except NetworkError as exc:
        return _api_error(request, web, exc)
    return {"id": t.id, "space": sp.slug, "title": t.title, "locked": t.locked, "posts": [
        {"id": r["post"].id, "author": r["author"], "lang": r["post"].lang, "created_at": r["post"].created_at.isoformat(),
         "hidden": r["post"].hidden_at is not None, "hidden_reason": r["post"].hidden_reason,
         "body": None if r["post"].hidden_at else r["post"].body,
         "attachments": [{"id": a.id, "file_name": a.file_name, "size": a.size, "media_type": a.media_type}
                         for a in r["attachments"]]} for r in store.posts(web.db, t.id)]}


@router.get("/api/network/suggestions")
def api_suggestions(request: Request, web: WebDep, u: ApiUser):
    v = store.viewer(web.db, u)
    try:
        sug = store.suggestions_for(web.db, web.settings, v, web.lang_of(request, u))
    except NetworkError as exc:
        return _api_error(request, web, exc)
    return {k: [{"ref": s.ref, "title": s.title, "score": s.score,
                 "reasons": [{"code": r.code, "matched": r.detail, "points": r.points} for r in s.reasons]}
                for s in lst] for k, lst in sug.items()}
