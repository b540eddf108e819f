"""The pipeline's steps as plain functions (no Dagster): land -> raw -> validated -> harmonised -> published.

Dagster assets in ``pipelines/defs`` are thin wrappers around these; tests call them directly too.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.adapters import Problem, SubmissionError, adapt_file, load_all_specs, load_spec
from pipelines.contracts.tables import ContractError, HarmonisedSchema, RawSchema, validate_layer
from pipelines.harmonise import harmonise
from pipelines.harmonise import reference as ref
from pipelines.settings import Settings
from pipelines.storage import release as rel
from pipelines.storage import submissions as subs
from pipelines.storage.catalog import PUBLISHABLE, accepted_submissions  # noqa: F401 (re-exported)
from pipelines.quality.run import run_quality  # noqa: F401 (re-exported)
from pipelines.storage.files import write_parquet_atomic

_INT = re.compile(r"\d+")
HOLD_DETAIL = "awaiting publication approval by a reviewer"
DECIDED = ("approved", "published", "superseded")   # a reviewer's approval and what follows from it


def needs_approval(man) -> bool:
    """Files uploaded through the portal are published only after a reviewer approves them."""
    return man.channel == "web"


def pipeline_may_set(st: dict) -> bool:
    """A re-run of a step never undoes a person's decision (approval, refusal, withdrawal) or a publication
    (e.g. Dagster's landing_sensor ingesting a web upload a reviewer withdrew before its first run)."""
    return st.get("status") not in (*DECIDED, "withdrawn") and not st.get("decision")


@dataclass
class StepResult:
    submission_id: str
    path: Path | None
    rows: int
    stats: dict
    seconds: float


def check_release_date(value: str | None) -> str | None:
    """An ISO date (yyyy-mm-dd) not in the future, or None."""
    if value in (None, ""):
        return None
    from datetime import date

    try:
        d = date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"release date {value!r} is not a date written yyyy-mm-dd") from None
    if d > date.today():
        raise ValueError(f"release date {d} is in the future")
    return d.isoformat()


def submit(settings: Settings, file: Path, source_id: str, *, uploaded_by: str = "cli",
           country_iso3: str | None = None, channel: str = "cli", original_name: str | None = None,
           released_on: str | None = None):
    """Store a file as a new submission (or return the existing one with the same checksum).
    ``released_on``: the date the publisher released the file (yyyy-mm-dd), if the submitter knows it."""
    settings.ensure_dirs()
    spec = load_spec(source_id, settings.reference_dir)  # unknown source -> KeyError, nothing stored
    released_on = check_release_date(released_on)
    country = country_iso3 or spec.country_iso3
    return subs.land_file(settings.landing_dir, Path(file), source_id=source_id, original_name=original_name,
                          uploaded_by=uploaded_by, country_iso3=country, channel=channel, released_on=released_on)


def release_date_from_file(spec, path: Path, original_name: str) -> tuple[str | None, str | None]:
    """The release date the spec says how to read (``release_date``): workbook properties or the file name."""
    how = spec.release_date
    src = how.from_ if how else None
    if not src:
        return None, None
    if src in ("xlsx_modified", "xlsx_created"):
        import openpyxl

        try:
            wb = openpyxl.load_workbook(path, read_only=True)
            d = wb.properties.modified if src == "xlsx_modified" else wb.properties.created
            wb.close()
        except Exception:  # noqa: BLE001 - not a workbook: the adapter reports that
            return None, None
        return (d.date().isoformat(), f"file: {src}") if d else (None, None)
    if src == "filename":
        from datetime import datetime

        m = re.search(how.pattern, original_name)
        if not m:
            return None, None
        try:
            return datetime.strptime(m.group("date"), how.format or "%Y-%m-%d").date().isoformat(), \
                "file: name"
        except ValueError:
            return None, None
    return None, None


def _report(sid: str, man, verdict: str, problems: list[Problem], stats: dict) -> dict:
    return {"submission_id": sid, "source_id": man.source_id, "file": man.original_name,
            "sha256": man.sha256, "verdict": verdict, "problems": [p.as_dict() for p in problems],
            "stats": stats}


