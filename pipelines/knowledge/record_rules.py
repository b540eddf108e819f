"""Record rules: the statistical quality-rule machinery (``pipelines.quality``: ``Rule`` with its four-language
messages, the registry, ``engine.evaluate`` with each rule isolated, ``RuleResult``) applied to the knowledge records — training
courses, demand-survey answers, Voluntary Fund contributions and activities.

* Rules are data: ``quality_rules/records/catalogue.yaml`` (schema ``catalogue_rule.schema.json``), each with its title
  and message in the four languages and the ``table`` it reads (``courses``, ``survey``, ``fund_contributions``,
  ``fund_activities``).
* The checks below register in ``pipelines.quality.registry`` as record checks (``@check(name, records=True)``,
  ``RECORD_CHECKS``, beside the national-file checks), under ``record_*`` names. They read the records
  as a DataFrame with two bookkeeping columns, ``__file`` (the file a record came from, as the reader knows it)
  and ``__line`` (its row in that file: the CSV line, the worksheet row, or empty for a one-record JSON file).
* ``check_records(table, df, ctx)`` evaluates the rules of one table; ``findings(results, lang)`` turns
  failures into messages naming file, row, field and rule; ``raise_for(results)`` raises ``RecordError`` when an
  error rule failed (nothing is published then).

Codes are checked against lists built from ``reference/`` (``codelists``): countries, ICCS, MISPA pillars and
topics, audiences, languages, currencies, and the earmarks of the contributions (for the activities).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipelines import yamlio
from pipelines.i18n import LANGUAGES
from pipelines.knowledge import codes
from pipelines.quality import engine
from pipelines.quality.registry import RECORD_CHECKS, check  # noqa: F401 - RECORD_CHECKS re-exported for the record tests
from pipelines.quality.results import FAILURE_COLUMNS, QualityContext, RuleResult
from pipelines.quality.rules import Rule, rule_validator

TABLES = ("courses", "survey", "fund_contributions", "fund_activities")
CURRENCIES = ("USD", "CAD", "MXN", "BRL", "ARS", "CLP", "COP", "PEN", "GTQ", "HNL", "JMD", "TTD", "DOP", "UYU",
              "EUR", "GBP", "JPY", "KRW", "CNY", "CHF")


class RecordError(ValueError):
    """Records that break an error rule: ``messages`` in the reader's language, one per failing field."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("\n".join(messages))


@dataclass
class RecordContext(QualityContext):
    """The rule context of record checks: ``codelists`` name -> allowed codes; ``related``: the contributions
    when the activities are checked (the ledger rules)."""

    codelists: dict = field(default_factory=dict)


RULES_FILE = "records/catalogue.yaml"               # beside the practice rules (records/practices.yaml)
SCHEMA_FILE = "records/catalogue_rule.schema.json"


def rules_dir(settings) -> Path:
    return Path(settings.rules_dir) / "records"


@functools.lru_cache(maxsize=8)
def _load(path: Path, mtime: int) -> tuple[tuple[str, Rule], ...]:
    schema = json.loads((path.parent / Path(SCHEMA_FILE).name).read_text("utf-8"))
    doc = yamlio.load(path.read_text("utf-8")) or {}
    check_rule = rule_validator(schema)
    out, seen = [], set()
    for raw in doc.get("rules", []):
        check_rule(raw, path)
        if raw["id"] in seen:
            raise ValueError(f"{path}: duplicate rule id {raw['id']}")
        seen.add(raw["id"])
        out.append((raw["table"], Rule(id=raw["id"], title=raw["title"], message=raw["message"], check=raw["check"],
                                       params=raw.get("params") or {}, severity=raw["severity"],
                                       dimension="accuracy", layer="records", category=raw["table"],
                                       rationale=raw["rationale"], threshold_source=raw["threshold_source"],
                                       enabled=raw.get("enabled", True))))
    return tuple(out)


def load_record_rules(settings, table: str | None = None) -> list[Rule]:
    """The record rules (of ``table`` if given), validated against their schema; read again when the file changes."""
    p = Path(settings.rules_dir) / RULES_FILE
    return [rule for t, rule in _load(p.resolve(), p.stat().st_mtime_ns) if table is None or t == table]


def codelists(settings, contributions: pd.DataFrame | None = None) -> dict[str, list[str]]:
    ref = Path(settings.reference_dir)
    iccs = pd.read_csv(ref / "iccs" / "iccs.csv", dtype=str)["code"].tolist()
    countries = pd.read_csv(ref / "countries" / "oas_members.csv", dtype=str, keep_default_na=False)["iso3"].tolist()
    lists = {
        "countries": countries, "iccs": iccs,
        "pillars": codes.pillars(settings)["pillar"].tolist(),
        "topics": codes.topics(settings)["topic"].tolist(),
        "audiences": codes.audiences(settings)["audience"].tolist(),
        "languages": list(LANGUAGES),
        "kinds": ["course", "technical_assistance"],
        "modalities": ["onsite", "online", "blended"],
        "demand_modalities": ["onsite", "online", "blended", "any"],
        "answer_kinds": ["demand", "existing_course"],
        "currencies": list(CURRENCIES),
        "contributor_types": ["member_state", "observer_state", "international_organisation", "private", "other"],
        "activity_statuses": ["planned", "ongoing", "completed", "cancelled"],
    }
    if contributions is not None:
        lists["earmarks"] = sorted({str(e) for e in contributions.get("earmark", pd.Series(dtype=str)).dropna()})
    return lists


