"""Numbered releases and their changelog (issue 15 item 3).

Every publication is a release with a sequential number (``release_number`` in its ``release.json``, given by
``pipelines.storage.release.publish``) and a ``manifest.json`` (tables with rows, bytes and sha256; the
submissions used per source with their vintages; the versions of the quality rules, crosswalks, source specs and
reference tables: ``pipelines.pipeline.publish.manifest_inputs``). Earlier releases keep ``indicators.parquet``,
``comparable.parquet``, ``release.json`` and ``manifest.json`` forever (``release.HISTORY_FILES``).

* ``list_releases(settings)`` — the committed releases, oldest first: number, id, date, sources, row counts.
* ``diff(settings, a, b, table="comparable")`` — the values that changed from release ``a`` to ``b`` (a number,
  an id, ``latest`` or ``previous``): key, old, new, difference, relative difference, and why (``reason``: new
  vintage, correction, crosswalk change, rule change, source choice, population, …; ``why``: a sentence).

``hemistat releases`` and ``hemistat releases diff A B [--csv]`` (``pipelines/cli_releases.py``) print them.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.settings import Settings
from pipelines.storage import release as rel

TABLE_KEYS = {
    "comparable": ["country_iso3", "subdivision_code", "year", "iccs_code", "measure", "sex", "age"],
    "indicators": ["source_id", "country_iso3", "subdivision_code", "year", "month", "iccs_code", "measure", "sex",
                   "age", "relationship"],
}
# reason codes, the most specific first (a value can have several; `reason` is the first that applies)
REASONS = {
    "correction_withdrawn": "correction: the submission behind the old value was withdrawn",
    "correction_reprocessed": "correction: the same submission was read again (reprocess) with a different result",
    "new_vintage": "new vintage: a newer submission of the source replaced the value",
    "source_choice": "the comparable value now comes from another source (precedence or completeness)",
    "crosswalk_change": "the source's crosswalk changed",
    "spec_change": "the source's specification changed",
    "rule_change": "the quality rules changed",
    "precedence_change": "the source precedence (reference/precedence.yaml) changed",
    "population_change": "the reference population changed (rates)",
    "new_value": "a value that the earlier release did not have",
    "removed_value": "a value that the later release no longer has",
    "unexplained": "no recorded input changed (see the releases' manifests)",
}
DIFF_COLUMNS = ["change", "old", "new", "difference", "relative", "quantity", "old_rate_per_100k",
                "new_rate_per_100k", "old_source_id", "new_source_id", "old_submission_id", "new_submission_id",
                "reason", "why"]


class ReleaseNotFound(ValueError):
    """A release number or id that is not a committed release (names it and what exists)."""


def _published(settings: Settings) -> Path:
    return settings.published_dir


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def list_releases(settings: Settings) -> list[dict]:
    """The committed releases, oldest first: ``number, release_id, published_at, current, sources`` (source ids),
    ``submissions`` (count), ``tables`` (name -> rows), ``files_kept`` (the tables whose files are still in the
    release folder: older releases keep indicators and comparable values only), ``manifest`` (bool)."""
    pub = _published(settings)
    current = rel.current_release(pub)
    out = []
    for i, rid in enumerate(rel.committed_releases(pub), 1):
        d = pub / "releases" / rid
        meta = _read_json(d / "release.json")
        man = _read_json(d / "manifest.json")
        subs = meta.get("submissions") or []
        sources = sorted(man.get("sources") or {}) or sorted({s.split("__")[0] for s in subs})
        out.append({
            "number": rel.release_number(pub, rid, i), "release_id": rid, "published_at": meta.get("published_at"),
            "current": rid == current, "sources": sources, "submissions": len(subs),
            "tables": meta.get("tables") or {}, "manifest": bool(man),
            "files_kept": sorted(p.stem for p in d.glob("*.parquet")) if d.is_dir() else []})
    return out


def resolve(settings: Settings, ref: str | int) -> dict:
    """A release of ``list_releases`` from its number, its id, ``latest`` (the current one) or ``previous``."""
    rels = list_releases(settings)
    if not rels:
        raise ReleaseNotFound(f"no release is published in {_published(settings)} (run `hemistat run` first)")
    text = str(ref).strip()
    if text in ("latest", "current"):
        found = [r for r in rels if r["current"]] or rels[-1:]
        return found[0]
    if text == "previous":
        cur = next((i for i, r in enumerate(rels) if r["current"]), len(rels) - 1)
        if cur == 0:
            raise ReleaseNotFound("there is no release before the first one")
        return rels[cur - 1]
    for r in rels:
        if text == r["release_id"] or (text.isdigit() and int(text) == r["number"]):
            return r
    known = ", ".join(f"{r['number']} ({r['release_id']})" for r in rels)
    raise ReleaseNotFound(f"no release {text!r}: the releases are {known}")


def _table_file(settings: Settings, r: dict, table: str) -> Path:
    f = _published(settings) / "releases" / r["release_id"] / f"{table}.parquet"
    if not f.exists():
        raise ReleaseNotFound(f"release {r['number']} ({r['release_id']}) has no {table}.parquet "
                              f"(written before {table} was published; compare --table indicators)")
    return f


def _manifest(settings: Settings, r: dict) -> dict:
    return _read_json(_published(settings) / "releases" / r["release_id"] / "manifest.json")


def _changelog(settings: Settings, r: dict) -> list[dict]:
    return _read_json(_published(settings) / "releases" / r["release_id"] / "release.json").get("changelog") or []


_DIFF_SQL = """
with a as (select * from read_parquet(?)), b as (select * from read_parquet(?)),
j as (
    select {key_select},
           a.value as old_value, b.value as new_value,
           cast(a.rate_per_100k as double) as old_rate_per_100k, cast(b.rate_per_100k as double) as new_rate_per_100k,
           a.source_id as old_source_id, b.source_id as new_source_id,
           a.submission_id as old_submission_id, b.submission_id as new_submission_id,
           case when a.{k0} is null then 'added' when b.{k0} is null then 'removed' else 'changed' end as change
    from a full outer join b on {key_join}
)
select * from j
where change <> 'changed'
   or old_value is distinct from new_value
   or (abs(coalesce(old_rate_per_100k, 0) - coalesce(new_rate_per_100k, 0)) > 1e-9 * greatest(1, abs(coalesce(new_rate_per_100k, 0))))
   or ((old_rate_per_100k is null) <> (new_rate_per_100k is null))
