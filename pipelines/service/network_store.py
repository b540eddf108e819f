"""The Network's operations on the portal database: applications and decisions, roles, spaces and working
groups, threads and posts (mentions, attachments), moderation, digest, events, registrations, outcomes and
proposals. Every change that matters is written to the portal's append-only audit log (actions ``network_*``).
The rules (who may do what, what a valid application is) are ``pipelines/network/rules.py``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from pipelines.network import attachments as att
from pipelines.network import rules
from pipelines.network.rules import NetworkError, Viewer
from pipelines.service import auth
from pipelines.service.db import AuditEvent, Database, User, utcnow
from pipelines.service.network_models import (NetAttachment, NetEvent, NetMember, NetMention, NetOrganisation,
                                              NetOutcome, NetPost, NetProposal, NetRegistration, NetReport, NetRole,
                                              NetSession, NetSpace, NetSpaceMember, NetThread)


def _audit(s, action: str, v: Viewer | None, ip: str | None = None, country: str | None = None, **detail) -> None:
    """An audit row in the caller's transaction (the change and its record commit together)."""
    s.add(AuditEvent(at=utcnow(), actor=v.username if v else None, role=v.portal_role if v else None,
                     action=action, country_iso3=country, ip=ip,
                     detail=json.dumps(detail, ensure_ascii=False, default=str, sort_keys=True)))


# who is asking ----------------------------------------------------------------------------------------------------
def viewer(db: Database, p: auth.Principal | None) -> Viewer:
    if p is None:
        return Viewer()
    with db.Session() as s:
        m = s.scalar(select(NetMember).where(NetMember.user_id == p.id))
        roles = list(s.scalars(select(NetRole).where(NetRole.user_id == p.id, NetRole.revoked_at.is_(None))))
        groups = set(s.scalars(select(NetSpaceMember.space_id).where(NetSpaceMember.user_id == p.id)))
    return Viewer(p.id, p.username, p.role, p.country_iso3, m.status if m else None,
                  frozenset(r.role for r in roles),
                  frozenset(r.country_iso3 for r in roles if r.role == "focal_point" and r.country_iso3),
                  frozenset(groups), m.id if m else None)


# members ----------------------------------------------------------------------------------------------------------
def apply(db: Database, user_id: int, app: rules.Application, *, actor: Viewer, ip: str | None = None) -> NetMember:
    with db.Session.begin() as s:
        if s.scalar(select(NetMember).where(NetMember.user_id == user_id)):
            raise NetworkError("network.err.already_applied", status=409)
        org = s.scalar(select(NetOrganisation).where(NetOrganisation.name == app.organisation,
                                                     NetOrganisation.country_iso3.is_(None) if app.country_iso3 is None
                                                     else NetOrganisation.country_iso3 == app.country_iso3))
        if org is None:
            org = NetOrganisation(name=app.organisation, sector=app.sector, country_iso3=app.country_iso3,
                                  created_at=utcnow())
            s.add(org)
            s.flush()
        m = NetMember(user_id=user_id, organisation_id=org.id, display_name=app.display_name, sector=app.sector,
                      country_iso3=app.country_iso3, topics=json.dumps(app.topics(), sort_keys=True),
                      languages=",".join(app.languages), visible=",".join(app.visible), statement=app.statement,
                      status="applied", applied_at=utcnow())
        s.add(m)
        s.flush()
        _audit(s, "network_apply", actor, ip, app.country_iso3, member_id=m.id, organisation=app.organisation,
               sector=app.sector)
        return m


def applications_from(db: Database, ip: str, minutes: int = 60) -> int:
    """Applications sent from one address in the last ``minutes`` (the apply form makes accounts: rate-limited)."""
    since = utcnow() - timedelta(minutes=minutes)
    with db.Session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "network_apply", AuditEvent.ip == ip, AuditEvent.at >= since))


def decide(db: Database, member_id: int, decision: str, note: str, *, actor: Viewer, ip: str | None = None) -> None:
    """The technical secretariat approves or rejects an application (or suspends a member)."""
    if not actor.secretariat:
        raise NetworkError("network.err.forbidden", status=403)
    status = {"approve": "approved", "reject": "rejected", "suspend": "suspended"}.get(decision)
    if status is None:
        raise NetworkError("network.err.decision")
    with db.Session.begin() as s:
        m = s.get(NetMember, member_id)
        if m is None:
            raise NetworkError("network.err.not_found", status=404)
        m.status, m.decided_at, m.decided_by, m.decision_note = status, utcnow(), actor.username, (note or "")[:2000]
        if status == "approved" and not s.scalar(select(NetRole).where(
                NetRole.user_id == m.user_id, NetRole.role == "member", NetRole.revoked_at.is_(None))):
            s.add(NetRole(user_id=m.user_id, role="member", granted_by=actor.username, granted_at=utcnow()))
        _audit(s, "network_decide", actor, ip, m.country_iso3, member_id=m.id, decision=status, note=note)


