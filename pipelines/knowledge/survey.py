"""The demand survey: the first round of information gathering on the courses that exist in each member state
and on its priorities and demands (issue 16 item 4; DOMAIN.md 4.4).

* The questionnaire is data: ``reference/survey/questionnaire.yaml`` (question id = CSV column, type, code list,
  required, label in four languages). The portal draws its form from it; the import reads its columns.
* Answers: one row per demand (``kind = demand``) or per course that already exists in the country
  (``kind = existing_course``). They come from a CSV/XLSX file (``hemistat survey import FILE``) or from the
  portal (a country's office user, or an admin: ``pipelines/service/routers/catalogue.py``), and are kept in the
  data folder, ``<data>/knowledge/survey/*.csv`` (file names made here, never from the user).
* ``reference/survey/sample_answers.csv`` holds sample answers (``sample = true``), made up to show the matching
  and the gap report; they are published only while no real answer has been recorded.

Every answer is checked by the record rules SUR* (``quality_rules/records/catalogue.yaml``) through the quality
engine before anything is written; a bad file changes nothing and every message names file, row and field.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import date
from pathlib import Path

import pandas as pd

from pipelines import yamlio
from pipelines.i18n import Translator, load_catalogues
from pipelines.knowledge import codes, record_rules
from pipelines.settings import private_dir
from pipelines.storage.files import atomic_write_bytes

SYSTEM_COLUMNS = ["response_id", "sample", "entered_by", "channel"]
TRUE = {"true", "1", "yes", "y", "si", "sí", "sim", "oui", "x"}
FALSE = {"false", "0", "no", "n", "não", "nao", "non"}
FORMULA = ("=", "+", "@", "\t", "\r")     # a cell a spreadsheet would run as a formula is refused, never stored
ID_RX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def questionnaire(settings) -> dict:
    return yamlio.load((Path(settings.reference_dir) / "survey" / "questionnaire.yaml").read_text("utf-8"))


def columns(settings) -> list[str]:
    return ["response_id", *[q["id"] for q in questionnaire(settings)["questions"]], "sample", "entered_by", "channel"]


def answers_dir(settings) -> Path:
    return Path(settings.data_dir) / "knowledge" / "survey"


def _tr(settings, lang: str) -> Translator:
    return Translator(load_catalogues(Path(settings.reference_dir)), lang)


def read_table(path: Path, display_name: str | None = None) -> tuple[pd.DataFrame, str]:
    """A CSV (UTF-8, ``,`` or ``;``) or XLSX file as text cells; returns the frame and the name used in messages.
    ``__line`` is the file's row (header = row 1)."""
    name = display_name or Path(path).name
    data = Path(path).read_bytes()
    if data[:4] == b"PK\x03\x04":
        df = pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl").fillna("")
    else:
        text = data.decode("utf-8-sig")
        first = text.splitlines()[0] if text else ""
        sep = ";" if first.count(";") > first.count(",") else ","
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=sep)
    df.columns = [str(c).strip() for c in df.columns]
    df["__file"] = name
    df["__line"] = list(range(2, len(df) + 2))
    return df, name


def normalise(settings, raw: pd.DataFrame, lang: str = "en") -> tuple[pd.DataFrame, list[str]]:
    """Typed answers from text cells: booleans, whole numbers and ISO dates parsed per the questionnaire;
    unknown columns refused. Returns the frame and the problems (messages in ``lang``)."""
    t = _tr(settings, lang)
    qs = questionnaire(settings)["questions"]
    known = {q["id"] for q in qs} | set(SYSTEM_COLUMNS) | {"__file", "__line"}
    problems = []
    name = raw["__file"].iloc[0] if len(raw) else ""
    for c in raw.columns:
        if c not in known:
            problems.append(t("catalogue.err.unknown_column", file=name, column=c))
    for q in qs:
        if q["id"] not in raw.columns:
            if q.get("required"):
                problems.append(t("catalogue.err.missing_column", file=name, column=q["id"]))
    out = pd.DataFrame({"__file": raw["__file"], "__line": raw["__line"]})
    for q in qs:
        col = raw[q["id"]] if q["id"] in raw.columns else pd.Series([""] * len(raw), index=raw.index)
        vals = []
        for line, v in zip(raw["__line"], col):
            v = "" if v is None else str(v).strip()
            if v == "":
                vals.append(None)
                continue
            parsed, key = _parse(q["type"], v)
            if q["type"] == "text" and v[:1] in FORMULA:
                key = "catalogue.err.formula"
            if key:
                problems.append(t(key, file=name, line=line, column=q["id"], value=v))
            vals.append(parsed)
        out[q["id"]] = vals
    out["country_iso3"] = out["country_iso3"].map(lambda v: v.upper() if isinstance(v, str) else v)
    rid = raw["response_id"] if "response_id" in raw.columns else pd.Series([""] * len(raw), index=raw.index)
    for line, v in zip(raw["__line"], rid):
        if str(v).strip() and not ID_RX.match(str(v).strip()):
            problems.append(t("catalogue.err.bad_id", file=name, line=line, column="response_id", value=v))
    out["response_id"] = [str(v).strip() or None for v in rid]
    smp = raw["sample"] if "sample" in raw.columns else pd.Series([""] * len(raw), index=raw.index)
    out["sample"] = [str(v).strip().lower() in TRUE for v in smp]
    for c in ("entered_by", "channel"):
        out[c] = [str(v).strip() or None for v in raw[c]] if c in raw.columns else None
    return out, problems


