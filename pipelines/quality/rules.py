"""Load quality rules (quality_rules/*.yaml) and per-source overrides (quality_rules/sources/)."""

from __future__ import annotations

import copy
import functools
import json
import re
import string
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import yaml

LANGS = ("en", "es", "pt", "fr")
PLACEHOLDERS = ("file", "line", "column", "value", "country", "subdivision", "year", "month", "code",
                "observed", "expected", "threshold")
SEVERITY_WEIGHT = {"error": 3, "warn": 2, "info": 1}
OPTIONAL_SEGMENT = re.compile(r"\[\[(.*?)\]\]")


@dataclass(frozen=True)
class Rule:
    id: str
    title: dict
    message: dict
    check: str
    params: dict
    severity: str
    dimension: str
    layer: str
    category: str
    rationale: str
    threshold_source: str
    enabled: bool = True
    override_reason: str | None = None

    def render(self, lang: str, **values) -> str:
        """The message in ``lang`` (else English). A ``[[ … ]]`` segment is kept only when every
        placeholder inside it has a value: "File x cannot be read[[ at line {line}]]" reads well with
        and without a line."""
        tmpl = self.message.get(lang) or self.message["en"]
        vals = {k: ("" if v is None else v) for k, v in values.items()}

        class _D(dict):
            def __missing__(self, k):
                return ""

        def optional(m: re.Match) -> str:
            names = [f for _, f, _, _ in string.Formatter().parse(m.group(1)) if f]
            return m.group(1) if all(str(vals.get(n, "")) != "" for n in names) else ""

        return OPTIONAL_SEGMENT.sub(optional, tmpl).format_map(_D(vals))

    def threshold_text(self) -> str:
        keys = ("max_rel", "max", "min", "max_abs_z", "tolerance_rel", "min_rate", "target", "expected_months",
                "warn_rel", "max_months_annual", "min_before", "max_rel_diff")
        parts = [f"{k}={self.params[k]}" for k in keys if k in self.params]
        return ", ".join(parts)


def _signature(rules_dir: Path, source_id: str | None) -> tuple:
    """Names, sizes and modification times of the files a rule set is read from: the cache key."""
    files = [rules_dir / "rule.schema.json", *sorted(rules_dir.glob("*.yaml"))]
    if source_id:
        files.append(rules_dir / "sources" / f"{source_id}.yaml")
    out = []
    for p in files:
        try:
            st = p.stat()
            out.append((p.name, st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            out.append((p.name, None, None))
    return tuple(out)


def load_rules(rules_dir: Path, source_id: str | None = None) -> list[Rule]:
    """The rules (with ``source_id``'s overrides), validated against rule.schema.json.

    Read once per process and re-read when a rule file changes (size or modification time): validating
    28 rules against the JSON schema costs ~0.5 s, which every upload to the portal used to pay."""
    rules_dir = Path(rules_dir).resolve()
    return list(_load_rules_cached(rules_dir, source_id, _signature(rules_dir, source_id)))


@functools.lru_cache(maxsize=64)
def _load_rules_cached(rules_dir: Path, source_id: str | None, signature: tuple) -> tuple[Rule, ...]:
    return tuple(_read_rules(rules_dir, source_id))


def _read_rules(rules_dir: Path, source_id: str | None = None) -> list[Rule]:
    schema = json.loads((rules_dir / "rule.schema.json").read_text("utf-8"))
    rules: dict[str, Rule] = {}
    for p in sorted(rules_dir.glob("*.yaml")):
        doc = yaml.safe_load(p.read_text("utf-8")) or {}
        items = doc.get("rules", doc) if isinstance(doc, dict) else doc
        for raw in items:
            try:
                jsonschema.validate(raw, schema)
            except jsonschema.ValidationError as exc:
                raise ValueError(f"{p}: rule {raw.get('id')}: {exc.message}") from exc
            if raw["id"] in rules:
                raise ValueError(f"{p}: duplicate rule id {raw['id']}")
            rules[raw["id"]] = Rule(id=raw["id"], title=raw["title"], message=raw["message"], check=raw["check"],
                                    params=raw.get("params") or {}, severity=raw["severity"],
                                    dimension=raw["dimension"], layer=raw["layer"],
                                    category=raw.get("category", ""), rationale=raw["rationale"],
                                    threshold_source=raw["threshold_source"], enabled=raw.get("enabled", True))
    if source_id:
        op = rules_dir / "sources" / f"{source_id}.yaml"
        if op.exists():
            doc = yaml.safe_load(op.read_text("utf-8")) or {}
            for o in doc.get("overrides", []):
                r = rules.get(o["id"])
                if r is None:
                    raise ValueError(f"{op}: override for unknown rule {o['id']}")
                params = copy.deepcopy(r.params)
                params.update(o.get("params") or {})
                rules[o["id"]] = Rule(**{**r.__dict__, "params": params,
                                         "severity": o.get("severity", r.severity),
                                         "enabled": o.get("enabled", r.enabled),
                                         "override_reason": o.get("reason")})
    return sorted((r for r in rules.values()), key=lambda r: _order(r.id))


def _order(rule_id: str) -> tuple:
    return ("SCVFIPXKTRM".index(rule_id[0]) if rule_id[0] in "SCVFIPXKTRM" else 99, int(rule_id[1:]))