def grant(db: Database, user_id: int, role: str, *, actor: Viewer | None, country_iso3: str | None = None,
          revoke: bool = False, ip: str | None = None) -> None:
    """The secretariat appoints (or revokes) a focal point, a moderator or another secretariat member; ``actor``
    None is the command line (``hemistat network grant``)."""
    if actor is not None and not actor.secretariat:
        raise NetworkError("network.err.forbidden", status=403)
    if role not in rules.NETWORK_ROLES:
        raise NetworkError("network.err.role", value=role[:20])
    country_iso3 = (country_iso3 or "").strip().upper() or None
    if role == "focal_point" and (not country_iso3 or country_iso3 not in auth.member_states()):
        raise NetworkError("network.err.country", value=country_iso3 or "")
    with db.Session.begin() as s:
        if s.get(User, user_id) is None:
            raise NetworkError("network.err.not_found", status=404)
        q = select(NetRole).where(NetRole.user_id == user_id, NetRole.role == role, NetRole.revoked_at.is_(None))
        if role == "focal_point":
            q = q.where(NetRole.country_iso3 == country_iso3)
        live = list(s.scalars(q))
        if revoke:
            for r in live:
                r.revoked_at = utcnow()
        elif not live:
            s.add(NetRole(user_id=user_id, role=role, country_iso3=country_iso3 if role == "focal_point" else None,
                          granted_by=actor.username if actor else "cli", granted_at=utcnow()))
        s.add(AuditEvent(at=utcnow(), actor=actor.username if actor else "cli", role=actor.portal_role if actor else None,
                         action="network_role_revoke" if revoke else "network_role_grant", country_iso3=country_iso3,
                         ip=ip, detail=json.dumps({"user_id": user_id, "role": role}, sort_keys=True)))


def member_of(db: Database, user_id: int) -> NetMember | None:
    with db.Session() as s:
        return s.scalar(select(NetMember).where(NetMember.user_id == user_id))


def members(db: Database, status: str | None = None) -> list[dict]:
    with db.Session() as s:
        q = select(NetMember, NetOrganisation, User).join(NetOrganisation, NetOrganisation.id == NetMember.organisation_id) \
            .join(User, User.id == NetMember.user_id).order_by(NetMember.applied_at, NetMember.id)
        if status:
            q = q.where(NetMember.status == status)
        out = []
        for m, o, u in s.execute(q):
            roles = sorted({r.role + (f":{r.country_iso3}" if r.country_iso3 else "") for r in s.scalars(
                select(NetRole).where(NetRole.user_id == u.id, NetRole.revoked_at.is_(None)))})
            out.append({"member": m, "org": o, "username": u.username, "user_id": u.id, "roles": roles,
                        "topics": json.loads(m.topics or "{}"), "languages": [x for x in m.languages.split(",") if x],
                        "visible": [x for x in m.visible.split(",") if x]})
        return out


def directory(db: Database) -> list[dict]:
    """The public directory: organisations of approved members, each showing only what its members chose."""
    orgs: dict[int, dict] = {}
    for r in members(db, "approved"):
        vis = set(r["visible"])
        if "organisation" not in vis:
            continue
        o = orgs.setdefault(r["org"].id, {"name": r["org"].name, "sector": None, "country": None, "people": [],
                                          "topics": set(), "languages": set()})
        if "sector" in vis:
            o["sector"] = r["org"].sector
        if "country" in vis:
            o["country"] = r["org"].country_iso3
        if "name" in vis:
            o["people"].append(r["member"].display_name)
        if "topics" in vis:
            for k in ("iccs", "prevention", "lines", "pillars"):
                o["topics"].update(r["topics"].get(k, []))
        if "languages" in vis:
            o["languages"].update(r["languages"])
    return sorted(orgs.values(), key=lambda o: o["name"].lower())