def check_records(settings, table: str, df: pd.DataFrame, *, related: pd.DataFrame | None = None,
                  lists: dict | None = None) -> list[RuleResult]:
    """Evaluate the record rules of ``table`` on ``df`` (with ``__file``/``__line``) through the quality engine."""
    ctx = RecordContext(reference_dir=Path(settings.reference_dir), related=related,
                        codelists=lists if lists is not None else codelists(settings, related))
    frame = df.copy()
    for c in ("__file", "__line"):
        if c not in frame.columns:
            frame[c] = None
    frame["__line"] = frame["__line"].astype("object")
    return evaluate(frame, load_record_rules(settings, table), ctx)


def evaluate(frame: pd.DataFrame, rules: list[Rule], ctx: RecordContext) -> list[RuleResult]:
    """``pipelines.quality.engine.evaluate`` over the records: one row per record (``file_name``, ``line``,
    ``record_json``: the record as JSON, so lists and nested values travel intact), every rule isolated (one that
    raises is ``error_in_rule`` and blocks)."""
    table = pd.DataFrame({
        "file_name": [None if _missing(v) else str(v) for v in frame["__file"]],
        "line": pd.array([_line(v) for v in frame["__line"]], dtype="Int64"),
        "record_json": [json.dumps({k: _plain(v) for k, v in rec.items() if k not in ("__file", "__line")},
                                   ensure_ascii=False, default=str)
                        for rec in frame.to_dict("records")]})
    out = engine.evaluate(table, rules, ctx)
    for r in out:
        r.engine = "python"
    return out


def _plain(v):
    """A value as JSON can carry it: pandas' missing values become null."""
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return None if _missing(v) and not isinstance(v, str) else v


def findings(results: list[RuleResult], lang: str = "en") -> list[dict]:
    """One dict per failing field: rule, severity, file, line, column, value and the message in ``lang``."""
    lang = lang if lang in LANGUAGES else "en"
    out = []
    for r in results:
        if r.status == "error_in_rule":
            out.append({"rule_id": r.rule.id, "severity": r.rule.severity, "file": None, "line": None,
                        "column": None, "value": None, "message": f"{r.rule.id}: {r.observed}"})
            continue
        for f in r.failures.to_dict("records"):
            vals = {k: ("" if _missing(v) else v) for k, v in f.items()}
            msg = r.rule.render(lang, file=vals["file_name"], line=vals["line"], column=vals["column_name"],
                                value=vals["value"], expected=vals["expected"], observed=vals["observed"])
            out.append({"rule_id": r.rule.id, "severity": r.rule.severity, "file": vals["file_name"],
                        "line": vals["line"], "column": vals["column_name"], "value": vals["value"],
                        "message": f"{msg} [{r.rule.id}]"})
    return out


def raise_for(results: list[RuleResult], lang: str = "en") -> None:
    bad = [f["message"] for f in findings([r for r in results if r.blocking], lang)]
    if bad:
        raise RecordError(bad)


# checks ---------------------------------------------------------------------------------------------------------
def _missing(v) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, str) and not v.strip():
        return True
    if isinstance(v, (list, tuple, dict)) and len(v) == 0:
        return True
    try:
        return bool(pd.isna(v)) if not isinstance(v, (list, tuple, dict, set)) else False
    except (TypeError, ValueError):
        return False


def _line(v):
    return None if _missing(v) else int(v)


def _fail(rule: Rule, rows: list[dict]) -> RuleResult:
    if not rows:
        return RuleResult(rule, "pass")
    frame = pd.DataFrame([{c: r.get(c) for c in FAILURE_COLUMNS} for r in rows], columns=FAILURE_COLUMNS)
    return RuleResult(rule, "fail", failing_rows=len(rows), failures=frame, observed=f"{len(rows)} field(s)")


def _row(rec: dict, column: str, value=None, expected=None, observed=None) -> dict:
    return {"file_name": rec.get("__file"), "line": _line(rec.get("__line")), "column_name": column,
            "value": None if value is None else str(value), "expected": None if expected is None else str(expected),
            "observed": None if observed is None else str(observed)}


def _records(table: pd.DataFrame) -> list[dict]:
    """The records of the engine's table (``evaluate``), with ``__file`` and ``__line`` back."""
    out = []
    for f, line, js in zip(table["file_name"], table["line"], table["record_json"]):
        rec = json.loads(js)
        rec["__file"], rec["__line"] = f, None if pd.isna(line) else int(line)
        out.append(rec)
    return out


