"""Source specs: ``reference/sources/<source>.yaml`` describes a source declaratively.

A spec has one or more *layouts* (one per file shape the publisher uses). ``hemistat`` picks the
layout whose required columns appear in the file's header, so a source may publish several files
(e.g. Argentina SNIC provinces ``,`` and national ``;``). See ``reference/sources/README.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml


DEFAULT_SCOPE_BY = ["year", "subdivision_code"]


def scope_by(raw: dict) -> list[str]:
    """The dimensions of a vintage unit besides country and level (national / subdivision rows), from a
    spec's ``scope`` (default: year and subdivision; a ``full`` export: none)."""
    scope = raw.get("scope") or {}
    return [] if scope.get("kind") == "full" else list(scope.get("by", DEFAULT_SCOPE_BY))


@dataclass(frozen=True)
class SourceSpec:
    source_id: str
    raw: dict
    path: Path

    @property
    def title(self) -> str:
        return self.raw.get("title", self.source_id)

    @property
    def layouts(self) -> list[dict]:
        return self.raw["layouts"]

    @property
    def crosswalk(self) -> str:
        return self.raw.get("crosswalk", self.source_id)

    @property
    def hierarchy_separator(self) -> str | None:
        return (self.raw.get("hierarchy") or {}).get("child_separator")

    @property
    def subset_codes(self) -> list[str]:
        """National codes that are subsets (tags) of another code and must never be summed with it."""
        return list((self.raw.get("hierarchy") or {}).get("subset_codes", []))

    def hierarchy_pairs(self, codes) -> list[tuple[str, str]]:
        """(child, parent) pairs among ``codes`` (the national codes present): children named by the separator
        (SNIC ``11_2`` under ``11``) or listed under ``hierarchy.children``. The one builder of these pairs."""
        codes = set(codes)
        rows = []
        sep = self.hierarchy_separator
        if sep:
            rows += [(c, c.rsplit(sep, 1)[0]) for c in sorted(codes) if sep in c and c.rsplit(sep, 1)[0] in codes]
        for p, kids in ((self.raw.get("hierarchy") or {}).get("children") or {}).items():
            rows += [(k, p) for k in kids if k in codes and p in codes]
        return rows

    @property
    def comparability(self) -> str:
        return self.raw.get("comparability", "national")

    @property
    def files(self) -> list[str]:
        return list(self.raw.get("files", []))

    @property
    def scope_kind(self) -> str:
        """``increment`` (default) or ``full``: see ``scope`` in source.schema.json."""
        return (self.raw.get("scope") or {}).get("kind", "increment")

    @property
    def scope_by(self) -> list[str]:
        return scope_by(self.raw)


def _schema(reference_dir: Path) -> dict:
    return json.loads((reference_dir / "sources" / "source.schema.json").read_text(encoding="utf-8"))


def _check_date_roles(raw: dict, path: Path) -> None:
    """The date roles of each layout (and of each record_sum variant merged over it) agree on one
    date_format per column with the parts they take (pipelines/adapters/dates.py)."""
    from pipelines.adapters.dates import date_columns

    for layout in raw.get("layouts") or []:
        cols = layout.get("columns") or {}
        variants = (layout.get("options") or {}).get("variants") or []
        for name, columns in [(layout.get("name"), cols)] + [
                (f"{layout.get('name')}/{v.get('name')}", {**cols, **(v.get("columns") or {})})
                for v in variants if isinstance(v, dict)]:
            try:
                date_columns(columns)
            except ValueError as exc:
                raise ValueError(f"{path}: layout {name!r}: {exc} (see docs/ONBOARDING.md#date-formats)") from exc


def load_spec(source_id: str, reference_dir: Path) -> SourceSpec:
    specs = load_all_specs(reference_dir)
    if source_id not in specs:
        known = ", ".join(sorted(specs)) or "none"
        raise KeyError(f"unknown source {source_id!r}; known sources: {known} "
                       f"(see docs/ONBOARDING.md#source-spec)")
    return specs[source_id]


def load_all_specs(reference_dir: Path) -> dict[str, SourceSpec]:
    """Every source spec, validated. Cached per process and read again when a spec file changes (a spec
    fixed while the portal runs is used by the next reading, e.g. ``hemistat reprocess``)."""
    ref = Path(reference_dir).resolve()
    files = [ref / "sources" / "source.schema.json", *sorted((ref / "sources").glob("*.yaml"))]
    sig = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files if p.exists())
    return dict(_load_all(str(ref), sig))


@lru_cache(maxsize=8)
def _load_all(reference_dir: str, signature: tuple = ()) -> tuple[tuple[str, SourceSpec], ...]:
    ref = Path(reference_dir)
    schema = _schema(ref)
    out = []
    for p in sorted((ref / "sources").glob("*.yaml")):
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
        try:
            jsonschema.validate(raw, schema)
        except jsonschema.ValidationError as exc:
            from pipelines.docs_ref import see, section_for_spec_error

            raise ValueError(f"{p}: invalid source spec: {exc.message} at {list(exc.absolute_path)} "
                             f"({see(section_for_spec_error(list(exc.absolute_path)))})") from exc
        _check_date_roles(raw, p)
        by = (raw.get("scope") or {}).get("by") or []
        if (raw.get("scope") or {}).get("kind") == "full" and by:
            raise ValueError(f"{p}: scope.by applies to increments only (a full export covers the whole series)")
        if raw["source_id"] != p.stem:
            raise ValueError(f"{p}: source_id {raw['source_id']!r} must equal the file name {p.stem!r} "
                             f"(see docs/ONBOARDING.md#spec-keys)")
        out.append((raw["source_id"], SourceSpec(raw["source_id"], raw, p)))
    return tuple(out)