# spaces ------------------------------------------------------------------------------------------------------------
def create_space(db: Database, slug: str, title: str, kind: str, description: str, *, actor: Viewer,
                 topic: str | None = None, ip: str | None = None) -> NetSpace:
    if not actor.secretariat:
        raise NetworkError("network.err.forbidden", status=403)
    rules.check_slug(slug)
    if kind not in rules.SPACE_KINDS:
        raise NetworkError("network.err.space_kind")
    if not (2 <= len((title or "").strip()) <= 200):
        raise NetworkError("network.err.title")
    with db.Session.begin() as s:
        if s.scalar(select(NetSpace).where(NetSpace.slug == slug)):
            raise NetworkError("network.err.slug_taken", status=409)
        sp = NetSpace(slug=slug, title=title.strip(), kind=kind, description=(description or "").strip()[:4000],
                      topic=(topic or None), created_by=actor.username, created_at=utcnow())
        s.add(sp)
        s.flush()
        _audit(s, "network_space_create", actor, ip, space=slug, kind=kind)
        return sp


def add_to_group(db: Database, slug: str, username: str, *, actor: Viewer | None, ip: str | None = None) -> None:
    if actor is not None and not actor.secretariat:
        raise NetworkError("network.err.forbidden", status=403)
    with db.Session.begin() as s:
        sp = s.scalar(select(NetSpace).where(NetSpace.slug == slug))
        u = s.scalar(select(User).where(User.username == username))
        if sp is None or u is None:
            raise NetworkError("network.err.not_found", status=404)
        if sp.kind != "closed":
            raise NetworkError("network.err.space_kind")
        if not s.scalar(select(NetSpaceMember).where(NetSpaceMember.space_id == sp.id, NetSpaceMember.user_id == u.id)):
            s.add(NetSpaceMember(space_id=sp.id, user_id=u.id, added_at=utcnow()))
        s.add(AuditEvent(at=utcnow(), actor=actor.username if actor else "cli", action="network_group_add",
                         detail=json.dumps({"space": slug, "user": username}, sort_keys=True), ip=ip))


def spaces_for(db: Database, v: Viewer) -> list[NetSpace]:
    """The spaces ``v`` may read (a closed space someone may not read is not even listed)."""
    with db.Session() as s:
        return [sp for sp in s.scalars(select(NetSpace).order_by(NetSpace.title)) if rules.can_read(sp.kind, sp.id, v)]


def readable_space(db: Database, slug: str, v: Viewer, *, audit_ip: str | None = None) -> NetSpace:
    """The space, if ``v`` may read it; 404 otherwise (a closed space cannot be told from a missing one)."""
    with db.Session() as s:
        sp = s.scalar(select(NetSpace).where(NetSpace.slug == (slug or "")[:64]))
    if sp is None or not rules.can_read(sp.kind, sp.id, v):
        if sp is not None:
            db.audit("network_access_denied", actor=v.username, role=v.portal_role, ip=audit_ip, space=sp.slug)
        raise NetworkError("network.err.not_found", status=404)
    return sp


def threads(db: Database, space_id: int) -> list[dict]:
    with db.Session() as s:
        rows = s.execute(select(NetThread, User.username).join(User, User.id == NetThread.author_id)
                         .where(NetThread.space_id == space_id).order_by(NetThread.created_at.desc())).all()
        out = []
        for t, author in rows:
            n, last = s.execute(select(func.count(NetPost.id), func.max(NetPost.created_at))
                                .where(NetPost.thread_id == t.id)).one()
            out.append({"thread": t, "author": author, "posts": n, "last": last})
        return out


def readable_thread(db: Database, thread_id: int, v: Viewer, *, audit_ip: str | None = None) -> tuple[NetThread, NetSpace]:
    with db.Session() as s:
        t = s.get(NetThread, thread_id)
        sp = s.get(NetSpace, t.space_id) if t else None
    if t is None or sp is None or not rules.can_read(sp.kind, sp.id, v):
        if sp is not None:
            db.audit("network_access_denied", actor=v.username, role=v.portal_role, ip=audit_ip, space=sp.slug,
                     thread_id=thread_id)
        raise NetworkError("network.err.not_found", status=404)
    return t, sp


def posts(db: Database, thread_id: int) -> list[dict]:
    with db.Session() as s:
        rows = s.execute(select(NetPost, User.username).join(User, User.id == NetPost.author_id)
                         .where(NetPost.thread_id == thread_id).order_by(NetPost.created_at, NetPost.id)).all()
        out = []
        for p, author in rows:
            files = list(s.scalars(select(NetAttachment).where(NetAttachment.post_id == p.id).order_by(NetAttachment.id)))
            m = s.scalar(select(NetMember).where(NetMember.user_id == p.author_id))
            out.append({"post": p, "author": author, "author_name": m.display_name if m else author,
                        "attachments": files})
        return out