def _parse(kind: str, v: str):
    if kind == "boolean":
        low = v.lower()
        if low in TRUE:
            return True, None
        if low in FALSE:
            return False, None
        return None, "catalogue.err.type_boolean"
    if kind == "integer":
        try:
            f = float(v.replace(",", "."))
        except ValueError:
            return None, "catalogue.err.type_integer"
        if not f.is_integer():
            return None, "catalogue.err.type_integer"
        return int(f), None
    if kind == "date":
        try:
            return date.fromisoformat(v[:10]).isoformat(), None
        except ValueError:
            return None, "catalogue.err.type_date"
    return v, None


def _with_ids(df: pd.DataFrame, digest: str) -> pd.DataFrame:
    df = df.copy()
    df["response_id"] = [rid or f"{(c or 'XXX')}-{digest[:8]}-{line}"
                         for rid, c, line in zip(df["response_id"], df["country_iso3"], df["__line"])]
    return df


def check(settings, df: pd.DataFrame, lang: str = "en", *, others: pd.DataFrame | None = None) -> None:
    """The record rules SUR* on ``df`` (with the answers already recorded, ``others``, for unique ids);
    raises ``RecordError`` with every message."""
    frame = df if others is None or not len(others) else pd.concat([others, df], ignore_index=True)
    results = record_rules.check_records(settings, "survey", frame)
    if others is not None and len(others):
        own = set(zip(df["__file"], df["__line"]))
        for r in results:   # report the new rows only (the recorded ones passed when they came)
            f = r.failures
            if len(f):
                keep = [(a, b) in own for a, b in zip(f["file_name"], f["line"])]
                r.failures = f[keep].reset_index(drop=True)
                r.failing_rows = len(r.failures)
                r.status = "fail" if r.failing_rows else "pass"
    record_rules.raise_for(results, lang)


def recorded(settings) -> pd.DataFrame:
    """The real answers recorded so far (imports and the portal), typed."""
    frames = []
    folder = answers_dir(settings)
    for p in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        raw, _ = read_table(p, f"knowledge/survey/{p.name}")
        df, _problems = normalise(settings, raw)
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=columns(settings) + ["__file", "__line"])
    return pd.concat(frames, ignore_index=True)


def sample_answers(settings) -> pd.DataFrame:
    raw, _ = read_table(Path(settings.reference_dir) / "survey" / "sample_answers.csv",
                        "reference/survey/sample_answers.csv")
    df, problems = normalise(settings, raw)
    if problems:
        raise record_rules.RecordError(problems)
    df["channel"] = "sample"
    return df


def answers(settings, lang: str = "en") -> pd.DataFrame:
    """The answers that are published: the real ones when any exists, else the sample answers; checked."""
    real = recorded(settings)
    df = real if len(real) else sample_answers(settings)
    if len(df):
        record_rules.raise_for(record_rules.check_records(settings, "survey", df), lang)
    return df


