"""Membership rules of the Network (issue 17, item 1; the roles of its Operational Guidelines): who may apply,
what an application holds, the Network roles, and who may read, post in or moderate a space.

Pure functions on plain values (no database, no web): the portal (``pipelines/service/network_store.py``) builds
a ``Viewer`` for the signed-in person and asks these predicates. Vocabularies are data
(``reference/network/topics.yaml``), read at run time.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipelines import yamlio
from pipelines.i18n import LANGUAGES

NETWORK_ROLES = ("member", "focal_point", "moderator", "secretariat")
MEMBER_STATUSES = ("applied", "approved", "rejected", "suspended")
SPACE_KINDS = ("public", "members", "closed")
VISIBLE_FIELDS = ("name", "organisation", "country", "sector", "topics", "languages")
POST_LANGS = LANGUAGES              # a post is tagged with one of the portal's languages
EVENT_KINDS = ("virtual", "onsite", "hybrid")
PROPOSAL_KINDS = ("practice", "course")
PROPOSAL_STATUSES = ("proposed", "forwarded", "accepted", "declined")
OUTCOME_LINKS = ("practice", "course", "indicator")
MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9_.-]{1,63})")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class NetworkError(ValueError):
    """A refused Network operation; ``key`` is a message key of reference/i18n/network (``network.err.*``)."""

    def __init__(self, key: str, status: int = 400, **params):
        super().__init__(key)
        self.key = key
        self.status = status
        self.params = params


@functools.cache
def _topics(path: Path) -> dict:
    data = yamlio.load(path.read_text("utf-8")) or {}
    for k in ("sectors", "prevention_types", "pillars"):
        if not isinstance(data.get(k), list) or not data[k]:
            raise ValueError(f"{path}: '{k}' must be a non-empty list")
    return data


def vocabularies(reference_dir: Path) -> dict:
    """sectors, prevention_types, pillars, lines_of_action (reference/network/topics.yaml)."""
    return _topics(Path(reference_dir).resolve() / "network" / "topics.yaml")


@dataclass(frozen=True)
class Application:
    """What a person sends to join: on behalf of an organisation, with its sector and country, topics and
    languages, and what the directory may show."""

    display_name: str
    organisation: str
    sector: str
    country_iso3: str | None
    iccs: tuple[str, ...] = ()
    prevention: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()
    pillars: tuple[str, ...] = ()
    seeks: tuple[str, ...] = ()      # topics (any of the codes above) the member seeks support on
    offers: tuple[str, ...] = ()     # topics the member can offer experience on
    languages: tuple[str, ...] = ()
    visible: tuple[str, ...] = ()    # fields the public directory may show (VISIBLE_FIELDS); none: unlisted
    statement: str = ""

    def topics(self) -> dict:
        return {"iccs": list(self.iccs), "prevention": list(self.prevention), "lines": list(self.lines),
                "pillars": list(self.pillars), "seeks": list(self.seeks), "offers": list(self.offers)}


def _codes(values, allowed: set[str] | None, key: str, max_n: int = 40) -> tuple[str, ...]:
    out = []
    for v in values or ():
        v = str(v).strip()
        if not v:
            continue
        if allowed is not None and v not in allowed:
            raise NetworkError(key, value=v[:40])
        if v not in out:
            out.append(v)
    if len(out) > max_n:
        raise NetworkError("network.err.too_many", n=len(out), max=max_n)
    return tuple(out)


def check_application(raw: dict, *, member_states: set[str], iccs_codes: set[str], vocab: dict,
                      lines_of_action: set[str] | None = None) -> Application:
    """A checked ``Application`` from form values (lists for the multi-valued fields); ``NetworkError`` naming
    the field otherwise. A member-state institution or a focal point needs a member state's country; an
    international organisation may have none."""
    name = str(raw.get("display_name") or "").strip()
    org = str(raw.get("organisation") or "").strip()
    if not (2 <= len(name) <= 120):
        raise NetworkError("network.err.name")
    if not (2 <= len(org) <= 200):
        raise NetworkError("network.err.organisation")
    sector = str(raw.get("sector") or "")
    if sector not in vocab["sectors"]:
        raise NetworkError("network.err.sector", value=sector[:40])
    country = str(raw.get("country_iso3") or "").strip().upper() or None
    if country is not None and country not in member_states:
        raise NetworkError("network.err.country", value=country[:12])
    if country is None and sector != "international_organisation":
        raise NetworkError("network.err.country_required")
    lines_allowed = set(vocab.get("lines_of_action") or []) | set(lines_of_action or ())
    iccs = _codes(raw.get("iccs"), iccs_codes, "network.err.iccs")
    prevention = _codes(raw.get("prevention"), set(vocab["prevention_types"]), "network.err.prevention")
    lines = _codes(raw.get("lines"), lines_allowed, "network.err.line")
    pillars = _codes(raw.get("pillars"), set(vocab["pillars"]), "network.err.pillar")
    topic_codes = set(iccs) | set(prevention) | set(lines) | set(pillars) | iccs_codes
    seeks = _codes(raw.get("seeks"), topic_codes, "network.err.topic")
    offers = _codes(raw.get("offers"), topic_codes, "network.err.topic")
    if not (iccs or prevention or lines or pillars):
        raise NetworkError("network.err.no_topic")
    languages = _codes(raw.get("languages"), set(POST_LANGS), "network.err.language")
    if not languages:
        raise NetworkError("network.err.no_language")
    visible = _codes(raw.get("visible"), set(VISIBLE_FIELDS), "network.err.visible")
    statement = str(raw.get("statement") or "").strip()
    if len(statement) > 2000:
        raise NetworkError("network.err.too_long", max=2000)
    return Application(name, org, sector, country, iccs, prevention, lines, pillars, seeks, offers, languages,
                       visible, statement)


# who may do what ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Viewer:
    """The person asking, as the Network sees them: anonymous (user_id None), or a portal user with their
    membership status, Network roles and working groups."""

    user_id: int | None = None
    username: str | None = None
    portal_role: str | None = None
    country_iso3: str | None = None
    status: str | None = None                         # MEMBER_STATUSES, None: never applied
    roles: frozenset = frozenset()                    # NETWORK_ROLES held (live)
    focal_countries: frozenset = frozenset()
    groups: frozenset = frozenset()                   # ids of the closed spaces whose working group they are in
    member_id: int | None = None

    @property
    def approved(self) -> bool:
        return self.status == "approved"

    @property
    def secretariat(self) -> bool:
        """The technical secretariat (a Network role), or the portal's administrator (who appoints the first one)."""
        return self.user_id is not None and ("secretariat" in self.roles or self.portal_role == "admin")

    @property
    def moderator(self) -> bool:
        return self.approved and "moderator" in self.roles or self.secretariat


