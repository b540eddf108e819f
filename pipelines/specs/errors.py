"""Load errors of typed configuration: ``<file>: <what>: <field path>: <reason> (see docs/ONBOARDING.md#…)``.

One formatter for every typed file (source specs, crosswalk rows, settings): a pydantic ``ValidationError``
becomes one sentence per field, the field written as a path (``layouts[0].columns.year.date_fromat``), a
misspelt key with the known key it most resembles.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable

from pydantic import ValidationError

# loc items that name a member of a union (pydantic adds them), not a field of the file
UNION_MEMBERS = {"str", "int", "float", "bool", "list[str]", "dict[str,any]", "none",
                 "text-role", "const-role", "join-role", "column-role"}


def field_path(loc: Iterable) -> str:
    """``("layouts", 0, "columns", "year")`` -> ``layouts[0].columns.year`` (union member names dropped)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).lower().replace(" ", "") in UNION_MEMBERS or str(part).startswith("function-"):
            continue
        elif part == "[key]":
            out += " (key)"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def clean_loc(loc: Iterable) -> list:
    return [p for p in loc if not (isinstance(p, str) and (p.lower().replace(" ", "") in UNION_MEMBERS
                                                             or p.startswith("function-") or p == "[key]"))]


def _reason(err: dict, known_fields: Iterable[str]) -> str:
    if err["type"] == "extra_forbidden":
        name = str(clean_loc(err["loc"])[-1]) if clean_loc(err["loc"]) else ""
        close = difflib.get_close_matches(name, sorted(set(known_fields)), n=1, cutoff=0.75)
        return "unknown field" + (f" (did you mean {close[0]!r}?)" if close else "")
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    if err["type"] in ("missing",):
        return "required field missing"
    value = err.get("input")
    if isinstance(value, (str, int, float, bool)) and not err["type"].startswith(("value_error", "assertion")):
        msg += f" (found {value!r})"
    return msg


def messages(exc: ValidationError, known_fields: Iterable[str] = ()) -> list[tuple[list, str, str]]:
    """(cleaned loc, field path, reason) per failing field; the reasons of one field (several union members
    failing) joined with ``or``."""
    by_path: dict[str, tuple[list, list[str]]] = {}
    known = list(known_fields)
    for err in exc.errors():
        path = field_path(err["loc"])
        loc, reasons = by_path.setdefault(path, (clean_loc(err["loc"]), []))
        r = _reason(err, known)
        if r not in reasons:
            reasons.append(r)
    return [(loc, path, " or ".join(reasons)) for path, (loc, reasons) in by_path.items()]


def format_errors(file, what: str, errors: Iterable[tuple[list, str, str]],
                  anchor: Callable[[list, str], str]) -> list[str]:
    """One message per error: ``<file>: <what>: <field>: <reason> (see docs/ONBOARDING.md#<anchor>)``."""
    from pipelines.docs_ref import see

    return [f"{file}: {what}: {path}: {reason} ({see(anchor(loc, reason))})" for loc, path, reason in errors]
