"""Validate reference CSV files against their Frictionless-style Table Schemas (``*.schema.json``).

Supports the subset of Table Schema used in ``reference/``: field ``type`` (string, integer, number,
boolean, year), ``constraints`` (required, unique, pattern, enum, minimum, maximum) and ``primaryKey``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd


class SchemaMismatch(ValueError):
    pass


def schema_for(csv_path: Path) -> Path | None:
    for cand in (csv_path.with_suffix(".schema.json"), csv_path.parent / f"{csv_path.parent.name}.schema.json",
                 csv_path.parent / "crosswalk.schema.json"):
        if cand.exists():
            return cand
    return None


def check_table(csv_path: Path, schema_path: Path) -> int:
    schema = json.loads(schema_path.read_text("utf-8"))
    df = pd.read_csv(csv_path, dtype="str", keep_default_na=False, na_values=[""], encoding="utf-8")
    names = [f["name"] for f in schema["fields"]]
    if list(df.columns) != names:
        raise SchemaMismatch(f"{csv_path}: columns {list(df.columns)} != schema {names}")
    errors = []
    for f in schema["fields"]:
        col = df[f["name"]]
        c = f.get("constraints", {})
        present = col.dropna()
        if c.get("required") and col.isna().any():
            errors.append(f"{f['name']}: {int(col.isna().sum())} empty value(s) at rows "
                          f"{[int(i) + 2 for i in col.index[col.isna()][:5]]}")
        t = f.get("type", "string")
        if t in ("integer", "year"):
            bad = present[~present.str.fullmatch(r"-?\d+")]
            if len(bad):
                errors.append(f"{f['name']}: not integers {bad.head(3).tolist()}")
        elif t == "number":
            bad = present[pd.to_numeric(present, errors="coerce").isna()]
            if len(bad):
                errors.append(f"{f['name']}: not numbers {bad.head(3).tolist()}")
        elif t == "boolean":
            bad = present[~present.isin(["true", "false", "True", "False"])]
            if len(bad):
                errors.append(f"{f['name']}: not booleans {bad.head(3).tolist()}")
        if "pattern" in c:
            rx = re.compile(c["pattern"])
            bad = present[~present.map(lambda v: bool(rx.fullmatch(v)))]
            if len(bad):
                errors.append(f"{f['name']}: {len(bad)} value(s) break pattern {c['pattern']}: {bad.head(3).tolist()}")
        if "enum" in c:
            bad = present[~present.isin([str(v) for v in c["enum"]])]
            if len(bad):
                errors.append(f"{f['name']}: values outside enum {bad.unique()[:5].tolist()}")
        if c.get("unique") and present.duplicated().any():
            errors.append(f"{f['name']}: duplicate values {present[present.duplicated()].head(3).tolist()}")
        num = pd.to_numeric(present, errors="coerce")
        if "minimum" in c and (num < c["minimum"]).any():
            errors.append(f"{f['name']}: below minimum {c['minimum']}")
        if "maximum" in c and (num > c["maximum"]).any():
            errors.append(f"{f['name']}: above maximum {c['maximum']}")
    pk = schema.get("primaryKey")
    if pk:
        pk = [pk] if isinstance(pk, str) else pk
        dup = df.duplicated(pk, keep=False)
        if dup.any():
            errors.append(f"primary key {pk} duplicated at rows {[int(i) + 2 for i in df.index[dup][:5]]}")
    if errors:
        raise SchemaMismatch(f"{csv_path}: " + "; ".join(errors))
    return len(df)


def check_all_tables(reference_dir: Path) -> int:
    """Check every CSV under reference/ that has a schema. Returns how many were checked."""
    n = 0
    missing = []
    for p in sorted(reference_dir.rglob("*.csv")):
        s = schema_for(p)
        if s is None:
            missing.append(str(p.relative_to(reference_dir)))
            continue
        check_table(p, s)
        n += 1
    if missing:
        raise SchemaMismatch(f"CSV files without a schema: {', '.join(missing)}")
    return n
