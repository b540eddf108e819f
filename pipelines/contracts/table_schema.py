"""A small Frictionless-style Table Schema validator (no extra dependencies beyond jsonschema).

* ``TABLE_SCHEMA_METASCHEMA`` is a JSON Schema for the subset of Table Schema used in ``reference/``
  (stricter than the spec: unknown keys are rejected so that typos such as ``"requird"`` fail).
* ``validate_descriptor(schema)`` checks a descriptor against it and checks the primary/foreign keys
  name existing fields.
* ``validate_csv(path, schema, resources)`` checks a CSV file: header, cell types, constraints
  (required, unique, pattern, enum, minimum, maximum, minLength, maxLength), primary key uniqueness
  and foreign keys. ``resources`` maps a foreign-key resource name to a CSV path; the empty name ``""``
  means the table itself (self-reference, as in the Table Schema spec).

Returns lists of error strings (empty = valid); ``assert_valid_*`` raise ``ValueError`` instead.
"""

from __future__ import annotations

import csv
import json
import math
import re
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
                    "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
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

_INT = re.compile(r"-?(0|[1-9][0-9]*)")
_YEAR = re.compile(r"[0-9]{4}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DEFAULT_TRUE = ["true", "True", "TRUE", "1"]
_DEFAULT_FALSE = ["false", "False", "FALSE", "0"]


def _as_list(v: str | list[str]) -> list[str]:
    return [v] if isinstance(v, str) else list(v)


def load_schema(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def validate_descriptor(schema: Mapping[str, Any]) -> list[str]:
    errors = [
        f"descriptor: {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in jsonschema.Draft202012Validator(TABLE_SCHEMA_METASCHEMA).iter_errors(schema)
    ]
    if errors:
        return errors
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


def _cast(value: str, fdef: Mapping[str, Any]) -> Any:
    """Return the typed value or raise ValueError."""
    t = fdef["type"]
    if t == "string":
        return value
    if t == "integer":
        if not _INT.fullmatch(value):
            raise ValueError(f"not an integer: {value!r}")
        return int(value)
    if t == "year":
        if not _YEAR.fullmatch(value):
            raise ValueError(f"not a year: {value!r}")
        return int(value)
    if t == "number":
        x = float(value)
        if math.isnan(x) or math.isinf(x):
            raise ValueError(f"not a finite number: {value!r}")
        return x
    if t == "boolean":
        if value in fdef.get("trueValues", _DEFAULT_TRUE):
            return True
        if value in fdef.get("falseValues", _DEFAULT_FALSE):
            return False
        raise ValueError(f"not a boolean: {value!r}")
    if t == "date":
        if not _DATE.fullmatch(value):
            raise ValueError(f"not a date: {value!r}")
        return value
    raise ValueError(f"unsupported type {t!r}")


def read_csv_rows(path: str | Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return [], []
    return rows[0], rows[1:]


def _key_values(path: str | Path, fields: list[str]) -> set[tuple[str, ...]]:
    header, rows = read_csv_rows(path)
    idx = [header.index(f) for f in fields]
    return {tuple(r[i] for i in idx) for r in rows}


def validate_csv(
    path: str | Path,
    schema: Mapping[str, Any],
    resources: Mapping[str, str | Path] | None = None,
    max_errors: int = 50,
) -> list[str]:
    errors = validate_descriptor(schema)
    if errors:
        return errors
    raw = Path(path).read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        errors.append("file starts with a UTF-8 BOM")
    if b"\r" in raw:
        errors.append("file contains CR characters (expected LF line endings)")
    if raw and not raw.endswith(b"\n"):
        errors.append("file does not end with a newline")
    header, rows = read_csv_rows(path)
    fields = schema["fields"]
    names = [f["name"] for f in fields]
    if header != names:
        return errors + [f"header {header} != schema fields {names}"]
    missing_values = set(schema.get("missingValues", [""]))
    seen: dict[str, set] = {f["name"]: set() for f in fields if f.get("constraints", {}).get("unique")}

    def err(msg: str) -> None:
        errors.append(msg)

    for lineno, row in enumerate(rows, start=2):
        if len(errors) >= max_errors:
            err("... too many errors, stopping")
            return errors
        if len(row) != len(fields):
            err(f"line {lineno}: {len(row)} cells, expected {len(fields)}")
            continue
        for fdef, value in zip(fields, row):
            name, c = fdef["name"], fdef.get("constraints", {})
            if value in missing_values:
                if c.get("required"):
                    err(f"line {lineno}: {name} is required but empty")
                continue
            try:
                typed = _cast(value, fdef)
            except ValueError as exc:
                err(f"line {lineno}: {name}: {exc}")
                continue
            if "pattern" in c and not re.fullmatch(c["pattern"], value):
                err(f"line {lineno}: {name}={value!r} does not match pattern {c['pattern']!r}")
            if "enum" in c and typed not in c["enum"]:
                err(f"line {lineno}: {name}={value!r} not in enum")
            if "minimum" in c and typed < c["minimum"]:
                err(f"line {lineno}: {name}={value!r} < minimum {c['minimum']}")
            if "maximum" in c and typed > c["maximum"]:
                err(f"line {lineno}: {name}={value!r} > maximum {c['maximum']}")
            if "minLength" in c and len(value) < c["minLength"]:
                err(f"line {lineno}: {name} shorter than {c['minLength']}")
            if "maxLength" in c and len(value) > c["maxLength"]:
                err(f"line {lineno}: {name} longer than {c['maxLength']}")
            if name in seen:
                if typed in seen[name]:
                    err(f"line {lineno}: {name}={value!r} is not unique")
                seen[name].add(typed)

    pk = _as_list(schema["primaryKey"])
    idx = [names.index(k) for k in pk]
    keys: set[tuple[str, ...]] = set()
    for lineno, row in enumerate(rows, start=2):
        if len(row) != len(fields):
            continue
        key = tuple(row[i] for i in idx)
        if key in keys:
            err(f"line {lineno}: duplicate primary key {key}")
        keys.add(key)

    for fk in schema.get("foreignKeys", []):
        src = _as_list(fk["fields"])
        ref_name = fk["reference"]["resource"]
        ref_fields = _as_list(fk["reference"]["fields"])
        if ref_name == "":
            ref_path: str | Path = path
        elif resources and ref_name in resources:
            ref_path = resources[ref_name]
        else:
            err(f"foreign key resource {ref_name!r} not provided")
            continue
        targets = _key_values(ref_path, ref_fields)
        sidx = [names.index(f) for f in src]
        for lineno, row in enumerate(rows, start=2):
            if len(row) != len(fields):
                continue
            vals = tuple(row[i] for i in sidx)
            if all(v in missing_values for v in vals):
                continue  # null foreign keys are allowed
            if vals not in targets:
                err(f"line {lineno}: foreign key {src}={vals} not found in {ref_name or 'self'}.{ref_fields}")
                if len(errors) >= max_errors:
                    return errors
    return errors


def assert_valid_csv(path: str | Path, schema: Mapping[str, Any], resources: Mapping[str, str | Path] | None = None) -> None:
    errors = validate_csv(path, schema, resources)
    if errors:
        raise ValueError(f"{path}: {len(errors)} schema error(s):\n  " + "\n  ".join(errors))
