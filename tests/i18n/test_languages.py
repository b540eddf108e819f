"""The language list is defined once (pipelines/i18n/languages.py) and the request language is negotiated
with Babel: ?lang= > cookie > the user's saved preference > Accept-Language > English."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from pipelines.i18n import DEFAULT_LANGUAGE, LANGUAGES, negotiate

PIPELINES = Path(__file__).resolve().parents[2] / "pipelines"
HOME = PIPELINES / "i18n" / "languages.py"


def _literals_of_the_languages():
    """Every tuple/list/set literal in pipelines/ made of (at least) the four codes, as path:line."""
    codes = set(LANGUAGES)
    out = []
    for p in sorted(PIPELINES.rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text("utf-8"))):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                vals = {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
                if codes <= vals:
                    out.append(f"{p.relative_to(PIPELINES.parent)}:{node.lineno}")
    return out


def test_the_language_list_is_defined_once():
    assert LANGUAGES == ("en", "es", "pt", "fr") and DEFAULT_LANGUAGE == "en"
    assert _literals_of_the_languages() == ["pipelines/i18n/languages.py:6"]


def test_the_check_finds_a_second_list(tmp_path, monkeypatch):
    fake = tmp_path / "pipelines"
    (fake / "i18n").mkdir(parents=True)
    (fake / "i18n" / "languages.py").write_text(HOME.read_text("utf-8"), encoding="utf-8")
    (fake / "other.py").write_text('LANGS = ["fr", "pt", "es", "en"]\n', encoding="utf-8")
    monkeypatch.setattr(__import__(__name__), "PIPELINES", fake)
    assert sorted(_literals_of_the_languages()) == ["pipelines/i18n/languages.py:6", "pipelines/other.py:1"]


@pytest.mark.parametrize("header,lang", [
    ("pt-BR,pt;q=0.9", "pt"),
    ("fr-CA", "fr"),
    ("de", "en"),
    ("de-DE,de;q=0.9", "en"),
    ("es-AR,es;q=0.9,en;q=0.5", "es"),
    ("de-DE,pt-BR;q=0.8", "pt"),
    ("ES-mx", "es"),
    ("en;q=0.1,fr;q=0.9", "fr"),
    ("fr;q=0, pt", "pt"),
    ("*", "en"),
    ("", "en"),
    (None, "en"),
])
def test_accept_language(header, lang):
    assert negotiate(None, None, None, header) == lang


def test_precedence_query_cookie_user_header():
    sources = {"query": "pt", "cookie": "es", "user": "fr", "header": "en-US"}
    order = ["query", "cookie", "user", "header"]
    for present in itertools.product([False, True], repeat=4):
        args = [sources[k] if on else None for k, on in zip(order, present)]
        first = next((sources[k] for k, on in zip(order, present) if on), None)
        assert negotiate(*args) == (first[:2] if first else "en"), args
    assert negotiate("xx", "yy", "zz", "de") == "en"    # unknown codes anywhere fall through
