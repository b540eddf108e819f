"""A Frictionless data package of an export: ``datapackage.json`` beside one CSV per table and ``sources.csv``.

Every resource has a table schema (field types from DuckDB's types, a description of every field, the primary
key, a foreign key from ``source_id`` to the sources resource); the package names the release, the sources with
their citations (``sources``) and their licences as stated in the provenance records (``licenses``: only those
that name a licence; the rest are in ``sources.csv``, column ``licence``). ``frictionless validate
datapackage.json`` passes on it (a test runs it).

Primary keys: Table Schema makes primary-key fields required, and a national row has no subdivision (and an
annual one no month), so each resource gets a ``row_key`` column: the key columns joined with ``|`` (an empty
part for a null), unique in a release.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.publication import notes, tabular

_TYPES = {"VARCHAR": "string", "BIGINT": "integer", "INTEGER": "integer", "HUGEINT": "integer", "SMALLINT": "integer",
          "DOUBLE": "number", "FLOAT": "number", "DECIMAL": "number", "BOOLEAN": "boolean", "DATE": "date",
          "TIMESTAMP": "datetime", "TIMESTAMP WITH TIME ZONE": "datetime"}


def _type(duck: str) -> str:
    t = duck.upper()
    if t.startswith("DECIMAL"):
        return "number"
    return _TYPES.get(t, "string")


def export(settings, con, sel, out: Path, *, keys: dict, source_columns: list[str], write_sources) -> list[Path]:
    """``sel``: an ``exports.Selection``; ``keys``: table -> key columns; ``write_sources(sel, path)`` writes
    sources.csv with ``source_columns`` (passed by ``exports`` so that this module does not import it back)."""
    KEYS, SOURCE_COLUMNS, write_sources_csv = keys, source_columns, write_sources
    files, resources = [], []
    for t in sel.tables:
        key_cols = [c for c in KEYS.get(t.name, []) if c in t.columns]
        p = out / f"{t.name}.csv"
        prefix = ""
        if key_cols:
            parts = " || '|' || ".join(f"coalesce(cast({tabular.quote_ident(c)} as varchar), '')" for c in key_cols)
            prefix = f"{parts} as row_key, "
        tabular.copy_csv(con, t.relation, t.params, p, prefix=prefix)
        files.append(p)
        fields = ([{"name": "row_key", "type": "string", "description": "the key columns joined with '|' ("
                    + ", ".join(key_cols) + "; empty part: null)"}] if key_cols else [])
        for c in t.columns:
            typ = t.types.get(c, "VARCHAR")
            ftype = "string" if typ.upper().endswith("[]") else _type(typ)
            fields.append({"name": c, "type": ftype, "description": notes.describe(c)})
        schema = {"fields": fields}
        if key_cols:
            schema["primaryKey"] = ["row_key"]
        if "source_id" in t.columns:
            schema["foreignKeys"] = [{"fields": ["source_id"], "reference": {"resource": "sources",
                                                                             "fields": ["source_id"]}}]
        resources.append({"name": t.name, "path": p.name, "profile": "tabular-data-resource", "format": "csv",
                          "mediatype": "text/csv", "encoding": "utf-8",
                          "description": f"published.{t.name} of release {sel.release_id} ({t.rows} rows)",
                          "schema": schema})
    src = write_sources_csv(sel, out / "sources.csv")
    files.append(src)
    resources.append({"name": "sources", "path": src.name, "profile": "tabular-data-resource", "format": "csv",
                      "mediatype": "text/csv", "encoding": "utf-8",
                      "description": "the sources cited by this package: citation and licence as stated",
                      "schema": {"fields": [{"name": "release_id", "type": "string",
                                             "description": notes.describe("release_id")}]
                                 + [{"name": c, "type": "string", "description": c.replace("_", " ")}
                                    for c in SOURCE_COLUMNS],
                                 "primaryKey": ["source_id"]}})
    licenses, seen = [], set()
    for s in sel.sources:
        if s.get("licence_spdx") and s["licence_spdx"] not in seen:
            seen.add(s["licence_spdx"])
            licenses.append({"name": s["licence_spdx"], "title": f"{s['licence_spdx']} (as stated for "
                             + ", ".join(x["source_id"] for x in sel.sources if x.get("licence_spdx") == s["licence_spdx"])
                             + ")"})
    pkg = {
        "profile": "tabular-data-package",
        "name": f"hemistat-{sel.release_id.lower()}",
        "title": f"hemistat published crime statistics, release {sel.release_id}",
        "description": ("Crime statistics of OAS member states harmonised to the UNODC ICCS by hemistat. Each "
                        "source's licence is the one its provenance record states (sources.csv, column licence); "
                        "'unverified' and 'not stated' mean what they say."),
        "version": sel.release_id,
        "created": sel.generated_at,
        "hemistat": {"release_id": sel.release_id, "published_at": sel.published_at, "filters": sel.filters,
                     "obs_status": notes.OBS_STATUS, "comparability": notes.COMPARABILITY},
        "sources": [{"title": s["citation"], **({"path": s["url"]} if s["url"].startswith("http") else {})}
                    for s in sel.sources],
        "resources": resources,
    }
    if licenses:
        pkg["licenses"] = licenses
    dp = out / "datapackage.json"
    dp.write_text(json.dumps(pkg, indent=2, ensure_ascii=False), "utf-8")
    return [dp] + files
