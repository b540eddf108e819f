"""The quality rules of good-practice records, on the project's rule engine.

The rules are data (``quality_rules/records/practices.yaml``: id, title and message in four languages, severity,
rationale — the shape of ``quality_rules/*.yaml``, checked against ``rule.schema.json`` with this family's own
ids and check names). Their checks are registered in the engine's registry (``pipelines.quality.registry``) and
run by ``pipelines.quality.engine.evaluate`` over a table with one row per record (``file_name``,
``practice_id``, ``record_json``): each rule runs on its own, and a failure names the file, the field path,
the value and what was expected, rendered in the reader's language by ``Rule.render``.

The same rules check the seed records when they load and every practice a data office submits in the portal.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import jsonschema
import pandas as pd

from pipelines import yamlio
from pipelines.knowledge.practice_reference import PracticeReference, load_reference
from pipelines.quality.registry import RECORD_CHECKS, check
from pipelines.quality.results import FAILURE_COLUMNS, QualityContext, RuleResult
from pipelines.quality.rules import Rule, rule_validator

RULES_FILE = Path("records") / "practices.yaml"
CHECK_NAMES = ("practice_schema", "practice_codes_exist", "practice_rating_consistent", "practice_dates_in_order",
               "practice_citation")
PATH_RE = re.compile(r"^([a-z_]+)(\[(\d+)\])?(?:\.([a-z_]+)(\[(\d+)\])?)?")


@dataclass
class Problem:
    rule_id: str
    file: str
    field: str
    message: str          # in the language asked for

    def __str__(self) -> str:
        return f"[{self.rule_id}] {self.message}"


class PracticeRecordError(ValueError):
    """Records that break a rule: every problem, each naming its file, field and rule."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# ---- the rules as data ----------------------------------------------------------------------------------------
def load_practice_rules(rules_dir: Path) -> list[Rule]:
    rules_dir = Path(rules_dir).resolve()
    path = rules_dir / RULES_FILE
    return list(_rules(path, path.stat().st_mtime_ns, rules_dir / "rule.schema.json"))


@functools.lru_cache(maxsize=4)
def _rules(path: Path, _mtime: int, schema_path: Path) -> tuple[Rule, ...]:
    schema = json.loads(schema_path.read_text("utf-8"))
    schema["properties"]["id"] = {"type": "string", "pattern": "^PR[0-9]+$"}
    schema["properties"]["check"] = {"enum": list(CHECK_NAMES)}
    check_rule = rule_validator(schema)
    out = []
    for raw in (yamlio.load(path.read_text("utf-8")) or {}).get("rules", []):
        check_rule(raw, path)
        out.append(Rule(id=raw["id"], title=raw["title"], message=raw["message"], check=raw["check"],
                        params=raw.get("params") or {}, severity=raw["severity"], dimension=raw["dimension"],
                        layer=raw["layer"], category=raw.get("category", ""), rationale=raw["rationale"],
                        threshold_source=raw["threshold_source"]))
    return tuple(out)


# ---- running them ---------------------------------------------------------------------------------------------
def records_table(records: list[tuple[str, dict]]) -> pd.DataFrame:
    return pd.DataFrame({"file_name": [f for f, _ in records],
                         "practice_id": [str((r or {}).get("practice_id") or "") for _, r in records],
                         "record_json": [json.dumps(r, ensure_ascii=False, default=str) for _, r in records]})


def evaluate_records(records: list[tuple[str, dict]], *, reference_dir: Path, rules_dir: Path) -> list[RuleResult]:
    from pipelines.quality.engine import evaluate

    rules = load_practice_rules(rules_dir)
    ctx = QualityContext(reference_dir=Path(reference_dir))
    return evaluate(records_table(records), rules, ctx)


def problems_of(results: list[RuleResult], lang: str = "en") -> list[Problem]:
    out = []
    for res in results:
        if res.status == "error_in_rule":
            out.append(Problem(res.rule.id, "", "", f"{res.rule.title.get(lang) or res.rule.title['en']}: "
                                                     f"{res.observed}"))
            continue
        if res.status != "fail":
            continue
        for f in res.failures.to_dict("records"):
            out.append(Problem(res.rule.id, f["file_name"], f["column_name"],
                               res.rule.render(lang, file=f["file_name"], column=f["column_name"], value=f["value"],
                                               expected=f["expected"])))
    return out


def check_records(records: list[tuple[str, dict]], *, reference_dir: Path, rules_dir: Path,
                  lang: str = "en") -> list[Problem]:
    return problems_of(evaluate_records(records, reference_dir=reference_dir, rules_dir=rules_dir), lang)