def import_file(settings, path: Path, lang: str = "en", *, entered_by: str | None = None,
                channel: str = "import", country: str | None = None) -> dict:
    """Check a CSV/XLSX file of answers and, when every row passes, record it in the data folder (under a name
    made from its content). ``country``: the only member state the file may answer for (a country's user).
    Raises ``RecordError`` (messages in ``lang``) and records nothing when a row fails."""
    from pipelines.adapters.guards import FileRefused, check_file

    try:    # the same limits as every national file: size, columns, cells, zip bombs, DTDs (adapters/guards.py)
        check_file(Path(path), Path(path).name, readers=[{"delimiter": ","}, {"delimiter": ";"}])
    except FileRefused as exc:
        raise record_rules.RecordError([p.render(lang) for p in exc.problems]) from exc
    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    try:
        raw, name = read_table(Path(path))
    except (UnicodeDecodeError, ValueError, KeyError, OSError) as exc:   # not UTF-8 text, not a workbook
        raise record_rules.RecordError([_tr(settings, lang)("catalogue.err.unreadable", file=Path(path).name,
                                                            reason=type(exc).__name__)]) from exc
    if not len(raw):
        raise record_rules.RecordError([_tr(settings, lang)("catalogue.err.empty_file", file=name)])
    df, problems = normalise(settings, raw, lang)
    if problems:
        raise record_rules.RecordError(problems)
    if country:
        t = _tr(settings, lang)
        other = [t("catalogue.err.other_country", file=name, line=line, value=c, country=country)
                 for c, line in zip(df["country_iso3"], df["__line"]) if c != country]
        if other:
            raise record_rules.RecordError(other)
    df = _with_ids(df, digest)
    df["entered_by"] = entered_by
    df["channel"] = channel
    df["sample"] = False
    target = private_dir(answers_dir(settings)) / f"{channel}__{digest[:12]}.csv"
    if target.exists():
        raise record_rules.RecordError([_tr(settings, lang)("catalogue.err.already_imported", file=name)])
    check(settings, df, lang, others=recorded(settings))
    _write(df, target, settings)
    return {"file": name, "stored_as": target.name, "answers": len(df),
            "demands": int((df["kind"] == "demand").sum()), "existing_courses": int((df["kind"] == "existing_course").sum()),
            "countries": sorted(set(df["country_iso3"].dropna()))}


def record_answer(settings, values: dict, lang: str = "en", *, entered_by: str, channel: str = "portal") -> dict:
    """One answer from the portal's form (text values by question id): checked like a file row, then stored as
    its own file. Returns the stored answer."""
    raw = pd.DataFrame([{k: ("" if v is None else str(v)) for k, v in values.items()}])
    raw["__file"] = "portal"
    raw["__line"] = 1
    df, problems = normalise(settings, raw, lang)
    if problems:
        raise record_rules.RecordError(problems)
    digest = hashlib.sha256(repr(sorted(values.items())).encode() + entered_by.encode()
                            + date.today().isoformat().encode()).hexdigest()
    df["response_id"] = [f"{df['country_iso3'].iloc[0] or 'XXX'}-P{digest[:10]}"]
    df["entered_by"], df["channel"], df["sample"] = entered_by, channel, False
    check(settings, df, lang, others=recorded(settings))
    target = private_dir(answers_dir(settings)) / f"{channel}__{digest[:12]}.csv"
    _write(df, target, settings)
    return df.drop(columns=["__file", "__line"]).iloc[0].to_dict()


def _write(df: pd.DataFrame, target: Path, settings) -> None:
    out = df.reindex(columns=columns(settings))
    atomic_write_bytes(target, out.to_csv(index=False).encode("utf-8"))


def template(settings, path: Path, lang: str = "en") -> Path:
    """An empty answer workbook: sheet ``answers`` (the questions' ids as header, what the import reads) and sheet
    ``questions`` (id, type, required, allowed codes, the question in ``lang``)."""
    import openpyxl

    qs = questionnaire(settings)["questions"]
    lists = record_rules.codelists(settings)
    named = {"countries": "countries", "topics": "topics", "audiences": "audiences"}
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "answers"
    ws.append([q["id"] for q in qs])
    qsheet = wb.create_sheet("questions")
    qsheet.append(["id", "type", "required", "allowed", "question"])
    for q in qs:
        cl = q.get("codelist")
        allowed = ", ".join(lists[named[cl]]) if isinstance(cl, str) else ", ".join(cl or [])
        qsheet.append([q["id"], q["type"], "yes" if q.get("required") else "", allowed,
                       q["label"].get(lang) or q["label"]["en"]])
    wb.save(path)
    return Path(path)


def demands_table(df: pd.DataFrame, settings) -> pd.DataFrame:
    """The published ``course_demands``: every answer with its MISPA pillar (from the topic)."""
    pillar = codes.pillar_of(settings)
    cols = columns(settings)
    out = df.reindex(columns=cols).copy()
    out.insert(out.columns.get_loc("topic"), "mispa_pillar", out["topic"].map(pillar))
    for c in ("people", "priority"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
    for c in ("language_mandatory", "budget_available"):
        out[c] = out[c].astype("boolean")
    for c in ("period_start", "period_end"):
        out[c] = pd.to_datetime(out[c], errors="coerce").dt.date.astype("object")
        out[c] = out[c].where(out[c].notna(), None)
    out["sample"] = out["sample"].astype(bool)
    return out.sort_values("response_id").reset_index(drop=True)
