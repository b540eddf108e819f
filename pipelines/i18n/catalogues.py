"""Message catalogues are data, read once per process and checked when they load.

* the portal's ``reference/i18n/{lang}.json`` (flat key -> text with ``{placeholders}``), one file per language;
* the problem catalogue ``quality_rules/messages/problems.yaml`` (key -> {en, es, pt, fr}).

A catalogue whose languages do not have the same keys, or whose translations do not have the same
placeholders as English, fails to load (``ValueError`` naming the file, key and language).
"""

from __future__ import annotations

import functools
import json
import string
from pathlib import Path

from pipelines import yamlio
from pipelines.i18n.languages import DEFAULT_LANGUAGE, LANGUAGES


def placeholders(text: str) -> set[str]:
    """The ``{names}`` of a message template."""
    try:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}
    except ValueError:  # an unbalanced brace: no placeholder can be filled
        return set()


def check_catalogues(cats: dict[str, dict[str, str]], where: str) -> None:
    """Every language has English's keys, every text is non-empty, placeholders agree; raises ValueError."""
    en = cats[DEFAULT_LANGUAGE]
    for lang in LANGUAGES:
        cat = cats.get(lang)
        if not isinstance(cat, dict):
            raise ValueError(f"{where}: no {lang} catalogue")
        if set(cat) != set(en):
            raise ValueError(f"{where}: {lang} keys differ from en: {sorted(set(cat) ^ set(en))}")
        for key, text in cat.items():
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{where}: {lang} {key!r} is empty")
            if placeholders(text) != placeholders(en[key]):
                raise ValueError(f"{where}: {lang} {key!r} placeholders {sorted(placeholders(text))} "
                                 f"!= en {sorted(placeholders(en[key]))}")


def _read_area(folder: Path) -> dict[str, dict[str, str]]:
    cats = {lang: json.loads((folder / f"{lang}.json").read_text("utf-8")) for lang in LANGUAGES}
    check_catalogues(cats, str(folder))
    return cats


@functools.cache
def _load_catalogues(folder: Path) -> dict[str, dict[str, str]]:
    """``folder/{lang}.json`` plus one sub-folder per area of the product (``folder/<area>/{lang}.json``: the
    public site, practices, the Network …), merged into one catalogue per language. Each area is checked on
    its own (same keys in every language, same placeholders); a key defined by two areas is an error."""
    cats = _read_area(folder)
    owner = {key: folder.name for key in cats["en"]}
    for area in sorted(p for p in folder.iterdir() if p.is_dir() and (p / "en.json").exists()):
        extra = _read_area(area)
        clash = sorted(set(extra["en"]) & set(owner))
        if clash:
            raise ValueError(f"{area}: keys already defined in {owner[clash[0]]}: {clash[:5]}")
        owner.update({key: area.name for key in extra["en"]})
        for lang in LANGUAGES:
            cats[lang].update(extra[lang])
    return cats


def load_catalogues(reference_dir: Path) -> dict[str, dict[str, str]]:
    """The portal's catalogues ``<reference_dir>/i18n/{lang}.json`` and ``<reference_dir>/i18n/<area>/{lang}.json``:
    lang -> key -> text (read once)."""
    return _load_catalogues(Path(reference_dir).resolve() / "i18n")


@functools.cache
def load_problem_catalogue(path: Path) -> dict[str, dict[str, str]]:
    """key -> {lang: template} of a problem catalogue (YAML); read and checked once per path. A language
    may be missing (English is the fallback), English may not; placeholders agree with English."""
    doc = yamlio.load(Path(path).read_text("utf-8")) or {}
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: the problem catalogue must be a mapping key -> {{{', '.join(LANGUAGES)}}}")
    for key, entry in doc.items():
        if (not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values())
                or DEFAULT_LANGUAGE not in entry):
            raise ValueError(f"{path}: problem {key!r} must map languages to text and have '{DEFAULT_LANGUAGE}'")
        unknown = set(entry) - set(LANGUAGES)
        if unknown:
            raise ValueError(f"{path}: problem {key!r} has unknown languages {sorted(unknown)}")
        want = placeholders(entry[DEFAULT_LANGUAGE])
        for lang, text in entry.items():
            if placeholders(text) != want:
                raise ValueError(f"{path}: problem {key!r} in {lang} has placeholders {sorted(placeholders(text))}"
                                 f", English has {sorted(want)}")
    return doc


class Translator:
    """``t(key, **params)``: the text of ``key`` in one language (else English, else the key itself)."""

    def __init__(self, catalogues: dict[str, dict[str, str]], lang: str):
        self.cat = catalogues
        self.lang = lang if lang in catalogues else DEFAULT_LANGUAGE

    def __call__(self, key: str, **params) -> str:
        text = self.cat[self.lang].get(key) or self.cat[DEFAULT_LANGUAGE].get(key) or key
        if params:
            try:
                return text.format(**params)
            except (KeyError, IndexError, ValueError):
                return text
        return text