@check("record_required", records=True)
def record_required(rule, table, ctx, con):
    when = rule.params.get("when") or {}
    rows = []
    for rec in _records(table):
        if any(rec.get(k) != v for k, v in when.items()):
            continue
        for c in rule.params["columns"]:
            if _missing(rec.get(c)):
                rows.append(_row(rec, c))
    return _fail(rule, rows)


@check("record_in_codelist", records=True)
def record_in_codelist(rule, table, ctx, con):
    rows = []
    for rec in _records(table):
        for column, listname in rule.params["columns"].items():
            allowed = ctx.codelists.get(listname, [])
            v = rec.get(column)
            values = v if isinstance(v, (list, tuple)) else [v]
            for x in values:
                if _missing(x):
                    continue
                if str(x) not in allowed:
                    shown = ", ".join(allowed) if len(allowed) <= 12 else f"{len(allowed)} codes of {listname}"
                    rows.append(_row(rec, column, x, shown))
    return _fail(rule, rows)


@check("record_dates_ordered", records=True)
def record_dates_ordered(rule, table, ctx, con):
    s, e = rule.params["start"], rule.params["end"]
    rows = []
    for rec in _records(table):
        a, b = rec.get(s), rec.get(e)
        if _missing(a) or _missing(b):
            continue
        if str(b) < str(a):
            rows.append(_row(rec, e, b, a))
    return _fail(rule, rows)


@check("record_range", records=True)
def record_range(rule, table, ctx, con):
    rows = []
    for rec in _records(table):
        for column, lim in rule.params["columns"].items():
            v = rec.get(column)
            if _missing(v):
                continue
            lo, hi, excl = lim.get("min"), lim.get("max"), lim.get("exclusive_min", False)
            want = " ".join(p for p in ((f"> {lo}" if excl else f">= {lo}") if lo is not None else "",
                                        f"<= {hi}" if hi is not None else "") if p)
            try:
                x = float(v)
            except (TypeError, ValueError):
                rows.append(_row(rec, column, v, want))
                continue
            if (math.isnan(x) or (lo is not None and (x <= lo if excl else x < lo))
                    or (hi is not None and x > hi)):
                rows.append(_row(rec, column, _num(v), want))
    return _fail(rule, rows)


def _num(v) -> str:
    try:
        x = float(v)
        return str(int(x)) if x.is_integer() else str(x)
    except (TypeError, ValueError):
        return str(v)


@check("record_unique", records=True)
def record_unique(rule, table, ctx, con):
    recs = _records(table)
    rows = []
    keys = [rule.params["columns"], *(rule.params.get("also") or [])]
    flagged = set()
    for cols in keys:
        first: dict = {}
        for i, rec in enumerate(recs):
            key = tuple(_norm(rec.get(c)) for c in cols)
            if any(k == "" for k in key):
                continue
            if key in first and i not in flagged:
                flagged.add(i)
                prev = recs[first[key]]
                rows.append(_row(rec, "+".join(cols), " / ".join(key), expected=_line(prev.get("__line"))))
            first.setdefault(key, i)
    return _fail(rule, rows)


def _norm(v) -> str:
    if _missing(v):
        return ""
    if isinstance(v, float):
        return _num(v)
    return str(v).strip()


@check("record_product", records=True)
def record_product(rule, table, ctx, con):
    rows = []
    tol = float(rule.params.get("tolerance", 0.01))
    for rec in _records(table):
        vals = [rec.get(c) for c in rule.params["factors"]]
        res = rec.get(rule.params["result"])
        try:
            prod = math.prod(float(v) for v in vals)
            got = float(res)
        except (TypeError, ValueError):
            continue     # missing or non-numeric: the required and range rules say so
        if abs(prod - got) > tol:
            rows.append(_row(rec, rule.params["result"], _num(res), f"{prod:.2f}"))
    return _fail(rule, rows)


@check("record_ledger", records=True)
def record_ledger(rule, table, ctx, con):
    """Per group (earmark): the sum of ``column`` over the records must not exceed the sum of ``limit_column``
    over the related table (contributions). Reported on the record that crosses the limit."""
    p = rule.params
    related = ctx.related if isinstance(ctx.related, pd.DataFrame) else pd.DataFrame()
    limits: dict[str, float] = {}
    for rec in related.to_dict("records"):
        try:
            limits[str(rec.get(p["limit_group"]))] = limits.get(str(rec.get(p["limit_group"])), 0.0) + float(rec.get(p["limit_column"]))
        except (TypeError, ValueError):
            continue
    running: dict[str, float] = {}
    rows = []
    crossed = set()
    for rec in sorted(_records(table), key=lambda r: (str(r.get("start_date") or ""), _line(r.get("__line")) or 0)):
        g = str(rec.get(p["group"]))
        try:
            running[g] = running.get(g, 0.0) + float(rec.get(p["column"]))
        except (TypeError, ValueError):
            continue
        if running[g] > limits.get(g, 0.0) + 1e-9 and g not in crossed:
            crossed.add(g)
            rows.append(_row(rec, p["column"], g, f"{limits.get(g, 0.0):.2f}", f"{running[g]:.2f}"))
    return _fail(rule, rows)