def _save_post(s, thread: NetThread, body: str, lang: str, v: Viewer, files: list, folder: Path,
               max_bytes: int, reply_to: int | None) -> NetPost:
    checked = [(att.check(name, data, max_bytes), data) for name, data in files]   # all checked before any is stored
    p = NetPost(thread_id=thread.id, author_id=v.user_id, body=body, lang=lang, created_at=utcnow(), reply_to=reply_to)
    s.add(p)
    s.flush()
    for name in rules.mentions(body):
        u = s.scalar(select(User).where(User.username == name))
        if u is not None and u.id != v.user_id:
            s.add(NetMention(post_id=p.id, user_id=u.id))
    for c, data in checked:
        att.store(folder, c, data)
        s.add(NetAttachment(post_id=p.id, file_name=c.file_name, media_type=c.media_type, size=c.size, sha256=c.sha256))
    return p


def new_thread(db: Database, space: NetSpace, title: str, body: str, lang: str, v: Viewer, *, files: list,
               folder: Path, max_bytes: int, ip: str | None = None) -> int:
    if not rules.can_post(space.kind, space.id, v):
        raise NetworkError("network.err.forbidden", status=403)
    title = (title or "").strip()
    if not (2 <= len(title) <= 200):
        raise NetworkError("network.err.title")
    body, lang = rules.check_post(body, lang)
    with db.Session.begin() as s:
        t = NetThread(space_id=space.id, title=title, author_id=v.user_id, created_at=utcnow(), locked=False)
        s.add(t)
        s.flush()
        p = _save_post(s, t, body, lang, v, files, folder, max_bytes, None)
        _audit(s, "network_post", v, ip, space=space.slug, thread_id=t.id, post_id=p.id, lang=lang,
               attachments=len(files))
        return t.id


def reply(db: Database, thread_id: int, body: str, lang: str, v: Viewer, *, files: list, folder: Path,
          max_bytes: int, reply_to: int | None = None, ip: str | None = None) -> int:
    t, sp = readable_thread(db, thread_id, v)
    if t.locked:
        raise NetworkError("network.err.locked", status=409)
    if not rules.can_post(sp.kind, sp.id, v):
        raise NetworkError("network.err.forbidden", status=403)
    body, lang = rules.check_post(body, lang)
    with db.Session.begin() as s:
        p = _save_post(s, s.get(NetThread, t.id), body, lang, v, files, folder, max_bytes, reply_to)
        _audit(s, "network_post", v, ip, space=sp.slug, thread_id=t.id, post_id=p.id, lang=lang,
               attachments=len(files))
        return p.id


def _post_space(s, post_id: int):
    p = s.get(NetPost, post_id)
    if p is None:
        return None, None, None
    t = s.get(NetThread, p.thread_id)
    return p, t, s.get(NetSpace, t.space_id)


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise NetworkError("network.err.reason_required")
    return reason


def _readable_post(s, post_id: int, v: Viewer):
    """The post, its thread and space, when ``v`` may read it (else 404: a closed space is not revealed)."""
    p, t, sp = _post_space(s, post_id)
    if p is None or not rules.can_read(sp.kind, sp.id, v):
        raise NetworkError("network.err.not_found", status=404)
    return p, t, sp


def hide(db: Database, post_id: int, reason: str, v: Viewer, *, ip: str | None = None) -> int:
    reason = _reason(reason)
    with db.Session.begin() as s:
        p, t, sp = _readable_post(s, post_id, v)
        if not rules.can_moderate(sp.kind, sp.id, v):
            raise NetworkError("network.err.forbidden", status=403)
        p.hidden_at, p.hidden_by, p.hidden_reason = utcnow(), v.username, reason[:2000]
        for r in s.scalars(select(NetReport).where(NetReport.post_id == p.id, NetReport.resolved_at.is_(None))):
            r.resolved_at = utcnow()
        _audit(s, "network_hide", v, ip, space=sp.slug, thread_id=t.id, post_id=p.id, reason=reason)
        return t.id


def report(db: Database, post_id: int, reason: str, v: Viewer, *, ip: str | None = None) -> int:
    reason = _reason(reason)
    with db.Session.begin() as s:
        p, t, sp = _readable_post(s, post_id, v)
        if not rules.can_post(sp.kind, sp.id, v):
            raise NetworkError("network.err.forbidden", status=403)
        s.add(NetReport(post_id=p.id, reporter_id=v.user_id, reason=reason[:2000], at=utcnow()))
        _audit(s, "network_report", v, ip, space=sp.slug, thread_id=t.id, post_id=p.id, reason=reason)
        return t.id


