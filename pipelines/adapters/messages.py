"""Problem messages as data: ``quality_rules/messages/problems.yaml`` (key -> {en, es, pt, fr}).

A problem is reported as a key plus params (the dynamic parts: names, patterns, counts, exception
texts — inserted as they are, never translated). ``render`` turns it into a sentence in one language,
falling back to English, then to the raw message. A param may itself be a nested problem
(``{"key": ..., "params": {...}}``) or a list of them (joined with ``"; "``, ``" ; "`` in French), rendered in the same
language: this is how composite messages ("the file matches no layout: layout 'a': …; layout 'b': …")
stay translatable.

The catalogue is read and checked once per path (``pipelines.i18n.load_problem_catalogue``); its path is
``<rules_dir>/messages/problems.yaml`` with ``rules_dir`` from the settings when that file exists, else the repository's copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from pipelines.i18n import load_problem_catalogue

CATALOGUE_NAME = Path("messages") / "problems.yaml"
LIST_SEPARATOR = {"fr": " ; "}  # French typography: a space before ';'
DEFAULT_CATALOGUE = Path(__file__).resolve().parents[2] / "quality_rules" / CATALOGUE_NAME


def catalogue_path() -> Path:
    """The catalogue in the configured rules directory, else the repository's copy (read at call time)."""
    try:
        from pipelines.settings import get_settings

        p = get_settings().rules_dir / CATALOGUE_NAME
        if p.is_file():
            return p
    except Exception:  # noqa: BLE001 - a bad environment must not hide the file's problems
        pass
    return DEFAULT_CATALOGUE


# key -> {lang: template}, read and checked (placeholders included) once per path by the one i18n loader
load_catalogue = load_problem_catalogue


def catalogue(path: Path | None = None) -> dict[str, dict[str, str]]:
    return load_catalogue(Path(path) if path is not None else catalogue_path())


def _param_text(v, lang: str, path: Path | None) -> str:
    if v is None:
        return ""
    if isinstance(v, Mapping) and "key" in v:
        return render(v.get("key"), v.get("params"), lang, fallback=v.get("message"), path=path)
    if isinstance(v, (list, tuple)):
        return LIST_SEPARATOR.get(lang, "; ").join(_param_text(x, lang, path) for x in v)
    return str(v)


def render(key: str | None, params: Mapping | None = None, lang: str = "en", *, fallback: str | None = None,
           path: Path | None = None) -> str:
    """The problem ``key`` with ``params`` in ``lang``; English if that language is missing; ``fallback``
    (else the key itself) if the key is unknown or a placeholder has no param."""
    try:
        entry = catalogue(path).get(key) if key else None
    except (OSError, ValueError, yaml.YAMLError) as exc:  # never let the catalogue hide the file's problem
        import logging

        logging.getLogger(__name__).warning("problem catalogue unreadable: %s", exc)
        entry = None
    if entry:
        values = {k: _param_text(v, lang, path) for k, v in (params or {}).items()}
        for tmpl in dict.fromkeys((entry.get(lang), entry.get("en"))):
            if not tmpl:
                continue
            try:
                return tmpl.format_map(values)
            except (KeyError, IndexError, ValueError):
                continue
    if fallback is not None:
        return fallback
    return key or ""


def nested(problem) -> dict | str:
    """A problem (``Problem``) as a param of another one: {key, params, message} or its plain message."""
    if getattr(problem, "key", None):
        return {"key": problem.key, "params": dict(problem.params or {}), "message": problem.message}
    return problem.message