def contract_problems(df: pd.DataFrame, exc: ContractError, file_name: str) -> list[Problem]:
    """Turn pandera failure cases into problems that name file, line, column and rule."""
    out = []
    fc = exc.failures
    for _, f in fc.head(200).iterrows():
        idx = f.get("index")
        line = None
        if idx is not None and pd.notna(idx) and int(idx) in df.index:
            line = int(df.at[int(idx), "line"])
            col = f.get("column")
            col = df.at[int(idx), "column_name"] if col == "value" else col
        else:
            col = f.get("column")
        out.append(Problem(file_name, line, None if pd.isna(col) else str(col), "S1",
                           value=None if pd.isna(f.get("failure_case")) else str(f.get("failure_case")),
                           key="breaks_contract", params={"layer": exc.layer, "check": str(f.get("check"))}))
    return out


def ingest(settings: Settings, sid: str) -> StepResult:
    """landing -> raw: verify the checksum, run the source's adapter, write raw/<sid>.parquet."""
    t0 = time.perf_counter()
    man = subs.verify(settings.landing_dir, sid)
    spec = load_spec(man.source_id, settings.reference_dir)
    countries = set(ref.countries(settings.reference_dir)["iso3"])
    path = subs.stored_file(settings.landing_dir, sid)
    try:
        table, stats = adapt_file(path, spec, submission_id=sid, file_name=man.original_name,
                                  allowed_countries=countries)
    except SubmissionError as exc:
        results, _, report = run_quality(settings, spec, None, file_name=man.original_name, sid=sid,
                                         problems=exc.problems, with_gx=False, sha256=man.sha256)
        report["problems"] = [p.as_dict() for p in exc.problems]
        report["verdict"] = "rejected"
        qrows, fails, _ = _quality_tables(sid, man.source_id, results, None)
        write_parquet_atomic(qrows, quality_dir(settings) / f"{sid}.parquet")
        write_parquet_atomic(fails, quality_dir(settings) / f"{sid}_failures.parquet")
        subs.write_report(settings.landing_dir, sid, report)
        for stale in (settings.raw_dir / f"{sid}.parquet", settings.validated_dir / f"{sid}.parquet"):
            stale.unlink(missing_ok=True)   # a re-reading that fails leaves nothing of an earlier reading
        subs.set_status(settings.landing_dir, sid, "rejected", detail=str(exc.problems[0]))
        exc.results = results
        raise
    out = write_parquet_atomic(table, settings.raw_dir / f"{sid}.parquet")
    released_on, released_from = release_date_from_file(spec, path, man.original_name)
    subs.update_status_fields(settings.landing_dir, sid, layout=stats.get("layout"),
                              **({"released_on": released_on, "released_on_from": released_from}
                                 if released_on else {}))
    return StepResult(sid, out, len(table), stats, time.perf_counter() - t0)


def quality_dir(settings: Settings) -> Path:
    return settings.data_dir / "quality"


def _line_numbers(v) -> list[int]:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return []
    if isinstance(v, (int, float, np.integer, np.floating)):
        return [int(v)]
    return [int(x) for x in _INT.findall(str(v))]


def _failure_frame(frames: list[pd.DataFrame], empty_columns: list[str]) -> pd.DataFrame:
    """Failing rows of several rules in one frame with stable Parquet types (text, and Int64 numbers)."""
    f = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=empty_columns)
    if "line" in f.columns:
        # a failure may span several lines ("4, 21": a duplicate, C4): ``lines`` keeps them all, ``line``
        # the first, so no line is lost to a numeric conversion
        nums = [_line_numbers(v) for v in f["line"].tolist()]
        f["lines"] = [", ".join(map(str, xs)) or None for xs in nums]
        f["line"] = [xs[0] if xs else None for xs in nums]
    for c in f.columns:
        if c in ("line", "year", "month"):
            f[c] = pd.to_numeric(f[c], errors="coerce").astype("Int64")
        else:
            f[c] = f[c].astype("str").where(f[c].notna(), None)
    return f


