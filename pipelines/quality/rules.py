"""Load quality rules (quality_rules/*.yaml) and per-source overrides (quality_rules/sources/)."""

from __future__ import annotations

import functools
import json
import re
import string
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import yaml

from pipelines.quality import params as P
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
        keys = ("max_rel", "max", "hard_max", "min", "max_abs_z", "tolerance_rel", "min_rate", "target",
                "expected_months", "warn_rel", "max_months_annual", "min_before", "max_rel_diff")
        parts = [f"{k}={self.params[k]}" for k in keys if self.params.get(k) is not None]
        return ", ".join(parts)


def _signature(rules_dir: Path, source_id: str | None, reference_dir: Path) -> tuple:
    """Names, sizes and modification times of the files a rule set is read from or checked against
    (rules, every per-source override, the source specs, ICCS and the countries): the cache key."""
    files = [rules_dir / "rule.schema.json", *sorted(rules_dir.glob("*.yaml")),
             *sorted((rules_dir / "sources").glob("*.yaml")), *sorted((reference_dir / "sources").glob("*.yaml")),
             reference_dir / "sources" / "source.schema.json", reference_dir / "iccs" / "iccs.csv",
             reference_dir / "countries" / "oas_members.csv"]
    if source_id:
        files.append(rules_dir / "sources" / f"{source_id}.yaml")
    out = []
    for p in files:
        try:
            st = p.stat()
            out.append((str(p), st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            out.append((str(p), None, None))
    return tuple(out)


def load_rules(rules_dir: Path, source_id: str | None = None, *, reference_dir: Path) -> list[Rule]:
    """The rules (with ``source_id``'s overrides), validated against rule.schema.json, their parameters
    against the model of their check (pipelines/quality/params.py) and checked against what exists in
    ``reference_dir`` (sources, ICCS codes, countries, standard-table columns). Every per-source override
    file is checked too, whichever source is asked for. Raises ValueError naming the file, the rule and
    the parameter.

    ``params`` of each rule is the validated parameter model dumped to a dict, every default filled in.

    Read once per process and re-read when a rule or reference file changes (size or modification time):
    validating 28 rules against the JSON schema costs ~0.5 s, which every upload to the portal used to pay."""
    rules_dir = Path(rules_dir).resolve()
    reference_dir = Path(reference_dir).resolve()
    return list(_load_rules_cached(rules_dir, source_id, reference_dir,
                                   _signature(rules_dir, source_id, reference_dir)))


@functools.lru_cache(maxsize=64)
def _load_rules_cached(rules_dir: Path, source_id: str | None, reference_dir: Path,
                       signature: tuple) -> tuple[Rule, ...]:
    return tuple(_read_rules(rules_dir, source_id, reference_dir))


def _typed_params(check: str, params, *, file: Path, rule_id: str, refs: P.References) -> dict:
    model = P.validate(check, params, file=file, rule_id=rule_id)
    P.cross_check(model, refs, file=file, rule_id=rule_id)
    return model.model_dump()


def _read_rules(rules_dir: Path, source_id: str | None, reference_dir: Path) -> list[Rule]:
    schema = json.loads((rules_dir / "rule.schema.json").read_text("utf-8"))
    refs = P.References.load(reference_dir)
    rules: dict[str, Rule] = {}
    raw_params: dict[str, dict] = {}
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
            raw_params[raw["id"]] = raw.get("params") or {}
            rules[raw["id"]] = Rule(id=raw["id"], title=raw["title"], message=raw["message"], check=raw["check"],
                                    params=_typed_params(raw["check"], raw_params[raw["id"]], file=p,
                                                         rule_id=raw["id"], refs=refs),
                                    severity=raw["severity"],
                                    dimension=raw["dimension"], layer=raw["layer"],
                                    category=raw.get("category", ""), rationale=raw["rationale"],
                                    threshold_source=raw["threshold_source"], enabled=raw.get("enabled", True))
    overridden: dict[str, Rule] = {}
    for op in sorted((rules_dir / "sources").glob("*.yaml")):
        if op.stem not in refs.sources:
            raise ValueError(f"{op}: overrides for source {op.stem!r}, which has no spec: "
                             + refs.unknown_text("source", op.stem))
        doc = yaml.safe_load(op.read_text("utf-8")) or {}
        if doc.get("source_id", op.stem) != op.stem:
            raise ValueError(f"{op}: source_id {doc.get('source_id')!r} must be the file name's {op.stem!r}")
        for o in doc.get("overrides", []):
            r = rules.get(o["id"])
            if r is None:
                raise ValueError(f"{op}: override for unknown rule {o['id']}")
            params = _typed_params(r.check, {**raw_params[o["id"]], **(o.get("params") or {})}, file=op,
                                   rule_id=o["id"], refs=refs)
            if op.stem == source_id:
                overridden[o["id"]] = Rule(**{**r.__dict__, "params": params,
                                              "severity": o.get("severity", r.severity),
                                              "enabled": o.get("enabled", r.enabled),
                                              "override_reason": o.get("reason")})
    rules.update(overridden)
    return sorted((r for r in rules.values()), key=lambda r: _order(r.id))


def _order(rule_id: str) -> tuple:
    return ("SCVFIPXKTRM".index(rule_id[0]) if rule_id[0] in "SCVFIPXKTRM" else 99, int(rule_id[1:]))