def lock(db: Database, thread_id: int, locked: bool, v: Viewer, *, ip: str | None = None) -> None:
    t, sp = readable_thread(db, thread_id, v)
    if not rules.can_moderate(sp.kind, sp.id, v):
        raise NetworkError("network.err.forbidden", status=403)
    with db.Session.begin() as s:
        s.get(NetThread, t.id).locked = locked
        _audit(s, "network_lock" if locked else "network_unlock", v, ip, space=sp.slug, thread_id=t.id)


def open_reports(db: Database, v: Viewer) -> list[dict]:
    with db.Session() as s:
        out = []
        for r in s.scalars(select(NetReport).where(NetReport.resolved_at.is_(None)).order_by(NetReport.at)):
            p, t, sp = _post_space(s, r.post_id)
            if sp is not None and rules.can_moderate(sp.kind, sp.id, v):
                out.append({"report": r, "post": p, "thread": t, "space": sp})
        return out


def attachment(db: Database, attachment_id: int, v: Viewer, *, ip: str | None = None) -> NetAttachment:
    with db.Session() as s:
        a = s.get(NetAttachment, attachment_id)
        p, t, sp = _post_space(s, a.post_id) if a else (None, None, None)
    if a is None or sp is None or not rules.can_read(sp.kind, sp.id, v) or p.hidden_at is not None:
        if sp is not None:
            db.audit("network_access_denied", actor=v.username, role=v.portal_role, ip=ip, space=sp.slug,
                     attachment_id=attachment_id)
        raise NetworkError("network.err.not_found", status=404)
    return a


# digest --------------------------------------------------------------------------------------------------------------
def digest(db: Database, v: Viewer, since: datetime | None = None) -> dict:
    """What is new for ``v`` since ``since`` (default: their last digest, else 14 days): posts in spaces they may
    read, mentions of them, their events, their application and proposals."""
    with db.Session() as s:
        m = s.scalar(select(NetMember).where(NetMember.user_id == v.user_id))
        since = since or (m.last_digest_at if m and m.last_digest_at else utcnow() - timedelta(days=14))
        readable = {sp.id: sp for sp in s.scalars(select(NetSpace)) if rules.can_read(sp.kind, sp.id, v)}
        new = []
        for p, t, author in s.execute(select(NetPost, NetThread, User.username).join(NetThread, NetThread.id == NetPost.thread_id)
                                      .join(User, User.id == NetPost.author_id)
                                      .where(NetPost.created_at >= since, NetPost.hidden_at.is_(None))
                                      .order_by(NetPost.created_at.desc())):
            if t.space_id in readable and p.author_id != v.user_id:
                new.append({"post": p, "thread": t, "space": readable[t.space_id], "author": author})
        mentioned = {mm.post_id for mm in s.scalars(select(NetMention).where(NetMention.user_id == v.user_id))}
        events = [e for e, r in s.execute(select(NetEvent, NetRegistration).join(
            NetRegistration, NetRegistration.event_id == NetEvent.id).where(
            NetRegistration.user_id == v.user_id, NetRegistration.cancelled_at.is_(None)).order_by(NetEvent.starts_at))]
        props = list(s.scalars(select(NetProposal).where(NetProposal.proposer_id == v.user_id).order_by(NetProposal.id)))
    return {"since": since, "posts": new, "mentions": [x for x in new if x["post"].id in mentioned],
            "events": events, "proposals": props, "member": m}


def mark_digest_read(db: Database, v: Viewer) -> None:
    with db.Session.begin() as s:
        m = s.scalar(select(NetMember).where(NetMember.user_id == v.user_id))
        if m is not None:
            m.last_digest_at = utcnow()


def public_feed_posts(db: Database, space: NetSpace, limit: int = 50) -> list[dict]:
    if space.kind != "public":
        raise NetworkError("network.err.not_found", status=404)
    with db.Session() as s:
        rows = s.execute(select(NetPost, NetThread, User.username).join(NetThread, NetThread.id == NetPost.thread_id)
                         .join(User, User.id == NetPost.author_id).where(NetThread.space_id == space.id,
                                                                          NetPost.hidden_at.is_(None))
                         .order_by(NetPost.created_at.desc()).limit(limit)).all()
    return [{"post": p, "thread": t, "author": a} for p, t, a in rows]


