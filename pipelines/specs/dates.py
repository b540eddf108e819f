"""The spec-level rules of date roles (``date_part`` / ``date_format``), checked when a spec loads.

Pure functions of a layout's ``columns`` (no pandas): the adapters (``pipelines/adapters/dates.py``) read
the dates, this module only says whether the declared roles agree. See ``docs/ONBOARDING.md#date-formats``.
"""

from __future__ import annotations

MONTH_DIRECTIVES = ("%m", "%b", "%B")


def _get(spec, key):
    """``key`` of a role given as a dict (adapters) or as a typed role model (``pipelines.specs.source``)."""
    if isinstance(spec, dict):
        return spec.get(key)
    return getattr(spec, key, None)


def declared_formats(spec) -> tuple[str, ...]:
    """The role's ``date_format`` as a tuple ('' tuple when none is declared)."""
    f = _get(spec, "date_format")
    if f is None:
        return ()
    return (f,) if isinstance(f, str) else tuple(f)


def date_columns(columns: dict) -> dict[str, tuple[str, ...]]:
    """``{column: formats}`` of the date_part roles of a layout's ``columns``. Raises ValueError when the
    roles reading one column declare different formats or a format cannot give the part it must."""
    out: dict[str, tuple[str, ...]] = {}
    for role, spec in (columns or {}).items():
        if isinstance(spec, (str, int, float)) or not _get(spec, "date_part"):
            if not isinstance(spec, (str, int, float)) and _get(spec, "date_format") is not None:
                raise ValueError(f"role {role!r}: date_format without date_part")
            continue
        col, fmts = _get(spec, "column"), declared_formats(spec)
        if col in out and out[col] != fmts:
            raise ValueError(f"roles reading date column {col!r} declare different date_format "
                             f"({list(out[col])} and {list(fmts)}); one column has one format")
        for f in fmts:
            if "%Y" not in f:
                raise ValueError(f"role {role!r}: date_format {f!r} has no %Y (four-digit year)")
            if _get(spec, "date_part") == "month" and not any(d in f for d in MONTH_DIRECTIVES):
                raise ValueError(f"role {role!r}: date_format {f!r} has no month (%m, %b or %B)")
        out[col] = fmts
    return out