# ---- helpers of the checks --------------------------------------------------------------------------------------
def _rows(table: pd.DataFrame):
    for row in table.itertuples(index=False):
        try:
            rec = json.loads(row.record_json)
        except ValueError:
            rec = None
        yield row.file_name, rec if isinstance(rec, dict) else {}


def _result(rule: Rule, failures: list[dict]) -> RuleResult:
    df = pd.DataFrame([{c: f.get(c) for c in FAILURE_COLUMNS} for f in failures], columns=FAILURE_COLUMNS)
    return RuleResult(rule, "fail" if failures else "pass", failing_rows=len(failures), failures=df,
                      observed=f"{len(failures)} problem(s)" if failures else None, engine="python")


def _fail(file: str, field: str, value, expected: str) -> dict:
    return {"file_name": file, "column_name": field, "value": "empty" if value is None else str(value)[:200],
            "expected": expected}


def _ref(ctx: QualityContext) -> PracticeReference:
    return load_reference(ctx.reference_dir)


def _unverified(rec: dict) -> set[str]:
    return {str(u) for u in rec.get("unverified") or []}


def _is_empty(v) -> bool:
    return v is None or v == "" or v == [] or v == {}


# ---- the checks -----------------------------------------------------------------------------------------------
@check("practice_schema", records=True)
def practice_schema(rule: Rule, table, ctx: QualityContext, con) -> RuleResult:
    validator = jsonschema.Draft202012Validator(_ref(ctx).schema)
    failures = []
    for file, rec in _rows(table):
        for err in sorted(validator.iter_errors(rec), key=lambda e: list(e.absolute_path)):
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path).lstrip(".")
            if err.validator == "required":
                missing = err.message.split("'")[1] if "'" in err.message else err.message
                path = f"{path}.{missing}".lstrip(".")
                failures.append(_fail(file, path, "missing", "required"))
            elif err.validator == "additionalProperties":
                extra = sorted(set(err.instance) - set(err.schema.get("properties", {}))) if isinstance(err.instance, dict) else []
                failures.append(_fail(file, ".".join([path, extra[0]]).lstrip(".") if extra else path or "(record)",
                                      err.message, "additionalProperties"))
            else:
                rule_value = err.schema.get(err.validator) if isinstance(err.schema, dict) else None
                shown = f"{err.validator} {rule_value}" if isinstance(rule_value, (str, int)) else str(err.validator)
                failures.append(_fail(file, path or "(record)", err.message, shown[:120]))
    return _result(rule, failures)


@check("practice_codes_exist", records=True)
def practice_codes_exist(rule: Rule, table, ctx: QualityContext, con) -> RuleResult:
    ref = _ref(ctx)
    failures = []
    seen: dict[str, str] = {}
    for file, rec in _rows(table):
        pid = rec.get("practice_id")
        if pid in seen:
            failures.append(_fail(file, "practice_id", pid, f"unique; also in {seen[pid]}"))
        elif pid:
            seen[pid] = file
        stem = Path(str(file)).stem
        if pid and str(file).endswith((".yaml", ".yml", ".json")) and stem != pid:
            failures.append(_fail(file, "practice_id", pid, f"the file name {stem}"))
        for i, code in enumerate(rec.get("iccs_codes") or []):
            if code not in ref.iccs:
                failures.append(_fail(file, f"iccs_codes[{i}]", code, "a code of reference/iccs/iccs.csv"))
        iso3 = rec.get("country_iso3")
        if iso3 is None:
            if rec.get("scope") != "international":
                failures.append(_fail(file, "country_iso3", "empty", "a country, unless scope is international"))
        elif iso3 not in ref.countries:
            failures.append(_fail(file, "country_iso3", iso3, "a country of reference/countries or "
                                                              "practices/countries_other.csv"))
        for name, vocab in (("setting", "setting"), ("prevention_level", "prevention_level"),
                            ("approach", "approach"), ("target_populations", "target_populations"),
                            ("languages", "languages")):
            for i, key in enumerate(rec.get(name) or []):
                if key not in ref.vocab.get(vocab, {}):
                    failures.append(_fail(file, f"{name}[{i}]", key, f"one of {sorted(ref.vocab.get(vocab, {}))}"))
        for name in ("scope", "line_of_action"):
            if rec.get(name) is not None and rec.get(name) not in ref.vocab.get(name, {}):
                failures.append(_fail(file, name, rec.get(name), f"one of {sorted(ref.vocab.get(name, {}))}"))
        for i, topic in enumerate(rec.get("topics") or []):
            if topic not in ref.thesaurus:
                failures.append(_fail(file, f"topics[{i}]", topic, "a topic of practices/thesaurus.yaml"))
        designs = ref.scale["designs"]
        ev = rec.get("evaluation") or {}
        if ev.get("design") is not None and ev.get("design") not in designs:
            failures.append(_fail(file, "evaluation.design", ev.get("design"), f"one of {sorted(designs)}"))
        for i, s in enumerate(rec.get("studies") or []):
            if isinstance(s, dict) and s.get("design") not in designs:
                failures.append(_fail(file, f"studies[{i}].design", s.get("design"), f"one of {sorted(designs)}"))
        for i, r in enumerate(rec.get("ratings") or []):
            if not isinstance(r, dict):
                continue
            if r.get("body") not in ref.scale["bodies"]:
                failures.append(_fail(file, f"ratings[{i}].body", r.get("body"),
                                      f"one of {sorted(ref.scale['bodies'])}"))
            elif not ref.rating_level(r["body"], str(r.get("rating")), r.get("detail"))[0]:
                failures.append(_fail(file, f"ratings[{i}].rating", r.get("rating"),
                                      f"a rating {r['body']} gives (evidence_scale.yaml)"))
        for i, path in enumerate(rec.get("unverified") or []):
            if not _known_path(ref, str(path)):
                failures.append(_fail(file, f"unverified[{i}]", path, "the path of a field of the record"))
    return _result(rule, failures)