def can_read(space_kind: str, space_id: int, v: Viewer) -> bool:
    """public: anyone; members: approved members and the secretariat; closed: its working group and the
    secretariat. Anything else (an unknown kind): nobody."""
    if space_kind == "public":
        return True
    if space_kind == "members":
        return v.approved or v.secretariat
    if space_kind == "closed":
        return (v.approved and space_id in v.groups) or v.secretariat
    return False


def can_post(space_kind: str, space_id: int, v: Viewer, *, locked: bool = False) -> bool:
    if locked or v.user_id is None:
        return False
    return (v.approved or v.secretariat) and can_read(space_kind, space_id, v)


def can_moderate(space_kind: str, space_id: int, v: Viewer) -> bool:
    return v.moderator and can_read(space_kind, space_id, v)


def can_manage_events(v: Viewer) -> bool:
    return v.secretariat or v.moderator


def can_answer_demand_survey(v: Viewer, country_iso3: str | None) -> bool:
    """The hook for the catalogue's demand survey (branch ``catalogue``): a member state's data office (portal
    role ``office``) or the Network's national focal point of that country may answer for it."""
    if not country_iso3:
        return False
    if v.portal_role == "office" and v.country_iso3 == country_iso3:
        return True
    return v.approved and country_iso3 in v.focal_countries


def mentions(body: str) -> list[str]:
    """The user names mentioned as ``@name`` in a post (in order, once each)."""
    out = []
    for m in MENTION_RE.finditer(body or ""):
        name = m.group(1).rstrip(".")
        if name not in out:
            out.append(name)
    return out


def check_post(body: str, lang: str, max_chars: int = 20000) -> tuple[str, str]:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise NetworkError("network.err.empty_post")
    if len(body) > max_chars:
        raise NetworkError("network.err.too_long", max=max_chars)
    if lang not in POST_LANGS:
        raise NetworkError("network.err.language", value=(lang or "")[:8])
    return body, lang


def check_slug(slug: str) -> str:
    if not SLUG_RE.match(slug or ""):
        raise NetworkError("network.err.slug")
    return slug


@dataclass
class Capacity:
    capacity: int | None
    registered: int = 0
    waitlist: list = field(default_factory=list)

    def has_room(self) -> bool:
        return self.capacity is None or self.registered < self.capacity