def _quality_tables(sid: str, source_id: str, results, table: pd.DataFrame | None):
    from pipelines.quality.engine import scorecard_frame

    rows = scorecard_frame([{"submission_id": sid, "source_id": source_id, **r.as_row()} for r in results])
    country = None
    if table is not None and len(table) and table["country_iso3"].nunique() == 1:
        country = table["country_iso3"].iloc[0]
    fails = []
    for r in results:
        if len(r.failures):
            f = r.failures.copy()
            if country is not None:
                f["country_iso3"] = f["country_iso3"].fillna(country) if f["country_iso3"].notna().any() \
                    else country
            f.insert(0, "rule_id", r.rule.id)
            f.insert(0, "submission_id", sid)
            fails.append(f)
    fdf = _failure_frame(fails, ["submission_id", "rule_id"])
    cy = pd.DataFrame(columns=["country_iso3", "year"])
    if table is not None and len(table):
        cy = table[["country_iso3", "year"]].drop_duplicates()
    return rows, fdf, cy


def validate(settings: Settings, sid: str) -> StepResult:
    """raw -> validated: the layer contract plus every quality rule of the raw/validated layers.

    error rules block: the submission is quarantined (report kept, nothing deleted) and never reaches
    published. warn rules need a statistician's acknowledgement (status ``awaiting_review``).
    """
    t0 = time.perf_counter()
    man = subs.read_manifest(settings.landing_dir, sid)
    spec = load_spec(man.source_id, settings.reference_dir)
    df = pd.read_parquet(settings.raw_dir / f"{sid}.parquet")
    problems: list[Problem] = []
    try:
        validate_layer(df, RawSchema)
    except ContractError as exc:
        problems.extend(contract_problems(df, exc, man.original_name))
    st = subs.read_status(settings.landing_dir, sid)
    acknowledged = {a["rule_id"] for a in st.get("acknowledgements", [])}
    from datetime import datetime

    results, v, report = run_quality(settings, spec, df, file_name=man.original_name, sid=sid,
                                     received_at=datetime.fromisoformat(man.received_at), layout=st.get("layout"),
                                     problems=problems, acknowledged=acknowledged, sha256=man.sha256)
    qrows, fails, cy = _quality_tables(sid, man.source_id, results, df)
    qd = quality_dir(settings)
    write_parquet_atomic(qrows, qd / f"{sid}.parquet")
    write_parquet_atomic(fails, qd / f"{sid}_failures.parquet")
    write_parquet_atomic(cy.assign(submission_id=sid, source_id=man.source_id), qd / f"{sid}_coverage.parquet")
    subs.write_report(settings.landing_dir, sid, report)
    stats = {**report["stats"], "verdict": v, "results": results}
    if v == "rejected":
        subs.set_status(settings.landing_dir, sid, "rejected",
                        detail="; ".join(f"{r.rule.id}: " + (f"the rule could not be evaluated ({r.observed})"
                                                      if r.status == "error_in_rule" else f"{r.failing_rows} row(s)")
                                         for r in results if r.blocking))
        write_parquet_atomic(df, settings.quarantine_dir / f"{sid}.parquet")
        (settings.validated_dir / f"{sid}.parquet").unlink(missing_ok=True)
        err = SubmissionError([Problem(f.get("file_name") or man.original_name, f.get("line"), f.get("column_name"),
                                       f["rule"], f["message"]["en"], None if f.get("value") is None else str(f["value"]))
                               for f in report["problems"]])
        err.results = results
        raise err
    out = write_parquet_atomic(df, settings.validated_dir / f"{sid}.parquet")
    (settings.quarantine_dir / f"{sid}.parquet").unlink(missing_ok=True)
    if pipeline_may_set(st):
        if v == "review":
            warns = [r.rule.id for r in results if r.status == "fail" and r.rule.severity == "warn"
                     and r.rule.id not in acknowledged]
            subs.set_status(settings.landing_dir, sid, "awaiting_review",
                            detail="warnings to acknowledge: " + ", ".join(warns))
        elif needs_approval(man):
            subs.set_status(settings.landing_dir, sid, "awaiting_review", detail=HOLD_DETAIL)
        else:
            subs.set_status(settings.landing_dir, sid, "validated", detail=f"{len(df)} cells")
    return StepResult(sid, out, len(df), stats, time.perf_counter() - t0)


