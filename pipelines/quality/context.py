"""Build a QualityContext for one submission from the settings (reference, previous vintages, warehouse)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.harmonise import reference as ref
from pipelines.quality.results import QualityContext
from pipelines.settings import Settings
from pipelines.specs import SourceSpec


def hierarchy_pairs(spec: SourceSpec, codes: set[str]) -> pd.DataFrame:
    return pd.DataFrame(spec.hierarchy_pairs(codes), columns=["child_code", "parent_code"], dtype="str")


def _accepted_same_scope(settings: Settings, source_id: str, exclude: str | None,
                         country_iso3: str | None = None) -> list[dict]:
    """The other accepted vintages of the same scope: the same source and, when both name one, the same
    country (the member-state template is one source for 32 countries: Argentina's file is never a vintage
    of Brazil's). Vintage order."""
    from pipelines.storage.catalog import PUBLISHABLE, accepted_submissions

    acc = accepted_submissions(settings, statuses=PUBLISHABLE + ("awaiting_review",), source_id=source_id)
    if acc.empty:
        return []
    acc = acc[(acc["source_id"] == source_id) & (acc["submission_id"] != (exclude or ""))]
    if country_iso3 and "country_iso3" in acc.columns:
        acc = acc[acc["country_iso3"].isna() | (acc["country_iso3"] == country_iso3)]
    return acc.sort_values(["release_date", "received_at"]).to_dict("records")  # vintage order


def _own_manifest(settings: Settings, sid: str | None) -> tuple[tuple[str, str], str | None] | None:
    """((release date, received at), country) of the submission, or None."""
    from pipelines.storage import submissions as subs

    if not sid:
        return None
    try:
        man = subs.read_manifest(settings.landing_dir, sid).as_dict()
    except (FileNotFoundError, ValueError):
        return None
    return ((subs.release_date(man, subs.read_status(settings.landing_dir, sid))[0], man["received_at"]),
            man.get("country_iso3"))


def table_facts(table: pd.DataFrame | str | Path | None) -> tuple[set[str], str | None]:
    """The national codes of the table and its first row's file name (a Parquet file is read by DuckDB:
    one column, distinct values)."""
    if table is None:
        return set(), None
    if isinstance(table, pd.DataFrame):
        if not len(table):
            return set(), None
        return set(table["national_code"].unique()), table["file_name"].iloc[0]
    st = Path(table).stat()
    codes, first = _file_facts(str(table), st.st_mtime_ns, st.st_size)
    return set(codes), first


@lru_cache(maxsize=256)
def _file_facts(path: str, mtime_ns: int, size: int) -> tuple[frozenset[str], str | None]:
    """National codes and first file name of a Parquet file, once per version of the file (keyed by its
    modification time and size: a vintage's validated file is compared with every later vintage)."""
    from pipelines.storage import duck

    con = duck.cursor()
    try:
        codes = frozenset(r[0] for r in con.execute("select distinct national_code from read_parquet(?)",
                                                    [path]).fetchall())
        first = con.execute("select file_name from read_parquet(?) limit 1", [path]).fetchall()
    finally:
        con.close()
    return codes, (first[0][0] if first else None)


def previous_vintage(others: list[dict], frames: list, layout: str | None,
                     table: pd.DataFrame | str | Path | None):
    """The previous release of the *same series*: same layout, and the same file name or, failing
    that, mostly the same national codes (two UN-CTS theme files share a layout but not their codes).
    ``frames``: each other submission's table, a DataFrame or its Parquet file (returned as given)."""
    cands = [(o, f) for o, f in zip(others, frames) if layout is None or o.get("layout") in (None, layout)]
    if not cands or table is None:
        return None
    codes, name = table_facts(table)
    same_name = [f for o, f in cands if o.get("original_name") == name]
    if same_name:
        return same_name[-1]
    overlaps = [len(codes & table_facts(f)[0]) / max(len(codes), 1) for _, f in cands]
    best = max(range(len(cands)), key=lambda i: overlaps[i])
    return cands[best][1] if overlaps[best] >= 0.5 else None


def comparison_series(settings: Settings, sources: list[str]) -> pd.DataFrame | None:
    """Comparison rates (e.g. World Bank / OWID homicide) from the current warehouse, if published."""
    if not settings.duckdb_path.exists() or not sources:
        return None
    from pipelines.storage.release import connect

    con = connect(settings.duckdb_path)
    try:
        return con.execute("""select country_iso3, year, rate_per_100k as rate, source_id
                              from published.indicators where list_contains(?, source_id)
                              and subdivision_code is null and month is null and sex = '_T'
                              and rate_per_100k is not null""", [sources]).df()
    except duckdb.Error:
        return None
    finally:
        con.close()


def build_context(settings: Settings, spec: SourceSpec, table: pd.DataFrame | str | Path | None, *,
                  submission_id: str | None = None, received_at: datetime | None = None,
                  layout: str | None = None, comparison_sources: list[str] | None = None) -> QualityContext:
    rdir = settings.reference_dir
    try:
        xw = ref.crosswalk(rdir, spec.crosswalk)
    except FileNotFoundError:
        xw = None
    codes = table_facts(table)[0]
    prev = related = None
    mine = _own_manifest(settings, submission_id)
    own = mine[0] if mine else None
    others = _accepted_same_scope(settings, spec.source_id, submission_id, mine[1] if mine else None)
    if others:
        # the other vintages stay files, read in place by the checks that need them (X3, R1, R2)
        frames = [Path(o["validated_path"]) for o in others]
        related = frames
        # the previous vintage is a release older than this one (a late-loaded old release is compared with
        # what came before it, not with the newer release)
        older = [(o, f) for o, f in zip(others, frames)
                 if own is None or (o["release_date"], o["received_at"]) < own]
        if older:
            prev = previous_vintage([o for o, _ in older], [f for _, f in older], layout, table)
    return QualityContext(
        reference_dir=rdir, source_id=spec.source_id, spec=spec, crosswalk=xw,
        countries=set(ref.countries(rdir)["iso3"]),
        population_national=ref.population_national(rdir),
        population_subnational=ref.population_subnational(rdir),
        previous=prev, related=related,
        comparison=comparison_series(settings, comparison_sources or []),
        received_at=received_at, hierarchy=hierarchy_pairs(spec, codes), subset_codes=spec.subset_codes)
