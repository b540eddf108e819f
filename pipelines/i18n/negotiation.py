"""The language of a request: ``?lang=`` (remembered in a cookie), else the cookie, else the user's saved
preference, else the browser's ``Accept-Language`` (negotiated with Babel against ``LANGUAGES``: ``pt-BR``
-> pt, ``fr-CA`` -> fr), else English."""

from __future__ import annotations

from babel.core import negotiate_locale

from pipelines.i18n.languages import DEFAULT_LANGUAGE, LANGUAGES


def parse_accept_language(header: str | None) -> list[str]:
    """The language tags of an ``Accept-Language`` header, best first, lower case
    (``es-AR,es;q=0.9,en;q=0.5`` -> es-ar, es, en); ``q=0`` ("not acceptable") and ``*`` are left out."""
    out = []
    for i, part in enumerate((header or "").split(",")):
        bits = part.strip().split(";")
        tag = bits[0].strip().lower().replace("_", "-")
        if not tag or tag == "*":
            continue
        q = 1.0
        for b in bits[1:]:
            b = b.strip()
            if b.startswith("q="):
                try:
                    q = float(b[2:])
                except ValueError:
                    q = 0.0
        out.append((-q, i, tag))
    return [t for negq, _, t in sorted(out) if negq < 0]


def negotiate(query: str | None, cookie: str | None, user_lang: str | None, accept: str | None) -> str:
    for cand in (query, cookie, user_lang):
        if cand in LANGUAGES:
            return cand
    best = negotiate_locale(parse_accept_language(accept), LANGUAGES, sep="-", aliases=None)
    return best.lower() if best else DEFAULT_LANGUAGE