def failing_warnings(settings: Settings, sid: str) -> list[str]:
    report = json.loads((subs.submission_dir(settings.landing_dir, sid) / "report.json").read_text("utf-8"))
    return [r["rule_id"] for r in report["rules"] if r["status"] == "fail" and r["severity"] == "warn"]


def acknowledge(settings: Settings, sid: str, rule_ids: list[str], *, by: str, reason: str) -> dict:
    """A statistician acknowledges warn results (who, when, why); when none is left the submission is
    validated and may be published."""
    if not reason.strip():
        raise ValueError("an acknowledgement needs a reason")
    st = subs.read_status(settings.landing_dir, sid)
    report = json.loads((subs.submission_dir(settings.landing_dir, sid) / "report.json").read_text("utf-8"))
    failing_warn = {r["rule_id"] for r in report["rules"] if r["status"] == "fail" and r["severity"] == "warn"}
    unknown = set(rule_ids) - failing_warn
    if unknown:
        raise ValueError(f"not a failing warn rule of {sid}: {', '.join(sorted(unknown))}")
    from datetime import datetime, timezone

    acks = st.get("acknowledgements", [])
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    acks += [{"rule_id": r, "by": by, "at": now, "reason": reason} for r in rule_ids]
    done = {a["rule_id"] for a in acks}
    new_status = st["status"]
    detail = f"acknowledged {', '.join(rule_ids)}: {reason}"
    if st["status"] == "awaiting_review" and failing_warn <= done:
        if needs_approval(subs.read_manifest(settings.landing_dir, sid)):
            detail += "; " + HOLD_DETAIL
        else:
            new_status = "validated"
    return subs.set_status(settings.landing_dir, sid, new_status, by=by, detail=detail, acknowledgements=acks)


def harmonise_all(settings: Settings) -> dict:
    """validated -> harmonised: every accepted submission, latest vintage per cell; then the
    harmonised-layer quality rules (cross-source, rates, completeness)."""
    t0 = time.perf_counter()
    accepted = accepted_submissions(settings)
    specs = load_all_specs(settings.reference_dir)
    accepted, res, isolated = _harmonise_isolating(settings, accepted, specs)
    validate_layer(res.indicators, HarmonisedSchema)
    d = settings.harmonised_dir
    write_parquet_atomic(res.indicators, d / "indicators.parquet")
    write_parquet_atomic(res.cells, d / "cells.parquet")
    write_parquet_atomic(res.excluded, d / "excluded.parquet")
    write_parquet_atomic(res.unused_crosswalk, d / "unused_crosswalk.parquet")
    write_parquet_atomic(res.survey, d / "survey.parquet")
    write_parquet_atomic(res.used, d / "used_submissions.parquet")
    write_parquet_atomic(res.revisions, d / "revisions.parquet")
    results = harmonised_quality(settings, res.indicators)
    return {**res.stats, "submissions": len(accepted), "seconds": round(time.perf_counter() - t0, 2),
            "path": str(d), "results": results, "isolated": isolated}