def _known_path(ref: PracticeReference, path: str) -> bool:
    m = PATH_RE.match(path)
    if not m or m.group(0) != path:
        return False
    props = ref.schema["properties"]
    top, sub = m.group(1), m.group(4)
    if top not in props:
        return False
    if sub is None:
        return True
    nested = {"studies": ref.schema["$defs"]["study"]["properties"], "ratings": ref.schema["$defs"]["rating"]["properties"],
              "evaluation": props["evaluation"]["properties"], "implementation": props["implementation"]["properties"],
              "review": props["review"]["properties"], "title": {"en": 1, "es": 1, "pt": 1, "fr": 1},
              "summary": {"en": 1, "es": 1, "pt": 1, "fr": 1}, "mechanism": {"en": 1, "es": 1, "pt": 1, "fr": 1}}
    return sub in nested.get(top, {})


@check("practice_rating_consistent", records=True)
def practice_rating_consistent(rule: Rule, table, ctx: QualityContext, con) -> RuleResult:
    ref = _ref(ctx)
    designs = ref.scale["designs"]
    failures = []
    for file, rec in _rows(table):
        ev = rec.get("evaluation") or {}
        design, sms = ev.get("design"), ev.get("sms_level")
        spec = designs.get(design)
        if spec is None:
            continue                        # PR2 reports it
        if sms is not None and sms not in spec["sms"]:
            failures.append(_fail(file, "evaluation.sms_level", sms,
                                  f"design {design} supports SMS levels {spec['sms'] or 'none'}"))
        studies = [s for s in rec.get("studies") or [] if isinstance(s, dict)]
        n_studies = ev.get("studies_count")
        for i, r in enumerate(rec.get("ratings") or []):
            if not isinstance(r, dict):
                continue
            body, rating, detail = r.get("body"), str(r.get("rating")), r.get("detail")
            known, level = ref.rating_level(body, rating, detail)
            if not known:
                continue                    # PR2 reports it
            if body == "sms":
                stated = int(rating.split()[0]) if rating.split()[0].isdigit() else None
                if stated != sms:
                    failures.append(_fail(file, f"ratings[{i}].rating", rating,
                                          f"the SMS level of evaluation.sms_level ({sms})"))
                if "replicated" in rating.split() and not ev.get("replicated"):
                    failures.append(_fail(file, f"ratings[{i}].rating", rating, "evaluation.replicated: true"))
            if level is not None and level >= 3 and not spec["min_for_promising"]:
                failures.append(_fail(file, f"ratings[{i}].rating", f"{rating} ({ref.level_label(level, 'en')})",
                                      f"a design that can show an effect, not {design}"))
            for req in ref.scale.get("requirements") or []:
                if req["body"] != body:
                    continue
                if "ratings" in req and rating not in req["ratings"]:
                    continue
                if "details" in req and (detail or "") not in req["details"]:
                    continue
                if "designs" in req and design not in req["designs"]:
                    failures.append(_fail(file, "evaluation.design", design, req["why"]))
                if "min_studies" in req and n_studies is not None and n_studies < req["min_studies"]:
                    failures.append(_fail(file, "evaluation.studies_count", n_studies, req["why"]))
        if not studies and rec.get("ratings"):
            failures.append(_fail(file, "studies", "none", "a rated practice cites at least one study"))
    return _result(rule, failures)