# events ---------------------------------------------------------------------------------------------------------------
def _dt(value: str | None) -> datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        d = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise NetworkError("network.err.datetime", value=value[:30])
    if d.tzinfo is not None:
        from datetime import timezone

        d = d.astimezone(timezone.utc).replace(tzinfo=None)
    return d


def create_event(db: Database, data: dict, v: Viewer, *, ip: str | None = None) -> NetEvent:
    if not rules.can_manage_events(v):
        raise NetworkError("network.err.forbidden", status=403)
    slug = rules.check_slug(str(data.get("slug") or ""))
    title = str(data.get("title") or "").strip()
    if not (2 <= len(title) <= 200):
        raise NetworkError("network.err.title")
    kind = str(data.get("kind") or "")
    if kind not in rules.EVENT_KINDS:
        raise NetworkError("network.err.event_kind")
    start, end = _dt(data.get("starts_at")), _dt(data.get("ends_at"))
    if start is None:
        raise NetworkError("network.err.datetime", value="")
    if end is not None and end <= start:
        raise NetworkError("network.err.event_end")
    cap = str(data.get("capacity") or "").strip()
    if cap and (not cap.isdigit() or not 1 <= int(cap) <= 100000):
        raise NetworkError("network.err.capacity")
    with db.Session.begin() as s:
        if s.scalar(select(NetEvent).where(NetEvent.slug == slug)):
            raise NetworkError("network.err.slug_taken", status=409)
        e = NetEvent(slug=slug, title=title, kind=kind, starts_at=start, ends_at=end,
                     location=str(data.get("location") or "")[:200], online_url=str(data.get("online_url") or "")[:300],
                     capacity=int(cap) if cap else None, description=str(data.get("description") or "")[:8000],
                     status="planned", verification="verified", source="", created_by=v.username, created_at=utcnow())
        s.add(e)
        s.flush()
        for i, block in enumerate(str(data.get("agenda") or "").split("\n")):
            # one session per line: "HH:MM-HH:MM Title | Speaker — affiliation; Speaker — affiliation"
            block = block.strip()
            if not block:
                continue
            head, _, speakers = block.partition("|")
            t0 = t1 = None
            parts = head.split(" ", 1)
            if len(parts) == 2 and "-" in parts[0] and ":" in parts[0]:
                a, b = parts[0].split("-", 1)
                try:
                    t0 = datetime.combine(start.date(), datetime.strptime(a, "%H:%M").time())
                    t1 = datetime.combine(start.date(), datetime.strptime(b, "%H:%M").time())
                    head = parts[1]
                except ValueError:
                    t0 = t1 = None
            s.add(NetSession(event_id=e.id, position=i, title=head.strip()[:200], starts_at=t0, ends_at=t1,
                             speakers="\n".join(x.strip() for x in speakers.split(";") if x.strip())))
        _audit(s, "network_event_create", v, ip, event=slug)
        return e


def event(db: Database, event_id: int) -> dict:
    with db.Session() as s:
        e = s.get(NetEvent, event_id)
        if e is None:
            raise NetworkError("network.err.not_found", status=404)
        sessions = list(s.scalars(select(NetSession).where(NetSession.event_id == e.id).order_by(NetSession.position)))
        regs = s.execute(select(NetRegistration, User.username).join(User, User.id == NetRegistration.user_id)
                         .where(NetRegistration.event_id == e.id, NetRegistration.cancelled_at.is_(None))
                         .order_by(NetRegistration.registered_at)).all()
        outcomes = list(s.scalars(select(NetOutcome).where(NetOutcome.event_id == e.id).order_by(NetOutcome.id)))
    return {"event": e, "sessions": sessions, "registrations": [{"reg": r, "username": u} for r, u in regs],
            "outcomes": outcomes}


def events(db: Database) -> list[NetEvent]:
    with db.Session() as s:
        return sorted(s.scalars(select(NetEvent)), key=lambda e: e.starts_at or e.window_start or datetime.min)