"""


def diff(settings: Settings, a: str | int, b: str | int, table: str = "comparable") -> pd.DataFrame:
    """The values of ``table`` (``comparable`` or ``indicators``) that differ between releases ``a`` and ``b``:
    the key columns, then DIFF_COLUMNS. ``old``/``new`` are the values (``quantity`` = ``value``), or the rates
    per 100,000 where the source publishes rates only (``quantity`` = ``rate_per_100k``); ``difference`` = new -
    old, ``relative`` = difference / old. ``reason`` is a code of REASONS, ``why`` says it with the submissions,
    files or versions involved. Sorted by the size of the relative change, largest first."""
    if table not in TABLE_KEYS:
        raise ValueError(f"table must be one of {', '.join(TABLE_KEYS)}")
    ra, rb = resolve(settings, a), resolve(settings, b)
    fa, fb = _table_file(settings, ra, table), _table_file(settings, rb, table)
    key = TABLE_KEYS[table]
    if table == "comparable":
        key_select = ", ".join(f"coalesce(a.{k}, b.{k}) as {k}" for k in key)
    else:
        key_select = ", ".join(f"coalesce(a.{k}, b.{k}) as {k}" for k in key)
    sql = _DIFF_SQL.format(key_select=key_select, k0="country_iso3",
                           key_join=" and ".join(f"a.{k} is not distinct from b.{k}" for k in key))
    con = duckdb.connect()
    try:
        df = con.execute(sql, [str(fa), str(fb)]).df()
    finally:
        con.close()
    if table == "indicators":
        df = df.drop(columns=["old_source_id", "new_source_id"]).assign(
            old_source_id=df["source_id"].where(df["change"] != "added"),
            new_source_id=df["source_id"].where(df["change"] != "removed"))
    rate_only = df["old_value"].isna() & df["new_value"].isna()
    df["quantity"] = rate_only.map({True: "rate_per_100k", False: "value"})
    df["old"] = df["old_value"].where(~rate_only, df["old_rate_per_100k"])
    df["new"] = df["new_value"].where(~rate_only, df["new_rate_per_100k"])
    df["difference"] = df["new"] - df["old"]
    df["relative"] = (df["difference"] / df["old"].abs()).where(df["old"].abs() > 0)
    _explain(settings, ra, rb, df)
    df = df.assign(_abs=df["relative"].abs().fillna(float("inf") if len(df) else 0)) \
        .sort_values(["_abs"] + key, ascending=[False] + [True] * len(key), na_position="first", kind="stable") \
        .drop(columns=["_abs"])
    df.attrs.update({"a": ra, "b": rb, "table": table})
    return df[key + DIFF_COLUMNS].reset_index(drop=True)


def _explain(settings: Settings, ra: dict, rb: dict, df: pd.DataFrame) -> None:
    """Fill ``reason`` and ``why`` from the two releases' manifests and changelog."""
    ma, mb = _manifest(settings, ra), _manifest(settings, rb)

    def sub_index(m):
        return {s["submission_id"]: s for subs in (m.get("sources") or {}).values() for s in subs}

    sa, sb = sub_index(ma), sub_index(mb)
    withdrawn = {c["submission_id"]: c.get("detail") for c in _changelog(settings, rb)
                 if c.get("kind") == "withdrawn"}
    # withdrawals in any release after a up to b
    rels = list_releases(settings)
    between = [r for r in rels if ra["number"] < r["number"] <= rb["number"]]
    for r in between:
        for c in _changelog(settings, r):
            if c.get("kind") == "withdrawn":
                withdrawn.setdefault(c["submission_id"], c.get("detail"))
    cw_a, cw_b = ma.get("crosswalks") or {}, mb.get("crosswalks") or {}
    sp_a, sp_b = ma.get("source_specs") or {}, mb.get("source_specs") or {}
    rules_changed = bool(ma and mb) and (ma.get("quality_rules") or {}).get("sha256") != \
        (mb.get("quality_rules") or {}).get("sha256")
    ref_a, ref_b = ma.get("reference") or {}, mb.get("reference") or {}
    prec_changed = bool(ma and mb) and ref_a.get("precedence.yaml") != ref_b.get("precedence.yaml")
    pop_changed = bool(ma and mb) and ref_a.get("population") != ref_b.get("population")

    def crosswalk_of(src, specs):
        return (specs.get(src) or {}).get("crosswalk") or src

    def one(row) -> tuple[str, str]:
        reasons: list[tuple[str, str]] = []
        old_sid, new_sid = row["old_submission_id"], row["new_submission_id"]
        old_src, new_src = row["old_source_id"], row["new_source_id"]
        if row["change"] == "added":
            reasons.append(("new_value", f"new in release {rb['number']}: {new_src} ({new_sid})"))
        if row["change"] == "removed":
            if old_sid in withdrawn:
                reasons.append(("correction_withdrawn", f"{old_sid} withdrawn — {withdrawn[old_sid]}"))
            reasons.append(("removed_value", f"not in release {rb['number']}; it came from {old_src} ({old_sid})"))
        if row["change"] == "changed":
            if old_sid in withdrawn:
                reasons.append(("correction_withdrawn", f"{old_sid} withdrawn — {withdrawn[old_sid]}"))
            if old_src == new_src and old_sid != new_sid:
                va, vb = sa.get(old_sid, {}), sb.get(new_sid, {})
                reasons.append(("new_vintage", f"{new_src}: {old_sid} (released {va.get('release_date')}) replaced by "
                                               f"{new_sid} (released {vb.get('release_date')}, file "
                                               f"{vb.get('original_name')})"))
            if old_sid == new_sid and old_sid in sa and old_sid in sb and \
                    sa[old_sid].get("validated_sha256") != sb[old_sid].get("validated_sha256"):
                reasons.append(("correction_reprocessed", f"{old_sid} read again: its validated table changed"))
            if old_src != new_src:
                reasons.append(("source_choice", f"chosen source {old_src} -> {new_src}"))
            for src in {old_src, new_src} - {None}:
                cwa, cwb = crosswalk_of(src, sp_a), crosswalk_of(src, sp_b)
                if cw_a and cw_b and cw_a.get(cwa) != cw_b.get(cwb):
                    reasons.append(("crosswalk_change", f"crosswalk {cwb}.csv changed "
                                                        f"({(cw_a.get(cwa) or '')[:8]} -> {(cw_b.get(cwb) or '')[:8]})"))
                if sp_a and sp_b and (sp_a.get(src) or {}).get("sha256") != (sp_b.get(src) or {}).get("sha256"):
                    reasons.append(("spec_change", f"reference/sources/{src}.yaml changed"))
            if rules_changed:
                reasons.append(("rule_change", "quality_rules/ changed ("
                                + (ma["quality_rules"]["sha256"] or "")[:8] + " -> "
                                + (mb["quality_rules"]["sha256"] or "")[:8] + ")"))
            if prec_changed:
                reasons.append(("precedence_change", "reference/precedence.yaml changed"))
            if pop_changed and row["quantity"] == "value" and row["old"] == row["new"]:
                reasons.append(("population_change", "reference/population changed: same count, new rate"))
        if not reasons:
            reasons.append(("unexplained", REASONS["unexplained"]))
        return reasons[0][0], "; ".join(w for _, w in reasons)

    if len(df):
        res = df.apply(one, axis=1, result_type="expand")
        df["reason"], df["why"] = res[0], res[1]
    else:
        df["reason"], df["why"] = pd.Series(dtype=str), pd.Series(dtype=str)