@check("practice_dates_in_order", records=True)
def practice_dates_in_order(rule: Rule, table, ctx: QualityContext, con) -> RuleResult:
    this_year = date.today().year
    failures = []
    for file, rec in _rows(table):
        def pair(start_path, start, end_path, end):
            if isinstance(start, int) and isinstance(end, int) and end < start:
                failures.append(_fail(file, end_path, end, f"not before {start_path} {start}"))
            for p, v in ((start_path, start), (end_path, end)):
                if isinstance(v, int) and v > this_year:
                    failures.append(_fail(file, p, v, f"not after {this_year}"))
        pair("start_year", rec.get("start_year"), "end_year", rec.get("end_year"))
        for i, s in enumerate(rec.get("studies") or []):
            if not isinstance(s, dict):
                continue
            pair(f"studies[{i}].start_year", s.get("start_year"), f"studies[{i}].end_year", s.get("end_year"))
            y = s.get("year")
            if isinstance(y, int) and y > this_year:
                failures.append(_fail(file, f"studies[{i}].year", y, f"not after {this_year}"))
            if isinstance(y, int) and isinstance(s.get("start_year"), int) and y < s["start_year"]:
                failures.append(_fail(file, f"studies[{i}].year", y,
                                      f"a study is published after its data start ({s['start_year']})"))
            if isinstance(y, int) and isinstance(rec.get("start_year"), int) and y < rec["start_year"]:
                failures.append(_fail(file, f"studies[{i}].year", y,
                                      f"an evaluation is published after the practice starts ({rec['start_year']})"))
        review = rec.get("review") or {}
        on = review.get("reviewed_on")
        if isinstance(on, str) and on > date.today().isoformat():
            failures.append(_fail(file, "review.reviewed_on", on, "not in the future"))
        hist = [h.get("on") for h in review.get("history") or [] if isinstance(h, dict) and isinstance(h.get("on"), str)]
        for i in range(1, len(hist)):
            if hist[i] < hist[i - 1]:
                failures.append(_fail(file, f"review.history[{i}].on", hist[i], f"not before {hist[i - 1]}"))
    return _result(rule, failures)


# fields that must either hold a value or be listed in `unverified` (never silently empty)
MUST_STATE = ("start_year", "end_year", "implementation.materials", "implementation.cost", "implementation.contacts")
MUST_STATE_STUDY = ("authors", "year")


# paths that may hold a value and still be listed: what is there is confirmed, the rest of it is not
PARTLY_KNOWN = {"mechanism", "evaluation.design", "evaluation.studies_count", "studies[0].title", "studies[0].design",
                "studies[0].finding", "studies[0].journal", "city", "ratings"}


def _resolve(rec: dict, path: str):
    m = PATH_RE.match(path)
    if not m:
        return False, None
    v = rec.get(m.group(1))
    if m.group(3) is not None:
        v = v[int(m.group(3))] if isinstance(v, list) and int(m.group(3)) < len(v) else None
    if m.group(4):
        v = v.get(m.group(4)) if isinstance(v, dict) else None
        if m.group(6) is not None:
            v = v[int(m.group(6))] if isinstance(v, list) and int(m.group(6)) < len(v) else None
    return True, v


@check("practice_citation", records=True)
def practice_citation(rule: Rule, table, ctx: QualityContext, con) -> RuleResult:
    failures = []
    for file, rec in _rows(table):
        unv = _unverified(rec)
        for path in MUST_STATE:
            if path in ("start_year", "end_year") and rec.get("scope") == "international":
                continue                    # a practice reviewed across countries has no single start or end
            top, _, sub = path.partition(".")
            v = (rec.get(top) or {}).get(sub) if sub else rec.get(top)
            if _is_empty(v) and path not in unv:
                failures.append(_fail(file, path, None, "state it or list it in unverified"))
        if rec.get("scope") == "local" and _is_empty(rec.get("city")) and "city" not in unv:
            failures.append(_fail(file, "city", None, "a local practice names its city, or lists city in unverified"))
        for i, s in enumerate(rec.get("studies") or []):
            if not isinstance(s, dict):
                continue
            for name in MUST_STATE_STUDY:
                if _is_empty(s.get(name)) and f"studies[{i}].{name}" not in unv:
                    failures.append(_fail(file, f"studies[{i}].{name}", None, "state it or list it in unverified"))
            if _is_empty(s.get("url")) and _is_empty(s.get("doi")):
                failures.append(_fail(file, f"studies[{i}].url", None, "a DOI or a stable URL"))
        for path in sorted(unv):
            found, value = _resolve(rec, path)
            if found and not _is_empty(value) and path not in PARTLY_KNOWN:
                failures.append(_fail(file, path, value, "a field listed in unverified holds no value"))
        if not rec.get("ratings") and "ratings" not in unv:
            ev = rec.get("evaluation") or {}
            if ev.get("design") not in ("none",):
                failures.append(_fail(file, "ratings", None, "a rating, or ratings listed in unverified"))
    return _result(rule, failures)


def registered() -> bool:
    return all(name in RECORD_CHECKS for name in CHECK_NAMES)
