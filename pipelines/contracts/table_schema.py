"""The one Table Schema validator of hemistat: every CSV under ``reference/`` against its ``*.schema.json``,
built on the Frictionless Framework (``frictionless``), offline.

* ``TABLE_SCHEMA_METASCHEMA`` is the house profile: a JSON Schema for the subset of Table Schema used in
  ``reference/``, stricter than the spec (unknown keys are rejected so that typos such as ``"requird"`` fail).
* ``validate_descriptor(schema)`` checks a descriptor against Frictionless's own Table Schema profile and the
  house profile (and that primary/foreign keys name existing fields).
* ``validate_csv(path, schema, resources)`` checks one CSV with Frictionless: header, cell types, constraints
  (required, unique, pattern, enum, minimum, maximum, minLength, maxLength), primary key and foreign keys,
  plus the house byte rules (UTF-8 without BOM, LF line endings, a final line break). ``resources`` maps a
  foreign-key resource name (``reference.resource``) to a CSV path; ``""`` is the table itself.
  Every message names the file, the row (the header is row 1, so a row is the line of the file), the
  column and the reason: ``crosswalks/ar_snic.csv, row 7, column iccs_code: '0199' is not in iccs.code``.
* ``check_table`` / ``check_all_tables`` are what ``hemistat doctor`` and the tests run on ``reference/``:
  ``TABLES`` says which schema each CSV follows and ``RESOURCES`` which file a foreign key refers to.

Frictionless only reads local files here (``trusted`` context for absolute paths, CSV dialect given, no
remote ``$schema``/profile lookup), so validation works without a network.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any, Mapping

import jsonschema

FIELD_TYPES = ["string", "integer", "number", "boolean", "year", "date"]

TABLE_SCHEMA_METASCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Table Schema (subset used by hemistat reference tables)",
    "type": "object",
    "required": ["fields", "primaryKey"],
    "additionalProperties": False,
    "properties": {
        "$schema": {"type": "string"},
        "name": {"type": "string", "pattern": "^[a-z0-9_.-]+$"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "path": {"type": "string"},
        "fields": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "type"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "type": {"enum": FIELD_TYPES},
                    "format": {"type": "string"},
                    "example": {},
                    "trueValues": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "falseValues": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "constraints": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "required": {"type": "boolean"},
                            "unique": {"type": "boolean"},
                            "pattern": {"type": "string"},
                            "enum": {"type": "array", "minItems": 1},
                            "minimum": {"type": ["number", "integer"]},
                            "maximum": {"type": ["number", "integer"]},
                            "minLength": {"type": "integer", "minimum": 0},
                            "maxLength": {"type": "integer", "minimum": 0},
                        },
                    },
                },
            },
        },
        "primaryKey": {
            "oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": True},
            ]
        },
        "foreignKeys": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["fields", "reference"],
                "additionalProperties": False,
                "properties": {
                    "fields": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
                    "reference": {
                        "type": "object",
                        "required": ["resource", "fields"],
                        "additionalProperties": False,
                        "properties": {
                            "resource": {"type": "string"},
                            "fields": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
                        },
                    },
                },
            },
        },
        "missingValues": {"type": "array", "items": {"type": "string"}},
    },
}

# which schema each CSV of reference/ follows (paths relative to reference/); crosswalks share one schema
TABLES: dict[str, str] = {
    "iccs/iccs.csv": "iccs/iccs.schema.json",
    "iccs/iccs_notes.csv": "iccs/iccs_notes.schema.json",
    "countries/oas_members.csv": "countries/oas_members.schema.json",
    "population/national.csv": "population/national.schema.json",
    "population/subnational.csv": "population/subnational.schema.json",
    "templates/hemistat_template.csv": "templates/hemistat_template.schema.json",
    "templates/hemistat_template_sdmx.csv": "templates/hemistat_template_sdmx.schema.json",
}
CROSSWALK_SCHEMA = "crosswalks/crosswalk.schema.json"
# foreign-key resource name (Table Schema "reference.resource") -> file under reference/
RESOURCES: dict[str, str] = {"iccs": "iccs/iccs.csv", "oas_members": "countries/oas_members.csv"}
# CSV files that are inputs of `python -m pipelines.refbuild`, copied as published: no schema of ours
UNCHECKED_DIRS = ("population/sources/",)


class SchemaMismatch(ValueError):
    """A reference table does not match its schema (the message lists every problem)."""


def _as_list(v: str | list[str]) -> list[str]:
    return [v] if isinstance(v, str) else list(v)


def load_schema(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def validate_descriptor(schema: Mapping[str, Any]) -> list[str]:
    """Problems of a Table Schema descriptor (empty list: valid)."""
    errors = [
        f"descriptor: {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in jsonschema.Draft202012Validator(TABLE_SCHEMA_METASCHEMA).iter_errors(schema)
    ]
    if errors:
        return errors
    from frictionless import Schema

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        errors += [f"descriptor: {e.message}" for e in Schema.validate_descriptor(dict(schema)).errors]
    names = [f["name"] for f in schema["fields"]]
    if len(set(names)) != len(names):
        errors.append("descriptor: duplicate field names")
    for k in _as_list(schema["primaryKey"]):
        if k not in names:
            errors.append(f"descriptor: primaryKey field {k!r} is not a field")
    for fk in schema.get("foreignKeys", []):
        if len(_as_list(fk["fields"])) != len(_as_list(fk["reference"]["fields"])):
            errors.append(f"descriptor: foreign key {fk!r} has mismatched field counts")
        for k in _as_list(fk["fields"]):
            if k not in names:
                errors.append(f"descriptor: foreignKey field {k!r} is not a field")
    for f in schema["fields"]:
        c = f.get("constraints", {})
        if "pattern" in c:
            try:
                re.compile(c["pattern"])
            except re.error as exc:
                errors.append(f"descriptor: field {f['name']}: bad pattern: {exc}")
    return errors


def _byte_rules(raw: bytes) -> list[str]:
    out = []
    if raw.startswith(b"\xef\xbb\xbf"):
        out.append("file starts with a UTF-8 BOM (save as UTF-8 without BOM)")
    if b"\r" in raw:
        out.append("file contains CR characters (expected LF line endings)")
    if raw and not raw.endswith(b"\n"):
        out.append("file does not end with a newline")
    return out


_CONSTRAINT = re.compile(r'constraint "(\w+)" is "(.*)"$', re.S)


def _reason(e, schema: Mapping[str, Any]) -> tuple[str, str]:
    """(column, reason) of one Frictionless error, in words a data manager can act on."""
    t = e.type
    field = getattr(e, "field_name", "") or ""
    cell = getattr(e, "cell", None)
    if t == "constraint-error":
        m = _CONSTRAINT.match(e.note or "")
        name, value = (m.group(1), m.group(2)) if m else ("", e.note)
        reason = {
            "required": "is required but empty",
            "pattern": f"{cell!r} does not match the pattern {value}",
            "enum": f"{cell!r} is not one of {value}",
            "minimum": f"{cell!r} is below the minimum {value}",
            "maximum": f"{cell!r} is above the maximum {value}",
            "minLength": f"{cell!r} is shorter than minLength {value} ({len(cell or '')} characters)",
            "maxLength": f"{cell!r} is longer than maxLength {value} ({len(cell or '')} characters)",
        }.get(name, f"{cell!r} breaks the constraint {name} = {value}")
        return field, reason
    if t == "type-error":
        return field, f"{cell!r} is not of type {getattr(e, 'field_type', '') or 'the declared type'}"
    if t in ("unique-error", "primary-key"):
        m = re.search(r"position \"?(\d+)", e.note or "")
        first = f"row {m.group(1)}" if m else e.note
        if t == "unique-error":
            return field, f"{cell!r} is not unique (also in {first})"
        pk = _as_list(schema.get("primaryKey") or [])
        return ", ".join(pk), f"duplicate primary key (same values as {first})"
    if t == "foreign-key":
        cols = ", ".join(e.field_names)
        vals = ", ".join(repr(c) for c in e.field_cells)
        target = ", ".join(e.reference_field_names)
        if e.reference_name:
            return cols, f"{vals} is not in {e.reference_name}.{target} (foreign key)"
        return cols, f"{vals} is not in column {target} of this table (foreign key)"
    if t in ("missing-cell", "extra-cell"):
        return field or str(getattr(e, "field_number", "")), e.note or e.title.lower()
    if isinstance(getattr(e, "label", None), str) or t.endswith("-label"):
        return field or getattr(e, "label", ""), f"{e.title.lower()}: {e.note}" if e.note else e.title.lower()
    return field, e.message


def _where(label: str, row: int | None, column: str) -> str:
    parts = [label]
    if row:
        parts.append(f"row {row}")
    if column:
        parts.append(f"column {column}")
    return ", ".join(parts)


def _frictionless_errors(path: Path, schema: Mapping[str, Any], resources: Mapping[str, str | Path],
                         label: str, max_errors: int) -> tuple[list[str], int]:
    from frictionless import Detector, Package, Resource, Schema, formats, system

    control = formats.CsvControl(delimiter=",", quote_char='"')
    name = schema.get("name") or "table"

    def resource(n: str, p: Path, s: Mapping[str, Any] | None) -> Resource:
        kw: dict[str, Any] = {"name": n, "path": str(Path(p).resolve()), "format": "csv", "encoding": "utf-8",
                              "control": control}
        if s is not None:
            kw["schema"] = Schema.from_descriptor(dict(s))
        else:  # a referenced table is read as text (its own types are checked when it is validated)
            kw["detector"] = Detector(field_type="string")
        return Resource(**kw)

    errors: list[str] = []
    with warnings.catch_warnings(), system.use_context(trusted=True):
        warnings.simplefilter("ignore")
        main = resource(name, path, schema)
        others = []
        for fk in schema.get("foreignKeys", []):
            ref = fk["reference"]["resource"]
            if ref in ("", name) or any(o.name == ref for o in others):
                continue
            if ref not in resources:
                errors.append(f"{label}: foreign key resource {ref!r} not provided")
                continue
            others.append(resource(ref, Path(resources[ref]), None))
        if errors:
            return errors, 0
        Package(resources=[main, *others])
        report = main.validate(limit_errors=max_errors)
    task = report.tasks[0] if report.tasks else None
    for e in report.errors:
        errors.append(f"{label}: {e.message}")
    if task is None:
        return errors, 0
    for e in task.errors:
        column, reason = _reason(e, schema)
        errors.append(f"{_where(label, getattr(e, 'row_number', None), column)}: {reason}")
    if task.warnings:
        errors += [f"{label}: … stopped after {max_errors} errors" for w in task.warnings if "limit" in w][:1]
    return errors, int(task.stats.get("rows") or 0)


def _validate(path: str | Path, schema: Mapping[str, Any], resources: Mapping[str, str | Path] | None,
              max_errors: int, label: str | None) -> tuple[list[str], int]:
    path = Path(path)
    label = label or path.name
    errors = [f"{label}: {d}" for d in validate_descriptor(schema)]
    if errors:
        return errors, 0
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [f"{label}: cannot read the file ({exc})"], 0
    errors = [f"{label}: {m}" for m in _byte_rules(raw)]
    more, rows = _frictionless_errors(path, schema, resources or {}, label, max_errors)
    return errors + more, rows


def validate_csv(
    path: str | Path,
    schema: Mapping[str, Any],
    resources: Mapping[str, str | Path] | None = None,
    max_errors: int = 50,
    *,
    label: str | None = None,
) -> list[str]:
    """Every problem of ``path`` against ``schema`` (empty list: valid). Messages start with ``label``
    (default: the file name), then the row and the column where there is one, then the reason."""
    return _validate(path, schema, resources, max_errors, label)[0]


def assert_valid_csv(path: str | Path, schema: Mapping[str, Any], resources: Mapping[str, str | Path] | None = None) -> None:
    errors = validate_csv(path, schema, resources)
    if errors:
        raise SchemaMismatch(f"{path}: {len(errors)} schema error(s):\n  " + "\n  ".join(errors))


# --------------------------------------------------------------------------------------------------
# reference/ as a whole
# --------------------------------------------------------------------------------------------------
def schema_for(reference_dir: Path, csv_rel: str) -> str | None:
    """The schema (relative to reference/) of a CSV (relative to reference/), None if it has none."""
    if csv_rel in TABLES:
        return TABLES[csv_rel]
    if csv_rel.startswith("crosswalks/"):
        return CROSSWALK_SCHEMA
    own = Path(csv_rel).with_suffix(".schema.json").as_posix()
    return own if (Path(reference_dir) / own).is_file() else None


def resources_in(reference_dir: Path) -> dict[str, Path]:
    return {name: Path(reference_dir) / rel for name, rel in RESOURCES.items()}


def check_table(csv_path: Path, schema_path: Path, reference_dir: Path | None = None, *,
                label: str | None = None) -> int:
    """Rows of ``csv_path``; raises ``SchemaMismatch`` listing every problem. Foreign keys refer to the
    tables of ``reference_dir`` (default: the folder two levels above the schema)."""
    ref = Path(reference_dir) if reference_dir is not None else Path(schema_path).resolve().parents[1]
    errors, rows = _validate(csv_path, load_schema(schema_path), resources_in(ref), 50, label)
    if errors:
        raise SchemaMismatch(f"{len(errors)} schema error(s):\n  " + "\n  ".join(errors))
    return rows


def check_all_tables(reference_dir: Path) -> int:
    """Check every CSV under reference/ against its schema. Returns how many were checked; raises
    ``SchemaMismatch`` with every problem of every table (and the CSV files without a schema)."""
    ref = Path(reference_dir)
    n, problems, missing = 0, [], []
    for p in sorted(ref.rglob("*.csv")):
        rel = p.relative_to(ref).as_posix()
        if rel.startswith(UNCHECKED_DIRS):
            continue
        s = schema_for(ref, rel)
        if s is None:
            missing.append(rel)
            continue
        errors, _ = _validate(p, load_schema(ref / s), resources_in(ref), 50, rel)
        problems += errors
        n += 1
    if missing:
        problems.append(f"CSV files without a schema: {', '.join(missing)}")
    if problems:
        raise SchemaMismatch(f"{len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return n