def register(db: Database, event_id: int, v: Viewer, *, cancel: bool = False, ip: str | None = None) -> None:
    if not (v.approved or v.secretariat):
        raise NetworkError("network.err.forbidden", status=403)
    with db.Session.begin() as s:
        # capacity: one registration decision at a time per event. A no-op write as the transaction's first
        # statement takes the write lock before anything is counted (SQLite: the database's write lock, waited for
        # with busy_timeout; PostgreSQL: the event's row lock)
        s.execute(update(NetEvent).where(NetEvent.id == event_id).values(capacity=NetEvent.capacity))
        e = s.get(NetEvent, event_id)
        if e is None:
            raise NetworkError("network.err.not_found", status=404)
        r = s.scalar(select(NetRegistration).where(NetRegistration.event_id == e.id, NetRegistration.user_id == v.user_id))
        if cancel:
            if r is not None and r.cancelled_at is None:
                r.cancelled_at = utcnow()
                _audit(s, "network_unregister", v, ip, event=e.slug)
            return
        if r is not None and r.cancelled_at is None:
            return
        if e.status != "planned" or e.starts_at is None:
            raise NetworkError("network.err.registration_closed", status=409)
        taken = s.scalar(select(func.count()).select_from(NetRegistration).where(
            NetRegistration.event_id == e.id, NetRegistration.cancelled_at.is_(None)))
        if e.capacity is not None and taken >= e.capacity:
            raise NetworkError("network.err.full", status=409, capacity=e.capacity)
        if r is None:
            s.add(NetRegistration(event_id=e.id, user_id=v.user_id, registered_at=utcnow()))
        else:
            r.cancelled_at, r.registered_at = None, utcnow()
        _audit(s, "network_register", v, ip, event=e.slug)


def record(db: Database, event_id: int, v: Viewer, *, attended: list[int] | None = None, minutes: str | None = None,
           outcome: str | None = None, link_kind: str | None = None, link_ref: str | None = None,
           status: str | None = None, ip: str | None = None) -> None:
    """After (or during) the forum: attendance, minutes, an outcome (linked to a practice, course or indicator)."""
    if not rules.can_manage_events(v):
        raise NetworkError("network.err.forbidden", status=403)
    with db.Session.begin() as s:
        e = s.get(NetEvent, event_id)
        if e is None:
            raise NetworkError("network.err.not_found", status=404)
        if attended is not None:
            for r in s.scalars(select(NetRegistration).where(NetRegistration.event_id == e.id)):
                r.attended = r.id in set(attended)
        if minutes is not None:
            e.minutes = minutes[:50000]
        if status is not None:
            if status not in ("planned", "held", "cancelled"):
                raise NetworkError("network.err.decision")
            e.status = status
        if outcome:
            if link_kind and link_kind not in rules.OUTCOME_LINKS:
                raise NetworkError("network.err.link_kind")
            s.add(NetOutcome(event_id=e.id, text=outcome[:4000], link_kind=link_kind or None,
                             link_ref=(link_ref or "").strip()[:80] or None, created_by=v.username, created_at=utcnow()))
        _audit(s, "network_event_record", v, ip, event=e.slug, attended=attended, minutes=minutes is not None,
               outcome=bool(outcome), status=status)


# proposals --------------------------------------------------------------------------------------------------------------
def propose(db: Database, kind: str, source_kind: str, source_id: int, title: str, summary: str, v: Viewer, *,
            ip: str | None = None) -> int:
    """A thread (the proposer must read it) or a forum outcome proposed as a practice or a course."""
    if kind not in rules.PROPOSAL_KINDS:
        raise NetworkError("network.err.proposal_kind")
    if not (v.approved or v.secretariat):
        raise NetworkError("network.err.forbidden", status=403)
    if source_kind == "thread":
        readable_thread(db, source_id, v)
    elif source_kind == "outcome":
        with db.Session() as s:
            if s.get(NetOutcome, source_id) is None:
                raise NetworkError("network.err.not_found", status=404)
    else:
        raise NetworkError("network.err.proposal_kind")
    title = (title or "").strip()
    if not (2 <= len(title) <= 200):
        raise NetworkError("network.err.title")
    with db.Session.begin() as s:
        p = NetProposal(kind=kind, source_kind=source_kind, source_id=source_id, title=title,
                        summary=(summary or "")[:8000], proposer_id=v.user_id, status="proposed", created_at=utcnow())
        s.add(p)
        s.flush()
        _audit(s, "network_propose", v, ip, proposal_id=p.id, kind=kind, source_kind=source_kind, source_id=source_id)
        return p.id


def proposals(db: Database, v: Viewer) -> list[dict]:
    with db.Session() as s:
        q = select(NetProposal, User.username).join(User, User.id == NetProposal.proposer_id).order_by(NetProposal.id.desc())
        if not v.secretariat:
            q = q.where(NetProposal.proposer_id == v.user_id)
        return [{"proposal": p, "proposer": u} for p, u in s.execute(q)]


