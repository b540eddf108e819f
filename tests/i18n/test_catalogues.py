"""Message catalogues are data (reference/i18n/*.json): every key exists in en, es, pt and fr, none is
empty, placeholders agree, and every key the code or templates use is in the catalogues. The one loader
(pipelines.i18n) checks the same when it loads."""

import json
import re
from pathlib import Path

import pytest

from pipelines.i18n import LANGUAGES as LANGS
from pipelines.i18n import check_catalogues, load_catalogues, load_problem_catalogue, negotiate, parse_accept_language, placeholders

REPO = Path(__file__).resolve().parents[2]
CAT = REPO / "reference" / "i18n"
SERVICE = REPO / "pipelines" / "service"


def _cats():
    """Every catalogue: the root files and each area's sub-folder, merged as the portal loads them."""
    merged = load_catalogues(REPO / "reference")
    return {lang: dict(merged[lang]) for lang in LANGS}


def _write_area(folder: Path, texts: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for lang in LANGS:
        (folder / f"{lang}.json").write_text(json.dumps(texts), "utf-8")


def test_areas_merge_and_a_key_defined_twice_is_refused(tmp_path):
    root = tmp_path / "reference" / "i18n"
    _write_area(root, {"a.one": "One {n}"})
    _write_area(root / "site", {"site.two": "Two"})
    cats = load_catalogues(tmp_path / "reference")
    assert cats["fr"]["a.one"] == "One {n}" and cats["pt"]["site.two"] == "Two"
    bad = tmp_path / "other" / "reference" / "i18n"
    _write_area(bad, {"a.one": "One"})
    _write_area(bad / "site", {"a.one": "Again"})
    with pytest.raises(ValueError, match="already defined"):
        load_catalogues(tmp_path / "other" / "reference")


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
    assert parse_accept_language("es-AR,es;q=0.9,en;q=0.5") == ["es-ar", "es", "en"]
    assert parse_accept_language("fr;q=0, pt") == ["pt"]
    assert negotiate(None, None, None, "de-DE,pt-BR;q=0.8") == "pt"
    assert negotiate(None, None, "fr", "es") == "fr"            # the user's saved choice beats the browser
    assert negotiate(None, "es", "fr", "en") == "es"            # the language switcher (cookie) beats both
    assert negotiate("pt", "es", "fr", "en") == "pt"            # ?lang= on the request beats everything
    assert negotiate("xx", None, None, "de") == "en"


def test_the_loader_reads_each_catalogue_once_and_checks_it(tmp_path):
    ref = REPO / "reference"
    assert load_catalogues(ref) is load_catalogues(ref)          # once per process
    assert load_catalogues(ref) == _cats()
    bad = _cats()
    bad["es"]["failing_rows"] = bad["es"]["failing_rows"].replace("{n}", "{count}")
    with pytest.raises(ValueError, match="es 'failing_rows' placeholders"):
        check_catalogues(bad, "x")
    missing = _cats()
    del missing["pt"]["failing_rows"]
    with pytest.raises(ValueError, match="pt keys differ from en"):
        check_catalogues(missing, "x")


def test_problem_catalogue_placeholders_are_checked_when_it_loads(tmp_path):
    p = tmp_path / "problems.yaml"
    p.write_text("k:\n  en: 'column {column} is missing'\n  es: 'falta la columna {columna}'\n", encoding="utf-8")
    with pytest.raises(ValueError, match="problem 'k' in es has placeholders"):
        load_problem_catalogue(p)
    ok = tmp_path / "ok.yaml"
    ok.write_text("k:\n  en: 'column {column} is missing'\n  es: 'falta la columna {column}'\n", encoding="utf-8")
    assert load_problem_catalogue(ok)["k"]["es"] == "falta la columna {column}"
