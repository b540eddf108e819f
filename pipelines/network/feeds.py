"""Atom feeds (RFC 4287) of public spaces, written with the standard library's ElementTree (no maintained feed
library is installed in this environment): every text is an element's text or an attribute, which ElementTree
escapes, so a post cannot inject markup; control characters XML 1.0 forbids are removed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone

ATOM = "http://www.w3.org/2005/Atom"
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass
class Entry:
    id: str
    title: str
    link: str
    updated: datetime
    author: str
    content: str
    lang: str | None = None


def _ts(d: datetime) -> str:
    d = d if d.tzinfo else d.replace(tzinfo=timezone.utc)
    return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clean(s: str) -> str:
    return _BAD_XML.sub("", s or "")


def atom_bytes(*, feed_id: str, title: str, link: str, self_link: str, updated: datetime | None,
               entries: list[Entry], lang: str = "en") -> bytes:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": lang})

    def sub(parent, tag, text=None, **attrs):
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _clean(v) for k, v in attrs.items()})
        if text is not None:
            el.text = _clean(text)
        return el

    sub(feed, "id", feed_id)
    sub(feed, "title", title)
    sub(feed, "link", href=link, rel="alternate", type="text/html")
    sub(feed, "link", href=self_link, rel="self", type="application/atom+xml")
    sub(feed, "updated", _ts(updated or (max((e.updated for e in entries), default=None)
                                         or datetime(2016, 1, 1, tzinfo=timezone.utc))))
    sub(feed, "generator", "hemistat")
    for e in entries:
        en = sub(feed, "entry")
        if e.lang:
            en.set("{http://www.w3.org/XML/1998/namespace}lang", e.lang)
        sub(en, "id", e.id)
        sub(en, "title", e.title)
        sub(en, "link", href=e.link, rel="alternate", type="text/html")
        sub(en, "updated", _ts(e.updated))
        author = sub(en, "author")
        sub(author, "name", e.author)
        sub(en, "content", e.content, type="text")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")
