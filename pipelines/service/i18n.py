"""Message catalogues are data: ``reference/i18n/{en,es,pt,fr}.json`` (flat key -> text with
``{placeholders}``). The language of a request: ``?lang=`` (remembered in a cookie), else the cookie,
else the user's saved preference, else ``Accept-Language``, else English."""

from __future__ import annotations

import json
import re
from pathlib import Path

LANGS = ("en", "es", "pt", "fr")
LANG_COOKIE = "hemistat_lang"


def load_catalogues(reference_dir: Path) -> dict[str, dict[str, str]]:
    d = reference_dir / "i18n"
    return {lang: json.loads((d / f"{lang}.json").read_text("utf-8")) for lang in LANGS}


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def parse_accept_language(header: str | None) -> list[str]:
    """Languages of an Accept-Language header, best first (``es-AR,es;q=0.9,en;q=0.5`` -> es, en)."""
    out = []
    for i, part in enumerate((header or "").split(",")):
        bits = part.strip().split(";")
        tag = bits[0].strip().lower()
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
        out.append((-q, i, tag.split("-")[0]))
    return [t for negq, _, t in sorted(out) if negq < 0]  # q=0 means "not acceptable"


def negotiate(query: str | None, cookie: str | None, user_lang: str | None, accept: str | None) -> str:
    for cand in (query, cookie, user_lang):
        if cand in LANGS:
            return cand
    for tag in parse_accept_language(accept):
        if tag in LANGS:
            return tag
    return "en"


class Translator:
    def __init__(self, catalogues: dict[str, dict[str, str]], lang: str):
        self.cat = catalogues
        self.lang = lang if lang in catalogues else "en"

    def __call__(self, key: str, **params) -> str:
        text = self.cat[self.lang].get(key) or self.cat["en"].get(key) or key
        if params:
            try:
                return text.format(**params)
            except (KeyError, IndexError, ValueError):
                return text
        return text