def decide_proposal(db: Database, proposal_id: int, status: str, v: Viewer, *, ip: str | None = None) -> None:
    if not v.secretariat:
        raise NetworkError("network.err.forbidden", status=403)
    if status not in rules.PROPOSAL_STATUSES:
        raise NetworkError("network.err.decision")
    with db.Session.begin() as s:
        p = s.get(NetProposal, proposal_id)
        if p is None:
            raise NetworkError("network.err.not_found", status=404)
        p.status, p.decided_at, p.decided_by = status, utcnow(), v.username
        _audit(s, "network_proposal_status", v, ip, proposal_id=p.id, status=status)


def forwarded_proposals(db: Database, kind: str) -> list[dict]:
    """Proposals the secretariat forwarded to a review queue (``kind`` practice or course), oldest first: what the
    practices review page lists for data offices to turn into a submission."""
    with db.Session() as s:
        q = (select(NetProposal, User.username).join(User, User.id == NetProposal.proposer_id)
             .where(NetProposal.kind == kind, NetProposal.status == "forwarded").order_by(NetProposal.id))
        return [{"proposal": p, "proposer": u} for p, u in s.execute(q)]


def forwarded_proposal(db: Database, proposal_id, kind: str) -> NetProposal | None:
    """The forwarded proposal ``proposal_id`` of ``kind``, or None (unknown, another kind, not forwarded, malformed)."""
    try:
        pid = int(str(proposal_id))
    except (TypeError, ValueError):
        return None
    if not 0 < pid < 2**31:
        return None
    with db.Session() as s:
        p = s.get(NetProposal, pid)
        return p if p is not None and p.kind == kind and p.status == "forwarded" else None


def proposal_entered_review(db: Database, proposal_id: int, submission_ref: str, actor: str, role: str | None,
                            ip: str | None = None) -> None:
    """A forwarded proposal became a submission in the practices (or catalogue) review: status ``accepted`` (into
    review), with the submission it became in the audit log."""
    with db.Session.begin() as s:
        p = s.get(NetProposal, proposal_id)
        if p is None or p.status != "forwarded":
            return
        p.status, p.decided_at, p.decided_by = "accepted", utcnow(), actor
        s.add(AuditEvent(at=utcnow(), actor=actor, role=role, action="network_proposal_in_review", ip=ip,
                         detail=json.dumps({"proposal_id": p.id, "submission": submission_ref})))


# points of common interest --------------------------------------------------------------------------------------------
def _profile_of(r: dict):
    from pipelines.network.scoring import Profile

    t = r["topics"]
    m = r["member"]
    return Profile("member", str(r["user_id"]), m.display_name, m.country_iso3, set(t.get("iccs", [])),
                   set(t.get("prevention", [])), set(t.get("lines", [])), set(t.get("pillars", [])),
                   set(t.get("seeks", [])), set(t.get("offers", [])), set(r["languages"]),
                   extra={"organisation": r["org"].name, "username": r["username"]})


def suggestions_for(db: Database, settings, v: Viewer, lang: str) -> dict:
    """kind -> scored suggestions for the signed-in approved member (``pipelines/network/scoring.py``)."""
    from pipelines.harmonise import reference as ref
    from pipelines.network import scoring, warehouse
    from pipelines.network.scoring import Profile

    everyone = members(db, "approved")
    mine = next((r for r in everyone if r["user_id"] == v.user_id), None)
    if mine is None:
        raise NetworkError("network.err.members_only", status=403)
    me = _profile_of(mine)
    cands = [_profile_of(r) for r in everyone if r["user_id"] != v.user_id]
    orgs: dict[int, Profile] = {}
    for r in everyone:
        if r["org"].id == mine["org"].id:
            continue
        p = _profile_of(r)
        o = orgs.setdefault(r["org"].id, Profile("organisation", str(r["org"].id), r["org"].name, r["org"].country_iso3))
        for k in ("iccs", "prevention", "lines", "pillars", "offers", "languages"):
            getattr(o, k).update(getattr(p, k))
    cands += list(orgs.values())
    cands += warehouse.practices(settings.duckdb_path, lang)
    cands += warehouse.courses(settings.duckdb_path, lang)
    iccs = ref.iccs(settings.reference_dir)
    col = f"label_{lang}" if f"label_{lang}" in iccs.columns else "label_en"
    labels = dict(zip(iccs["code"].astype(str), iccs[col]))
    cands += warehouse.indicators(settings.duckdb_path, me.country_iso3, labels)
    countries = ref.countries(settings.reference_dir)
    subregion_of = dict(zip(countries["iso3"], countries["subregion"]))
    return scoring.suggestions(me, cands, scoring.load_weights(settings.reference_dir), subregion_of)
