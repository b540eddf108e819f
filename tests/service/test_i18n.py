"""Message catalogues are data (reference/i18n/*.json): every key exists in en, es, pt and fr, none is
empty, placeholders agree, and every key the code or templates use is in the catalogues."""

import json
import re
from pathlib import Path

from pipelines.service.i18n import LANGS, negotiate, parse_accept_language, placeholders

REPO = Path(__file__).resolve().parents[2]
CAT = REPO / "reference" / "i18n"
SERVICE = REPO / "pipelines" / "service"


def _cats():
    return {lang: json.loads((CAT / f"{lang}.json").read_text("utf-8")) for lang in LANGS}


def test_every_key_in_all_four_languages():
    cats = _cats()
    keys = set(cats["en"])
    assert len(keys) > 100
    for lang, cat in cats.items():
        assert set(cat) == keys, (lang, sorted(set(cat) ^ keys))
        for k, v in cat.items():
            assert isinstance(v, str) and v.strip(), (lang, k)
            assert placeholders(v) == placeholders(cats["en"][k]), (lang, k, v)


def test_translations_are_not_copies_of_english():
    cats = _cats()
    for lang in ("es", "pt", "fr"):
        same = [k for k, v in cats[lang].items() if v == cats["en"][k] and len(v) > 12]
        assert not same, (lang, same)


def test_every_key_used_is_defined():
    en = _cats()["en"]
    used = set()
    for p in (SERVICE / "templates").glob("*.html"):
        used |= set(re.findall(r"t\('([a-z_]+)'[,)]", p.read_text("utf-8")))
    for p in SERVICE.rglob("*.py"):          # routers/ too
        used |= set(re.findall(r"\"(err_[a-z_]+)\"", p.read_text("utf-8")))
    missing = sorted(k for k in used if k not in en)
    assert not missing, missing
    # keys built from a prefix in the templates
    for prefix, names in {"role_": ["office", "reviewer", "analyst", "admin"],
                          "status_": ["received", "rejected", "validated", "awaiting_review", "approved", "published",
                                      "superseded", "withdrawn"],
                          "verdict_": ["accepted", "review", "rejected", "none"],
                          "verdict_help_": ["accepted", "review", "rejected", "none"],
                          "severity_": ["error", "warn", "info"], "lang_": list(LANGS),
                          "flash_": ["acknowledged", "approved", "published", "rejected", "publish_failed",
                                     "withdrawn", "reprocessed"],
                          "pub_": ["published", "failed", "deferred"],
                          "release_from_": ["declared", "file", "received"]}.items():
        for n in names:
            assert prefix + n in en, prefix + n


def test_language_negotiation():
    assert parse_accept_language("es-AR,es;q=0.9,en;q=0.5") == ["es", "es", "en"]
    assert parse_accept_language("fr;q=0, pt") == ["pt"]
    assert negotiate(None, None, None, "de-DE,pt-BR;q=0.8") == "pt"
    assert negotiate(None, None, "fr", "es") == "fr"            # the user's saved choice beats the browser
    assert negotiate(None, "es", "fr", "en") == "es"            # the language switcher (cookie) beats both
    assert negotiate("pt", "es", "fr", "en") == "pt"            # ?lang= on the request beats everything
    assert negotiate("xx", None, None, "de") == "en"