def _harmonise_isolating(settings: Settings, accepted: pd.DataFrame, specs) -> tuple:
    """Harmonise; a submission that breaks it (a code without a crosswalk row in force since the crosswalk
    changed, a crosswalk row pointing at no ICCS code) is isolated — status rejected with the reason — and
    the others are harmonised and published without it. Returns (accepted, result, {sid: reason})."""
    from pipelines.harmonise import HarmoniseError

    isolated: dict[str, str] = {}
    while True:
        try:
            return accepted, harmonise(accepted, specs, settings.reference_dir), isolated
        except HarmoniseError as exc:
            d = exc.details
            bad: set[str] = set()
            if d is not None and "submissions" in d.columns:
                bad = {x for v in d["submissions"].dropna() for x in str(v).split(",")}
            elif d is not None and "source_id" in d.columns:
                bad = set(accepted.loc[accepted["source_id"].isin(set(d["source_id"])), "submission_id"])
            bad &= set(accepted["submission_id"])
            if not bad:
                raise
            first = str(exc).splitlines()[0]
            for sid in sorted(bad):
                rows = d[d["submissions"].fillna("").str.contains(sid, regex=False)] if "submissions" in d.columns \
                    else d[d["source_id"] == sid.split("__")[0]]
                what = "; ".join(f"{r.get('national_code')} {r.get('year', '')}".strip()
                                 for r in rows.head(5).to_dict("records"))
                reason = (f"harmonisation: {first} ({what}); fix reference/crosswalks, then "
                          f"hemistat reprocess {sid}")
                subs.set_status(settings.landing_dir, sid, "rejected", detail=reason, isolated=True)
                isolated[sid] = reason
            accepted = accepted[~accepted["submission_id"].isin(bad)]
            if accepted.empty:
                raise


def harmonised_quality(settings: Settings, indicators: pd.DataFrame):
    """Run the harmonised-layer rules; results are attributed to the submissions behind each row."""
    from pipelines.quality import evaluate, load_rules
    from pipelines.quality.engine import QualityContext

    rules = load_rules(settings.rules_dir, reference_dir=settings.reference_dir)
    cmp_sources = sorted({s for r in rules if r.check == "two_source_ratio"
                          for s in r.params.get("comparison_sources", [])})
    comparison = indicators[indicators["source_id"].isin(cmp_sources) & indicators["subdivision_code"].isna()
                            & indicators["month"].isna() & (indicators["sex"] == "_T")
                            & indicators["rate_per_100k"].notna()]
    comparison = comparison.rename(columns={"rate_per_100k": "rate"})[["country_iso3", "year", "rate", "source_id"]]
    ctx = QualityContext(reference_dir=settings.reference_dir, comparison=comparison)
    results = evaluate(indicators, rules, ctx, layer="harmonised")
    rows, fails = [], []
    for r in results:
        rows.append({"submission_id": None, "source_id": None, **r.as_row()})
        if len(r.failures):
            fails.append(r.failures.assign(rule_id=r.rule.id))
    qd = quality_dir(settings)
    from pipelines.quality.engine import scorecard_frame

    write_parquet_atomic(scorecard_frame(rows), qd / "harmonised.parquet")
    write_parquet_atomic(_failure_frame(fails, ["rule_id", "country_iso3", "year"]), qd / "harmonised_failures.parquet")
    return results


def submissions_table(settings: Settings, plan: list[dict] | None = None) -> pd.DataFrame:
    """Every submission with its status; ``plan`` (``plan_statuses``) gives the statuses the release being
    written will make true, so the release describes itself without a status being written before it exists."""
    cols = ["submission_id", "source_id", "country_iso3", "received_at", "uploaded_by", "sha256",
            "size_bytes", "original_name", "status", "report_path", "status_detail"]
    rows = subs.list_submissions(settings.landing_dir)
    changes = {c["submission_id"]: c for c in plan or []}
    rows = [{**r, "status": changes[r["submission_id"]]["status"],
             "status_detail": changes[r["submission_id"]]["detail"]} if r["submission_id"] in changes else r
            for r in rows]
    df = pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame(columns=cols)
    return df[cols].astype({"size_bytes": "int64"}) if len(df) else df


