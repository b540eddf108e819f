"""Step 5, harmonised -> published: one atomic release; the submissions' statuses follow it."""

from __future__ import annotations

import time

import pandas as pd

from pipelines import yamlio
from pipelines.harmonise import reference as ref
from pipelines.pipeline.extra_tables import extra_tables
from pipelines.pipeline.quality_files import quality_dir
from pipelines.quality.results import scorecard_frame
from pipelines.settings import Settings
from pipelines.storage import release as rel
from pipelines.storage import submissions as subs
from pipelines.storage.catalog import accepted_submissions, submissions


def submissions_table(settings: Settings, plan: list[dict] | None = None) -> pd.DataFrame:
    """Every submission with its status; ``plan`` (``plan_statuses``) gives the statuses the release being
    written will make true, so the release describes itself without a status being written before it exists."""
    cols = ["submission_id", "source_id", "country_iso3", "received_at", "uploaded_by", "sha256",
            "size_bytes", "original_name", "status", "report_path", "status_detail"]
    rows = submissions(settings)
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
        submission_ids = [s["submission_id"] for s in submissions(settings)]

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
        try:
            subs.set_status(settings.landing_dir, c["submission_id"], c["status"], detail=detail,
                            release_id=release_id, **extra)
        except subs.StatusFileError:
            continue   # its status.json cannot be read: left as it is (hemistat status names it)


def publish_all(settings: Settings) -> dict:
    """harmonised -> published: one atomic release (Parquet folder + rebuilt hemistat.duckdb).

    Statuses follow the release: they are planned first, the release is written with them, and only once it
    is current are they written to the submissions. When nothing changed (no status to change and the same
    fingerprint as the current release: ``rel.fingerprint``) no release is written and the current one stays. A failed publish leaves every status where it was (so
    the approval sensor and the next run retry)."""
    t0 = time.perf_counter()
    # what a crashed publish left: a swapped-in release not yet recorded as committed is committed, orphan
    # release folders (written, never served) are removed; the history views never named them
    rel.recover(settings.published_dir, settings.duckdb_path)
    rel.clean_orphans(settings.published_dir, settings.duckdb_path)
    d = settings.harmonised_dir
    tables: dict = {name: d / f"{name}.parquet" for name in ("indicators", "cells", "excluded", "survey", "revisions")}
    used = set(pd.read_parquet(d / "used_submissions.parquet")["submission_id"])
    plan = plan_statuses(settings, used)
    tables["submissions"] = submissions_table(settings, plan)
    tables["changelog"] = changelog(settings, plan, used)
    tables.update(quality_tables(settings, list(tables["submissions"]["submission_id"])))
    tables.update(extra_tables(settings, tables))   # comparable values, practices, catalogue, fund …
    reference_tables = {"countries": ref.countries(settings.reference_dir),
                        "iccs": ref.iccs(settings.reference_dir),
                        "population_national": ref.population_national(settings.reference_dir),
                        "population_subnational": ref.population_subnational(settings.reference_dir)}
    # the fingerprint leaves out what names the release itself: the changelog (against the current release)
    # and the submissions' status details ("in release <id>")
    fp = rel.fingerprint({**{k: v for k, v in tables.items() if k != "changelog"},
                          "submissions": tables["submissions"].drop(columns=["status_detail"])},
                         reference_tables, settings.views_dir)
    current = rel.release_metadata(settings.published_dir)
    if not plan and current.get("fingerprint") == fp and settings.duckdb_path.exists():
        # nothing changed: no new release (it would push an older one out of those kept for nothing)
        return {"release_id": current["release_id"], "unchanged": True,
                "rows": {k: rel.table_rows(v) for k, v in tables.items()}, "duckdb": str(settings.duckdb_path),
                "seconds": round(time.perf_counter() - t0, 2), "statuses": {}}
    rid = rel.publish(settings.published_dir, settings.duckdb_path, settings.views_dir, tables,
                      reference_tables, metadata={"submissions": sorted(used), "fingerprint": fp,
                                                  "changelog": tables["changelog"].to_dict("records")},
                      manifest=manifest_inputs(settings, used))
    apply_statuses(settings, plan, rid)
    return {"release_id": rid, "unchanged": False, "rows": {k: rel.table_rows(v) for k, v in tables.items()},
            "duckdb": str(settings.duckdb_path), "seconds": round(time.perf_counter() - t0, 2),
            "statuses": {c["submission_id"]: c["status"] for c in plan}}


def changelog(settings: Settings, plan: list[dict], used: set[str]) -> pd.DataFrame:
    """What this release changes against the current one: submissions added, superseded, withdrawn (with
    the reason) and cells revised (counts per source, from harmonised/revisions.parquet)."""
    prev = set()
    prev = set(rel.release_metadata(settings.published_dir).get("submissions") or [])
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


def _digest(paths: list, root) -> str:
    """sha256 over the files' names (relative to ``root``) and bytes, in name order: one version of a folder."""
    import hashlib

    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def manifest_inputs(settings: Settings, used: set[str]) -> dict:
    """What a release was built from, for its manifest.json (``pipelines/publication/releases.py`` reads it to say
    why a value changed between two releases): the submissions used per source (vintage: release date, receipt,
    sha256 of the file, sha256 of its validated layer — a reprocess changes that, not the file), the version of
    the quality rules (one hash of quality_rules/), of each crosswalk, source spec and reference table."""
    import hashlib

    import yaml

    man = {s["submission_id"]: s for s in subs.list_submissions(settings.landing_dir)}
    sources: dict[str, list] = {}
    for sid in sorted(used):
        m = man.get(sid, {})
        v = settings.validated_dir / f"{sid}.parquet"
        sources.setdefault(m.get("source_id") or sid.split("__")[0], []).append({
            "submission_id": sid, "release_date": str(m.get("release_date")) if m.get("release_date") else None,
            "received_at": m.get("received_at"), "sha256": m.get("sha256"), "original_name": m.get("original_name"),
            "validated_sha256": hashlib.sha256(v.read_bytes()).hexdigest() if v.exists() else None})
    rules = settings.rules_dir
    specs = {}
    for p in sorted(settings.sources_dir.glob("*.yaml")):
        try:
            doc = yamlio.load(p.read_text("utf-8")) or {}
        except (OSError, yaml.YAMLError):
            doc = {}
        specs[p.stem] = {"sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                         "crosswalk": doc.get("crosswalk") if isinstance(doc, dict) else None}
    ref = settings.reference_dir
    reference = {}
    for name in ("precedence.yaml", "countries", "iccs", "population", "regions"):
        p = ref / name
        if p.is_file():
            reference[name] = hashlib.sha256(p.read_bytes()).hexdigest()
        elif p.is_dir():
            reference[name] = _digest([f for f in p.rglob("*") if f.is_file()], p)
    return {
        "sources": {k: sources[k] for k in sorted(sources)},
        "quality_rules": {"sha256": _digest([f for f in rules.rglob("*") if f.is_file()], rules),
                          "files": len([f for f in rules.rglob("*") if f.is_file()])},
        "crosswalks": {p.stem: hashlib.sha256(p.read_bytes()).hexdigest()
                       for p in sorted(settings.crosswalks_dir.glob("*.csv"))},
        "source_specs": specs,
        "reference": reference,
    }
