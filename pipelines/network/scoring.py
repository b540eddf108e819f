"""Points of common interest (issue 17, item 2): for one member, the other members, organisations, practices,
courses and indicators that share its topics and country, each with its reasons and a transparent score.

score = sum over reasons of weight x min(matches, cap); the weights are data (``reference/network/weights.yaml``).
A candidate is suggested when it has at least one topical reason (a shared ICCS area, prevention type, line of
action, pillar, or a demand matching an offer) and at least ``min_score`` points; country, sub-region and
language alone never make a suggestion.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from pipelines import yamlio

TOPICAL = ("shared_iccs_area", "shared_prevention_type", "shared_line_of_action", "shared_pillar", "demand_offer")
KINDS = ("member", "organisation", "practice", "course", "indicator")


@functools.cache
def _weights(path: Path) -> dict:
    data = yamlio.load(path.read_text("utf-8")) or {}
    reasons = data.get("reasons") or {}
    for name, spec in reasons.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("weight"), (int, float)) \
                or not isinstance(spec.get("cap", 1), int) or spec.get("cap", 1) < 1:
            raise ValueError(f"{path}: reason {name!r} needs a numeric weight and a whole cap >= 1")
    missing = (set(TOPICAL) | {"same_country", "same_subregion", "shared_language"}) - set(reasons)
    if missing:
        raise ValueError(f"{path}: reasons missing: {sorted(missing)}")
    return {"reasons": reasons, "min_score": float(data.get("min_score", 0)),
            "max_per_kind": int(data.get("max_per_kind", 10))}


def load_weights(reference_dir: Path) -> dict:
    return _weights(Path(reference_dir).resolve() / "network" / "weights.yaml")


@dataclass
class Profile:
    """What is compared: a member, an organisation (its members' topics together), a practice, a course or an
    indicator, in the same terms."""

    kind: str
    ref: str
    title: str
    country_iso3: str | None = None
    iccs: set = field(default_factory=set)
    prevention: set = field(default_factory=set)
    lines: set = field(default_factory=set)
    pillars: set = field(default_factory=set)
    seeks: set = field(default_factory=set)
    offers: set = field(default_factory=set)
    languages: set = field(default_factory=set)
    link: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class Reason:
    code: str          # a reason of weights.yaml
    detail: list       # what matched (codes)
    points: float


@dataclass
class Suggestion:
    kind: str
    ref: str
    title: str
    score: float
    reasons: list[Reason]
    link: str = ""
    extra: dict = field(default_factory=dict)


def iccs_overlap(a: set[str], b: set[str]) -> list[str]:
    """ICCS codes shared at any level: an area ``02`` matches ``0201`` and ``02011`` (and the reverse); the
    shorter (broader) code is reported."""
    out = set()
    for x in a:
        for y in b:
            if x.startswith(y) or y.startswith(x):
                out.add(x if len(x) <= len(y) else y)
    return sorted(out)


def score(me: Profile, other: Profile, weights: dict, subregion_of: dict[str, str]) -> Suggestion | None:
    spec = weights["reasons"]
    found: dict[str, list] = {
        "shared_iccs_area": iccs_overlap(me.iccs, other.iccs),
        "shared_prevention_type": sorted(me.prevention & other.prevention),
        "shared_line_of_action": sorted(me.lines & other.lines),
        "shared_pillar": sorted(me.pillars & other.pillars),
        "demand_offer": sorted(_demand_offer(me, other)),
        "same_country": [me.country_iso3] if me.country_iso3 and me.country_iso3 == other.country_iso3 else [],
        "shared_language": sorted(me.languages & other.languages),
    }
    sub_me, sub_other = subregion_of.get(me.country_iso3 or ""), subregion_of.get(other.country_iso3 or "")
    found["same_subregion"] = [sub_me] if sub_me and sub_me == sub_other and not found["same_country"] else []
    reasons = []
    for code, matched in found.items():
        if not matched:
            continue
        s = spec[code]
        reasons.append(Reason(code, matched, round(float(s["weight"]) * min(len(matched), int(s.get("cap", 1))), 3)))
    if not any(r.code in TOPICAL for r in reasons):
        return None
    total = round(sum(r.points for r in reasons), 3)
    if total < weights["min_score"]:
        return None
    reasons.sort(key=lambda r: (-r.points, r.code))
    return Suggestion(other.kind, other.ref, other.title, total, reasons, other.link, other.extra)


def _demand_offer(me: Profile, other: Profile) -> set[str]:
    """What I seek that the other offers (a member's ``offers``; for a practice or a course, what it is about)."""
    if not me.seeks:
        return set()
    offered = set(other.offers)
    if other.kind in ("practice", "course"):
        offered |= other.iccs | other.prevention | other.lines | other.pillars
    out = set()
    for s in me.seeks:
        for o in offered:
            if s == o or (s.isdigit() and o.isdigit() and (s.startswith(o) or o.startswith(s))):
                out.add(s)
    return out


def suggestions(me: Profile, candidates: list[Profile], weights: dict,
                subregion_of: dict[str, str]) -> dict[str, list[Suggestion]]:
    """kind -> suggestions, best first (then by title), at most ``max_per_kind`` each."""
    out: dict[str, list[Suggestion]] = {k: [] for k in KINDS}
    for c in candidates:
        if c.kind == me.kind and c.ref == me.ref:
            continue
        s = score(me, c, weights, subregion_of)
        if s is not None:
            out.setdefault(c.kind, []).append(s)
    for k in out:
        out[k] = sorted(out[k], key=lambda s: (-s.score, s.title))[: weights["max_per_kind"]]
    return out
