"""Load quality rules (quality_rules/*.yaml) and per-source overrides (quality_rules/sources/)."""

from __future__ import annotations

import functools
import json
import re
import string
from dataclasses import dataclass
from pathlib import Path

import jsonschema

from pipelines import yamlio
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


def _signature(rules_dir: Path, reference_dir: Path) -> tuple:
    """Names, sizes and modification times of the files a rule set is read from or checked against
    (rules, every per-source override, the source specs, ICCS and the countries): the cache key. A new or
    deleted override file changes the listing of ``sources/``, hence the key."""
    files = [rules_dir / "rule.schema.json", *sorted(rules_dir.glob("*.yaml")),
             *sorted((rules_dir / "sources").glob("*.yaml")), *sorted((reference_dir / "sources").glob("*.yaml")),
             reference_dir / "sources" / "source.schema.json", reference_dir / "iccs" / "iccs.csv",
             reference_dir / "countries" / "oas_members.csv"]
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

    The whole set (the rules and every source's overrides) is read and checked once per process, and again
    when a rule or reference file changes (size or modification time); asking for another source only picks
    its overrides. Validating 28 rules against the JSON schema used to cost ~0.5 s per source asked for,
    which every upload to the portal, its warm-up (one call per source) and every publication paid."""
    rules_dir = Path(rules_dir).resolve()
    reference_dir = Path(reference_dir).resolve()
    base, overrides = _read_all_cached(rules_dir, reference_dir, _signature(rules_dir, reference_dir))
    chosen = {**base, **overrides.get(source_id, {})} if source_id else dict(base)
    return sorted(chosen.values(), key=lambda r: _order(r.id))


@functools.lru_cache(maxsize=8)
def _read_all_cached(rules_dir: Path, reference_dir: Path, signature: tuple) -> tuple[dict, dict]:
    return _read_all(rules_dir, reference_dir)


def rule_validator(schema: dict):
    """``check(raw, path)``: raises ValueError "<path>: rule <id>: <message>" when a rule's YAML breaks
    ``schema`` (the message jsonschema.validate would give). The schema itself is checked once, here — not
    once per rule as ``jsonschema.validate`` does, which was most of the cost of loading the rules."""
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)

    def check(raw, path) -> None:
        error = jsonschema.exceptions.best_match(validator.iter_errors(raw))
        if error is not None:
            rid = raw.get("id") if isinstance(raw, dict) else None
            raise ValueError(f"{path}: rule {rid}: {error.message}")
    return check


def _typed_params(check: str, params, *, file: Path, rule_id: str, refs: P.References) -> dict:
    model = P.validate(check, params, file=file, rule_id=rule_id)
    P.cross_check(model, refs, file=file, rule_id=rule_id)
    return model.model_dump()


def _read_all(rules_dir: Path, reference_dir: Path) -> tuple[dict[str, Rule], dict[str, dict[str, Rule]]]:
    """(the rules by id, {source id: {rule id: the rule as that source overrides it}}), all checked."""
    check_rule = rule_validator(json.loads((rules_dir / "rule.schema.json").read_text("utf-8")))
    refs = P.References.load(reference_dir)
    rules: dict[str, Rule] = {}
    raw_params: dict[str, dict] = {}
    for p in sorted(rules_dir.glob("*.yaml")):
        doc = yamlio.load(p.read_text("utf-8")) or {}
        items = doc.get("rules", doc) if isinstance(doc, dict) else doc
        for raw in items:
            check_rule(raw, p)
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
    overrides: dict[str, dict[str, Rule]] = {}
    for op in sorted((rules_dir / "sources").glob("*.yaml")):
        if op.stem not in refs.sources:
            raise ValueError(f"{op}: overrides for source {op.stem!r}, which has no spec: "
                             + refs.unknown_text("source", op.stem))
        doc = yamlio.load(op.read_text("utf-8")) or {}
        if doc.get("source_id", op.stem) != op.stem:
            raise ValueError(f"{op}: source_id {doc.get('source_id')!r} must be the file name's {op.stem!r}")
        mine = overrides.setdefault(op.stem, {})
        for o in doc.get("overrides", []):
            r = rules.get(o["id"])
            if r is None:
                raise ValueError(f"{op}: override for unknown rule {o['id']}")
            params = _typed_params(r.check, {**raw_params[o["id"]], **(o.get("params") or {})}, file=op,
                                   rule_id=o["id"], refs=refs)
            mine[o["id"]] = Rule(**{**r.__dict__, "params": params, "severity": o.get("severity", r.severity),
                                    "enabled": o.get("enabled", r.enabled), "override_reason": o.get("reason")})
    return rules, overrides


def _order(rule_id: str) -> tuple:
    return ("SCVFIPXKTRM".index(rule_id[0]) if rule_id[0] in "SCVFIPXKTRM" else 99, int(rule_id[1:]))