def quality_tables(settings: Settings, submission_ids: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Scorecard rows (submission x rule), failing rows and country-year coverage of every submission.

    The files read are named, one set per known submission (``<sid>.parquet``, ``<sid>_failures.parquet``,
    ``<sid>_coverage.parquet``) plus the harmonised layer's; never a glob that another file could match."""
    qd = quality_dir(settings)
    if submission_ids is None:
        submission_ids = [s["submission_id"] for s in subs.list_submissions(settings.landing_dir)]

    def cat(names, cols):
        frames = [pd.read_parquet(qd / n) for n in names if (qd / n).exists()]
        frames = [f for f in frames if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)

    score = cat([f"{sid}.parquet" for sid in submission_ids] + ["harmonised.parquet"],
                ["submission_id", "source_id", "rule_id"])
    if len(score):
        score["failing_rows"] = score["failing_rows"].fillna(0).astype("int64")
    fails = cat([f"{sid}_failures.parquet" for sid in submission_ids] + ["harmonised_failures.parquet"],
                ["submission_id", "rule_id"])
    cov = cat([f"{sid}_coverage.parquet" for sid in submission_ids],
              ["country_iso3", "year", "submission_id", "source_id"])
    for df in (score, fails):
        for c in df.columns:
            if df[c].dtype == object:
                df[c] = df[c].astype("str").where(df[c].notna(), None)
    from pipelines.quality.engine import scorecard_frame

    score = scorecard_frame(score)  # engine/gx_* columns, also for files written before they existed
    return {"quality_rules": score, "quality_failures": fails, "quality_coverage": cov}


def plan_statuses(settings: Settings, used: set[str]) -> list[dict]:
    """The status changes a release of ``used`` makes true (written only once the release exists):
    ``published`` for every accepted submission with at least one cell in it (``used``:
    harmonised/used_submissions.parquet); ``superseded`` for one whose every cell a newer submission of the
    same source replaced (latest vintage per cell)."""
    accepted = accepted_submissions(settings)
    rows = accepted.to_dict("records") if len(accepted) else []
    plan = []
    for s in rows:
        sid, status = s["submission_id"], s["status"]
        if sid in used:
            if status != "published":
                plan.append({"submission_id": sid, "status": "published", "detail": None})
        elif status != "superseded":
            newer = sorted(o["submission_id"] for o in rows
                           if o["source_id"] == s["source_id"] and o["submission_id"] in used
                           and (o["received_at"], o["submission_id"]) > (s["received_at"], sid))
            plan.append({"submission_id": sid, "status": "superseded", "superseded_by": newer,
                         "detail": "every cell replaced by a newer submission: " + (", ".join(newer) or "none")})
    return plan


def apply_statuses(settings: Settings, plan: list[dict], release_id: str) -> None:
    for c in plan:
        extra = {"superseded_by": c["superseded_by"]} if "superseded_by" in c else {}
        detail = c["detail"] or f"in release {release_id}"
        subs.set_status(settings.landing_dir, c["submission_id"], c["status"], detail=detail,
                        release_id=release_id, **extra)


def publish_all(settings: Settings) -> dict:
    """harmonised -> published: one atomic release (Parquet folder + rebuilt hemistat.duckdb).

    Statuses follow the release: they are planned first, the release is written with them, and only once it
    is current are they written to the submissions. A failed publish leaves every status where it was (so
    the approval sensor and the next run retry)."""
    t0 = time.perf_counter()
    d = settings.harmonised_dir
    tables = {name: pd.read_parquet(d / f"{name}.parquet")
              for name in ("indicators", "cells", "excluded", "survey", "revisions")}
    used = set(pd.read_parquet(d / "used_submissions.parquet")["submission_id"])
    plan = plan_statuses(settings, used)
    tables["submissions"] = submissions_table(settings, plan)
    tables["changelog"] = changelog(settings, plan, used)
    tables.update(quality_tables(settings, list(tables["submissions"]["submission_id"])))
    reference_tables = {"countries": ref.countries(settings.reference_dir),
                        "iccs": ref.iccs(settings.reference_dir),
                        "population_national": ref.population_national(settings.reference_dir),
                        "population_subnational": ref.population_subnational(settings.reference_dir)}
    rid = rel.publish(settings.published_dir, settings.duckdb_path, settings.views_dir, tables,
                      reference_tables, metadata={"submissions": sorted(used),
                                                  "changelog": tables["changelog"].to_dict("records")})
    apply_statuses(settings, plan, rid)
    return {"release_id": rid, "rows": {k: len(v) for k, v in tables.items()},
            "duckdb": str(settings.duckdb_path), "seconds": round(time.perf_counter() - t0, 2),
            "statuses": {c["submission_id"]: c["status"] for c in plan}}


def reprocess(settings: Settings, sids: list[str], *, by: str = "pipeline") -> dict[str, str]:
    """Read stored submissions again with the current spec and crosswalk (after a fix): every layer file
    they produced is replaced (or removed if the new reading is rejected). The bytes and the audit trail
    stay; a reviewer's decision is kept (``pipeline_may_set``). Returns {sid: status after}. Publish to
    make the new reading public."""
    out = {}
    for sid in sids:
        st = subs.read_status(settings.landing_dir, sid)
        if st.get("status") == "withdrawn":
            raise ValueError(f"{sid} is withdrawn: it is not read again")
        subs.set_status(settings.landing_dir, sid, st.get("status", "received"), by=by,
                        detail="reprocess: read again with the current spec and crosswalk")
        try:
            ingest(settings, sid)
            validate(settings, sid)
        except SubmissionError:
            pass   # rejected: the report says why; nothing of the earlier reading is left
        out[sid] = subs.read_status(settings.landing_dir, sid)["status"]
    return out


def withdraw(settings: Settings, sid: str, *, reason: str, by: str) -> dict:
    """Take a submission out of the published warehouse from the next release on. The bytes, the reports
    and the audit trail stay; the release's changelog names it with the reason."""
    if not reason or not reason.strip():
        raise ValueError("a withdrawal needs a reason")
    st = subs.read_status(settings.landing_dir, sid)
    if st.get("status") == "withdrawn":
        raise ValueError(f"{sid} is already withdrawn")
    return subs.set_status(settings.landing_dir, sid, "withdrawn", by=by, detail=f"withdrawn: {reason.strip()}",
                           withdrawn={"by": by, "reason": reason.strip(), "previous_status": st.get("status")})


def changelog(settings: Settings, plan: list[dict], used: set[str]) -> pd.DataFrame:
    """What this release changes against the current one: submissions added, superseded, withdrawn (with
    the reason) and cells revised (counts per source, from harmonised/revisions.parquet)."""
    prev = set()
    cur = rel.current_release(settings.published_dir)
    if cur:
        meta = settings.published_dir / "releases" / cur / "release.json"
        if meta.exists():
            prev = set(json.loads(meta.read_text("utf-8")).get("submissions") or [])
    rows = []
    man = {s["submission_id"]: s for s in subs.list_submissions(settings.landing_dir)}
    for sid in sorted(used - prev):
        rows.append({"kind": "added", "submission_id": sid, "source_id": man.get(sid, {}).get("source_id"),
                     "detail": f"released {man.get(sid, {}).get('release_date')}"})
    planned = {c["submission_id"]: c for c in plan}
    for sid in sorted(prev - used):
        st = subs.read_status(settings.landing_dir, sid) if sid in man else {}
        status = planned.get(sid, {}).get("status") or st.get("status")   # what this release makes true
        if status == "withdrawn":
            w = st.get("withdrawn") or {}
            rows.append({"kind": "withdrawn", "submission_id": sid, "source_id": man[sid]["source_id"],
                         "detail": f"withdrawn by {w.get('by')}: {w.get('reason')}"})
        else:
            rows.append({"kind": "superseded" if status == "superseded" else "removed", "submission_id": sid,
                         "source_id": man.get(sid, {}).get("source_id"),
                         "detail": planned.get(sid, {}).get("detail") or status})
    rp = settings.harmonised_dir / "revisions.parquet"
    if rp.exists():
        rv = pd.read_parquet(rp, columns=["source_id", "kind", "new_submission_id"])
        for (src, kind, new), g in rv.groupby(["source_id", "kind", "new_submission_id"], dropna=False):
            rows.append({"kind": f"cells_{kind}", "submission_id": new, "source_id": src,
                         "detail": f"{len(g)} cell(s) {kind.replace('_', ' ')} (published.revisions)"})
    return pd.DataFrame(rows, columns=["kind", "submission_id", "source_id", "detail"])
