"""Harmonise validated submissions into comparable ICCS indicators — all heavy lifting in DuckDB.

Steps (each a CTE/temp table below):

1. **vintages** – cells are grouped in vintage units: country x level (national rows or subdivisions)
   x the dimensions the spec's ``scope`` names (default: year and subdivision; a ``full`` export: none).
   In each unit the newest release (the publisher's release date, then receipt) gives every cell, so
   parents and children, months and totals come from one release; cells of the previous release that
   the newer one revises or no longer has are listed in ``revisions`` (``published.revisions``). A
   national figure comes from the newest release that covers it: where a strictly newer release gives
   only subdivisions for a year, the older national rows give way to the sum of its subdivisions (noted
   in ``obs_note`` and in ``revisions``).
2. **hierarchy** – where a source lists a parent code *and* its children (SNIC ``11`` and ``11_2``;
   CTS ``Theft`` and ``Theft: of a motorized vehicle``), the children are used and the parent keeps
   only ``parent - sum(children)`` (its residual), so nothing is counted twice. Tag subsets
   (``… Cyber-related``) are never summed.
3. **crosswalk** – national code -> ICCS code (reviewed CSV), for the years each row is valid
   (``valid_from``..``valid_to``). A code without a row in force for its year stops the run (rule C1);
   ``no_match`` rows (suicides, road deaths, misdemeanours) are excluded with their stated reason.
4. **annual** – monthly sources are summed to years; a year with fewer than 12 reported months is
   published with ``obs_status = 'P'`` and ``months_reported``. Likewise a value built from fewer cells
   than the file holds for it (some national categories empty: not reported) is ``P`` with
   ``n_cells_reported`` of ``n_cells`` and a note; never ``A``.
5. **national** – where a source has subdivisions but no national row for a year, the national value
   is the sum of subdivisions (``derivation = 'subdivisions'``).
6. **roll-up** – every ICCS code is also summed into each ancestor (0101 -> 01), so an analyst can
   ask for 0401 whatever level a country reports at. Never sum across ICCS levels.
7. **rates** – ``value / population * 100000`` with the reference population of the same country,
   subdivision and year (totals by sex only; sex-specific denominators are not in reference yet).

The SQL of each stage is a file of ``pipelines/harmonise/sql/`` (``NN_<table>.sql``, in the order they run).

**Parts.** Every stage keeps within one source and country, so the cells are harmonised in parts of whole
countries (``part_cells``, setting ``harmonise_part_cells``): stages 01–25 run on one part at a time, each part
writes its tables, and the parts are merged — the indicators concatenated in the published order (each part is
sorted and the parts follow in country order), the cross-country tables (30–32, 23) aggregated. A country
larger than a part is cut into parts of whole years where every source it has replaces its cells year by year
(``year`` in the spec's scope: the stages then keep within a year too); else it is one part. Code families
and hierarchy pairs come from every file's codes (one pass over the code columns first), as one run sees them;
the codes without a crosswalk row (C1) are gathered from every part before the run stops. DuckDB then holds one
part at a time (at 4 M rows: 107 s CPU as one part, 65 s in parts of 1 M cells). With a ``cache_dir`` (the
pipeline's publications), a part whose inputs did not change since an earlier run is not computed again: its
tables are taken from the cache (``part_cache``: the fingerprint of every input), and the countries around a
changed one keep their earlier cut.

Every published value can be traced back: ``published.cells`` keeps each source cell with its
submission, file, line, column and crosswalk rule; ``published.trace(indicator_id)`` lists them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.settings import get_settings
from pipelines.contracts.tables import read_table
from pipelines.harmonise import reference as ref
from pipelines.specs import SourceSpec

SQL_DIR = Path(__file__).resolve().parent / "sql"


@lru_cache(maxsize=None)
def _sql(name: str) -> str:
    """The SQL of one stage, ``pipelines/harmonise/sql/<name>.sql`` (numbered in the order they run;
    parameters are bound with ``?``, never pasted)."""
    return (SQL_DIR / f"{name}.sql").read_text("utf-8")


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    """Query -> pandas through Arrow (10x faster than ``.df()`` for string columns on pandas 3)."""
    with warnings.catch_warnings():  # DuckDB 2 notes an extra copy; still far cheaper than .df()
        warnings.simplefilter("ignore", UserWarning)
        return con.execute(sql, params or []).to_arrow_table().to_pandas()


class HarmoniseError(ValueError):
    def __init__(self, message: str, details: pd.DataFrame | None = None):
        super().__init__(message)
        self.details = details


OUTPUTS = ("indicators", "cells", "excluded", "unused_crosswalk", "survey", "used", "revisions")


@dataclass
class HarmoniseResult:
    """The harmonised tables as Parquet files (``paths``: name -> file, written by DuckDB without passing
    through pandas) and their counts (``stats``). ``indicators``, ``cells`` … read a table into pandas on
    first use, for tests and small inputs; the pipeline moves the files and never loads them whole."""
    paths: dict[str, Path]
    stats: dict = field(default_factory=dict)
    _frames: dict = field(default_factory=dict, repr=False)

    def frame(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            self._frames[name] = read_table(self.paths[name])
        return self._frames[name]

    indicators = property(lambda self: self.frame("indicators"))
    cells = property(lambda self: self.frame("cells"))
    excluded = property(lambda self: self.frame("excluded"))
    unused_crosswalk = property(lambda self: self.frame("unused_crosswalk"))  # rows no cell uses (a warning)
    survey = property(lambda self: self.frame("survey"))        # survey indicators (unit percent), not offences
    used = property(lambda self: self.frame("used"))            # submission_id of every submission in the result
    revisions = property(lambda self: self.frame("revisions"))  # cells revised / withdrawn by a newer release


def connect(temp_dir: Path | None = None, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for harmonisation: bounded memory (``memory_limit``, default
    ``HEMISTAT_DUCKDB_MEMORY``, the settings' ``duckdb_memory``), spilling to ``temp_dir`` beyond it, insertion order not kept
    (every output is ordered explicitly), ``HEMISTAT_DUCKDB_THREADS`` threads when set."""

    settings = get_settings()
    con = duckdb.connect()
    con.execute("set memory_limit = ?", [memory_limit or settings.duckdb_memory])
    if settings.duckdb_threads:          # HEMISTAT_DUCKDB_THREADS; else DuckDB's default, one per core
        con.execute("set threads = ?", [settings.duckdb_threads])
    con.execute("set preserve_insertion_order = false")
    con.execute("set enable_progress_bar = false")   # no bar drawn into the run's log (Settings.duckdb_config)
    if temp_dir is not None:
        Path(temp_dir).mkdir(parents=True, exist_ok=True)
        con.execute("set temp_directory = ?", [str(temp_dir)])
    return con


#: rows per Parquet row group of the indicators: small enough that a query naming a country and year reads
#: only its own row groups (min/max statistics), large enough to keep compression (bench: views)
INDICATOR_ROW_GROUP = 32_768


def _copy(con: duckdb.DuckDBPyConnection, sql: str, path: Path, row_group_size: int | None = None,
          params: dict | None = None) -> Path:
    """Write a query's result straight to Parquet (zstd), never through pandas; the path goes through the
    relational API, never into SQL text (nor do ``params``: bound)."""
    con.sql(sql, params=params).write_parquet(str(path), compression="zstd", row_group_size=row_group_size)
    return path


#: what each part writes (engine.harmonise merges them): table -> the SQL over that part's temporary tables
PART_OUTPUTS = {"indicators": lambda: _sql("25_indicators"), "survey": lambda: _sql("20_survey"),
                "cells": lambda: _sql("21_published_cells"), "excluded": lambda: _sql("22_excluded_cells"),
                "codes": lambda: "select distinct source_id, national_code from latest",
                "used": lambda: "select distinct submission_id from latest",
                "revisions": lambda: _sql("24_published_revisions")}


def _concat_indicators(parts: list[str], out: Path, row_group_size: int = INDICATOR_ROW_GROUP,
                       con: duckdb.DuckDBPyConnection | None = None, keep_parts: bool = False) -> Path:
    """The parts' indicators as one file in the published order without sorting them again: each part is
    written in that order (25_indicators) and holds whole countries or one country's whole years, the parts
    follow in country then year order, so the national rows of every part, then their subdivision rows, are the
    order. DuckDB, keeping insertion order: the parts' national rows into a file first, then that file and the
    parts' subdivision rows into ``out`` (bounded memory, both cores; measured at 12 M rows, 18.3 M indicators:
    about 19 s where pyarrow batch by batch took 30). One part is moved as it is (copied: ``keep_parts``)."""
    import shutil

    if len(parts) == 1:
        return Path((shutil.copyfile if keep_parts else shutil.move)(parts[0], out))
    own = con is None
    if own:
        con = duckdb.connect(config=get_settings().duckdb_config())
    keep = con.execute("select current_setting('preserve_insertion_order')").fetchall()[0][0]
    national = Path(out).with_name(Path(out).stem + ".national.parquet")
    try:
        con.execute("set preserve_insertion_order = true")   # the file order is the published order
        _copy(con, "select * from read_parquet($parts, union_by_name = true) where subdivision_code is null",
              national, row_group_size, params={"parts": list(parts)})
        _copy(con, "select * exclude (filename) from read_parquet($files, union_by_name = true, filename = true) "
                   "where filename = $national or subdivision_code is not null",
              Path(out), row_group_size, params={"files": [str(national), *parts], "national": str(national)})
    finally:
        national.unlink(missing_ok=True)
        if own:
            con.close()
        else:
            con.execute("set preserve_insertion_order = " + ("true" if keep else "false"))
    return Path(out)


@dataclass(frozen=True)
class Part:
    """One part of a harmonisation run: whole countries (``countries``; None: every country), or one country's
    years (``years``; None: all of them)."""
    countries: tuple[str, ...] | None
    years: tuple[int, ...] | None = None


def _pack(sizes: pd.Series, limit: int) -> list[list]:
    """``sizes``' labels, in their order, in consecutive groups of at most ``limit`` (a larger one alone)."""
    groups: list[list] = []
    load = 0
    for label, n in sizes.items():
        if not groups or load + n > limit:
            groups.append([])
            load = 0
        groups[-1].append(label)
        load += int(n)
    return groups


def _fill(sizes: pd.Series, limit: int, anchors: list[tuple] = (), alone: set | frozenset = frozenset()) -> list[tuple]:
    """``sizes``' labels, in their order, in consecutive groups: an *anchor* (a group of an earlier run, kept in
    the part cache) as it is, where its labels still follow one another here and it is within ``limit`` (or one
    label); a label of ``alone`` as a group of its own; the labels between them packed greedily (``_pack``)."""
    order = list(sizes.index)
    start = {}
    for a in sorted(anchors, key=lambda a: (-len(a), a)):    # the first anchor at a label wins: the longest
        n = int(sizes.reindex(list(a)).fillna(0).sum())
        if a and (len(a) == 1 or n <= limit) and not (set(a) & set(alone)):
            start.setdefault(a[0], a)
    groups: list[tuple] = []
    run: list = []

    def flush():
        groups.extend(tuple(g) for g in _pack(sizes[run], limit))
        run.clear()

    i = 0
    while i < len(order):
        label = order[i]
        a = start.get(label)
        if a is not None and tuple(order[i:i + len(a)]) == tuple(a):
            flush()
            groups.append(tuple(a))
            i += len(a)
        elif label in alone:
            flush()
            groups.append((label,))
            i += 1
        else:
            run.append(label)
            i += 1
    flush()
    return groups


def _country_parts(census: pd.DataFrame, part_cells: int, by_year: set[str] | frozenset = frozenset(),
                   keep: list[Part] | tuple = ()) -> list[Part]:
    """Whole countries (``census``: cells per country, year, submission and code) in parts of at most
    ``part_cells`` cells, in country order. A larger country is cut into parts of whole years, in year order,
    where it is in ``by_year`` (every source it has replaces its cells year by year: no stage reaches across
    years); else it is a part of its own. ``[Part(None)]`` (one part, every country) when the files hold no cell.

    ``keep``: parts whose tables the cache holds for the inputs of this run (``PartCache.valid``). Each is kept
    as it is where its countries (or years) still follow one another and fit the limit, so that one changed
    country does not move the cut of every country after it; the countries between kept parts are packed as
    before. Any cut gives the same tables (tests/harmonise/test_parts.py)."""
    sizes = census.groupby("country")["n"].sum().sort_index()
    sizes.index = sizes.index.map(str)
    cut = {c for c, n in sizes.items() if n > part_cells and c in by_year}
    whole = [p.countries for p in keep if p.countries is not None and p.years is None]
    parts: list[Part] = []
    for group in _fill(sizes, part_cells, whole, alone=cut):
        if len(group) == 1 and group[0] in cut:
            country = group[0]
            years = census.loc[census["country"] == country].groupby("year")["n"].sum().sort_index()
            years.index = years.index.map(int)
            mine = [p.years for p in keep if p.years is not None and p.countries == (country,)]
            parts += [Part((country,), tuple(g)) for g in _fill(years, part_cells, mine)]
        else:
            parts.append(Part(tuple(group)))
    return parts or [Part(None)]


def _year_scoped_countries(census: pd.DataFrame, specs: dict[str, SourceSpec]) -> set[str]:
    """The countries whose every source replaces its cells year by year (``year`` in the spec's scope), with a
    year on every cell: a part may hold some of their years only, since then no stage reaches across years
    (vintage units, hierarchy residuals, months to years, national sums, roll-up, rates)."""
    yearly = {sid for sid, sp in specs.items() if "year" in sp.scope_by}
    ok = census.groupby("country").agg(sources=("source_id", lambda v: set(v) <= yearly),
                                       years=("year", lambda v: bool(v.notna().all())))
    return {str(c) for c, r in ok.iterrows() if r["sources"] and r["years"]}


def _latest(con: duckdb.DuckDBPyConnection) -> None:
    """``latest``: the cells of the newest release of each vintage unit (04), each key once. A key repeated
    within a release (first line wins) is resolved only where 04a finds one: the window over every key is
    most of the stage's time, and validated files never repeat a key while rule C4 stands."""
    con.execute(_sql("04_latest"))
    if con.execute(_sql("04a_latest_repeated_keys")).fetchall()[0][0]:
        con.execute(_sql("04b_latest_first_line"))


def _vintages(con: duckdb.DuckDBPyConnection, paths: list[str], part: Part) -> tuple:
    """Stages 01–08 and 12 for one part: its cells, vintage units, the latest release of each, revisions;
    then the codes without a crosswalk row in force (rule C1). Returns (cells, latest cells, unmapped)."""
    con.execute(_sql("01_src"), {"paths": paths,
                                 "countries": None if part.countries is None else list(part.countries),
                                 "years": None if part.years is None else list(part.years)})
    con.execute(_sql("02_src_code_families"))
    # 1. vintages: per unit, the newest release (release date, then receipt) gives every cell
    con.execute(_sql("03_unit_rank"))
    _latest(con)
    # revisions against the previous release of the same unit: cells revised, and cells withdrawn (in the
    # previous release, absent from the newer one)
    con.execute(_sql("05_revisions"))
    # a national figure comes from the newest release that covers it: where a strictly newer release gives
    # only subdivisions for a year, the older national rows give way to the sum of those subdivisions
    con.execute(_sql("06_nat_replaced"))
    con.execute(_sql("07_revisions_national_from_subdivisions"))
    con.execute(_sql("08_latest_without_replaced_national"))
    n_src, n_latest = con.execute("select (select count(*) from src), (select count(*) from latest)").fetchall()[0]
    # a crosswalk row applies to the years valid_from..valid_to (inclusive; empty = open)
    return n_src, n_latest, _fetch(con, _sql("12_check_codes_without_crosswalk"))


def _part_tables(con: duckdb.DuckDBPyConnection) -> int:
    """Stages 09–19 for one part, on its ``latest``; returns its count of reported rates."""
    # 2. hierarchy residuals and subsets
    con.execute(_sql("09_kids"))
    con.execute(_sql("10_adjusted"))
    # 3. crosswalk
    con.execute(_sql("13_cells"))
    # 4. leaf facts (annual + monthly)
    con.execute(_sql("14_leaf"))
    if con.execute("select count(*) from leaf where n_submissions is null").fetchall()[0][0]:
        con.execute(_sql("14b_leaf_submissions"))   # facts built from more than one submission (rare)
    con.execute(_sql("15_leaf_annual_from_months"))
    # 5. national from subdivisions, only where the source reported no national row that year, and only
    #    for sources whose files cover the whole country (spec: national_from_subdivisions)
    con.execute(_sql("16_leaf_national_from_subdivisions"))
    # 6. roll-up to ICCS ancestors
    con.execute(_sql("17_ind"))
    # 7. population and rates: a view, read once by 25_indicators (never materialised)
    con.execute("create or replace temp view ind_main as " + _sql("18_indicators_with_rates"))
    # reported rates of sources that publish no count for the same cell (comparison series such as
    # the World Bank homicide rate): published as-is at the mapped ICCS code, never summed or rolled up
    # a part without any reported rate (most) skips the query: its distinct count cells cost a second a million
    # cells for nothing; the empty table keeps the query's columns (``where false`` is planned away)
    has_rates = con.execute("select count(*) from latest where unit = 'rate_per_100k' and value is not null"
                            ).fetchall()[0][0] > 0
    con.execute("create or replace temp table rates as select * from (" + _sql("19_reported_rates") + ")"
                + ("" if has_rates else " where false"))
    return con.execute("select count(*) from rates").fetchall()[0][0]


def _merge_unmapped(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The parts' C1 findings as one table, as 12_check_codes_without_crosswalk gives it for one part."""
    df = pd.concat(frames, ignore_index=True)
    out = df.groupby(["source_id", "national_code", "year"], as_index=False, sort=True).agg(
        national_label=("national_label", "first"), cells=("cells", "sum"), file_name=("file_name", "min"),
        first_line=("first_line", "min"), valid_from=("valid_from", "first"), valid_to=("valid_to", "first"),
        submissions=("submissions", lambda v: ",".join(sorted({x for s in v.dropna() for x in str(s).split(",")}))))
    return out[list(df.columns)]


def _hierarchy_table(specs: dict[str, SourceSpec], codes: pd.DataFrame) -> pd.DataFrame:
    """(source_id, child_code, parent_code) pairs among the national codes actually present."""
    rows = [(sid, c, p) for sid, spec in specs.items()
            for c, p in spec.hierarchy_pairs(codes.loc[codes["source_id"] == sid, "national_code"])]
    return pd.DataFrame(rows, columns=["source_id", "child_code", "parent_code"], dtype="str")


def _code_roots(specs: dict[str, SourceSpec], codes: pd.DataFrame) -> pd.DataFrame:
    """(source_id, national_code, root_code): the top ancestor of every code that has a parent."""
    pairs = _hierarchy_table(specs, codes)
    parent = {(r.source_id, r.child_code): r.parent_code for r in pairs.itertuples()}
    rows = []
    for (sid, code) in parent:
        root, seen = code, set()
        while (sid, root) in parent and root not in seen:
            seen.add(root)
            root = parent[(sid, root)]
        rows.append((sid, code, root))
    return pd.DataFrame(rows, columns=["source_id", "national_code", "root_code"], dtype="str")


def harmonise(submissions: pd.DataFrame, specs: dict[str, SourceSpec], reference_dir: Path,
              con: duckdb.DuckDBPyConnection | None = None, out_dir: Path | None = None,
              part_cells: int | None = None, cache_dir: Path | None = None) -> HarmoniseResult:
    """``submissions``: one row per accepted submission with ``submission_id, source_id,
    received_at, validated_path``. Writes the harmonised tables (``OUTPUTS``) as Parquet files into
    ``out_dir``; without one (tests, a dry run) they are written to a temporary folder, read back into the
    result and the folder removed.

    The cells are harmonised in parts of whole countries of about ``part_cells`` cells each (default: the
    setting ``harmonise_part_cells``), so DuckDB holds one part at a time instead of the whole hemisphere;
    the result does not depend on how the countries are cut (tests/harmonise/test_parts.py).

    ``cache_dir``: keep each part's tables there under the fingerprint of its inputs, and reuse those of an
    earlier run whose inputs did not change (``part_cache.PartCache``; the pipeline passes
    ``<data>/cache/harmonise_parts`` unless ``HEMISTAT_HARMONISE_CACHE=0``). None: every part is computed and
    its files removed at the end. The tables are the same either way (tests/harmonise/test_part_cache.py)."""
    if out_dir is None:
        import shutil
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix="hemistat-harmonise-"))
        try:
            res = harmonise(submissions, specs, reference_dir, con, out_dir=tmp, part_cells=part_cells,
                            cache_dir=cache_dir)
            for name in OUTPUTS:
                res.frame(name)
            return res
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    con = con or connect()
    parts_dir = out_dir / ".parts"   # each part's tables, merged into out_dir, then removed
    if submissions.empty:
        cache_dir = None   # nothing to keep
        # nothing accepted (say, the last submission was withdrawn): an empty result with every column,
        # so an empty release can be published
        from pipelines.contracts.tables import RAW_COLUMNS, RawSchema

        parts_dir.mkdir(parents=True, exist_ok=True)
        tmp = parts_dir / "empty.parquet"
        cols = RawSchema.columns
        empty = pd.DataFrame({c: pd.Series(dtype=("str" if str(cols[c].dtype) == "str" else str(cols[c].dtype))
                                           if c in cols else "str") for c in RAW_COLUMNS})
        empty.to_parquet(tmp)
        submissions = pd.DataFrame([{"submission_id": "", "source_id": "", "received_at": "1970-01-01T00:00:00",
                                     "release_date": "1970-01-01", "validated_path": str(tmp)}])
    subs = submissions.copy()
    if "release_date" not in subs.columns:
        subs["release_date"] = None
    subs["release_date"] = subs["release_date"].fillna(subs["received_at"].astype(str).str[:10]).astype(str)
    subs = subs[["submission_id", "source_id", "received_at", "release_date", "validated_path"]]
    con.register("subs", subs)
    frames: dict[str, pd.DataFrame] = {}   # every table the stages read besides the cells: the cache's fingerprint

    def register(name: str, df: pd.DataFrame) -> None:
        frames[name] = df
        con.register(name, df)

    scopes = pd.DataFrame([(sid, "year" in sp.scope_by, "subdivision_code" in sp.scope_by,
                            "national_code" in sp.scope_by, sp.scope_kind) for sid, sp in specs.items()],
                          columns=["source_id", "by_year", "by_sub", "by_code", "scope_kind"])
    register("scopes", scopes)
    paths_all = list(subs["validated_path"])
    # one pass over the files' country, year, submission and code columns: the size of each country and year (to
    # cut the run into parts) and every national code (code families and hierarchy pairs are the source's, whatever
    # country reports them)
    census = _fetch(con, "select coalesce(v.country_iso3, '') as country, v.year, v.submission_id, s.source_id, "
                         "v.national_code, count(*) as n from read_parquet(?, union_by_name = true) v "
                         "join subs s using (submission_id) group by all", [paths_all])
    src_codes = census[["source_id", "national_code"]].drop_duplicates()
    # a code unit is a code *family*: a parent code and its children (and theirs) share the unit of their
    # root, so a parent's residual is always computed within one release
    register("code_roots", _code_roots(specs, src_codes))
    # (child, parent) pairs among the codes of the files: a pair whose parent or child no cell of a country
    # has joins nothing there (09_kids, 10_adjusted)
    register("hier", _hierarchy_table(specs, src_codes))
    register("partial_sources", pd.DataFrame(
        {"source_id": [sid for sid, sp in specs.items() if not sp.derives_national] or [""]}))
    subsets = pd.DataFrame([(sid, c) for sid, s in specs.items() for c in s.subset_codes],
                           columns=["source_id", "national_code"], dtype="str")
    register("subsets", subsets)

    # crosswalks (checked against ICCS before any cell is read: rule C2) --------------------------------
    xw_frames = []
    for sid in sorted(x for x in subs["source_id"].unique() if x):
        spec = specs[sid]
        if not (reference_dir / "crosswalks" / f"{spec.crosswalk}.csv").exists():
            continue   # no crosswalk yet: every code of the source is unmapped (C1 below isolates its submissions)
        xw = ref.crosswalk(reference_dir, spec.crosswalk)
        xw["source_id"] = sid
        xw_frames.append(xw[["source_id", "crosswalk_id", "national_code", "iccs_code", "relation", "rationale",
                             "valid_from", "valid_to"]])
    xw_all = pd.concat(xw_frames, ignore_index=True) if xw_frames else pd.DataFrame(
        {c: pd.Series(dtype="str") for c in ("source_id", "crosswalk_id", "national_code", "iccs_code", "relation",
                                            "rationale")} | {"valid_from": pd.Series(dtype="Int64"),
                                                             "valid_to": pd.Series(dtype="Int64")})
    xw_all["xw_row"] = pd.Series(range(len(xw_all)), dtype="int64")   # a row's number: cells keep it (13, 21)
    register("xw", xw_all)
    iccs_df = ref.iccs(reference_dir)
    register("iccs", iccs_df)
    bad_iccs = _fetch(con, _sql("11_check_crosswalk_iccs_codes"))
    if len(bad_iccs):
        raise HarmoniseError("crosswalk rows point at ICCS codes that do not exist (rule C2):\n"
                             + bad_iccs.to_string(index=False), bad_iccs)
    breaks = pd.DataFrame([(sid, c, b.from_year, 9999 if b.to_year is None else b.to_year, b.action, b.note)
                           for sid, sp in specs.items() for b in sp.breaks
                           for c in b.national_codes],
                          columns=["source_id", "national_code", "from_year", "to_year", "action", "note"])
    register("breaks", breaks)
    register("anc", ref.iccs_ancestors(iccs_df))
    popn = ref.preferred_national_population(ref.population_national(reference_dir))
    register("popn", popn[["country_iso3", "year", "population", "source_id"]])
    pops = ref.population_subnational(reference_dir)
    register("pops", pops[["country_iso3", "subdivision_code", "year", "population", "source_id"]])
    comp = pd.DataFrame([(sid, s.comparability) for sid, s in specs.items()], columns=["source_id", "comparability"])
    register("comp", comp)

    # the run in parts of whole countries, each within DuckDB's memory: every stage keeps within a country,
    # so a part is harmonised exactly as beside the others; the parts' files are then merged
    path_of = dict(zip(subs["submission_id"], subs["validated_path"]))

    def paths_of(countries: tuple | None, years: tuple | None = None) -> list[str]:
        """The validated files holding a cell of these countries (and years): the files a part reads."""
        if countries is None:
            return paths_all
        mine = census["country"].isin(countries)
        if years is not None:
            mine &= census["year"].isin(years)
        return sorted(set(census.loc[mine, "submission_id"].map(path_of).dropna()))

    cache = None
    if cache_dir is not None:
        from pipelines.harmonise.part_cache import PartCache

        cache = PartCache(cache_dir, frames, subs)
    parts = _country_parts(census, part_cells or get_settings().harmonise_part_cells,
                           _year_scoped_countries(census, specs),
                           keep=[Part(c, y) for c, y in cache.valid(paths_of)] if cache else ())
    totals = {"source_cells": 0, "latest_cells": 0, "reported_rates": 0}
    unmapped: list[pd.DataFrame] = []
    written: dict[str, list[str]] = {name: [] for name in PART_OUTPUTS}
    import shutil

    ok = False
    try:
        for i, part in enumerate(parts):
            part_paths = paths_of(part.countries, part.years)
            fp = cache.fingerprint(part.countries, part.years, part_paths) if cache and part.countries else None
            hit = cache.get(fp) if fp else None
            if hit is not None:     # the same inputs as when it was built: its tables as they are
                pdir, meta = hit
            else:
                n_src, n_latest, bad = _vintages(con, part_paths, part)
                if len(bad):
                    unmapped.append(bad)
                if unmapped:
                    continue   # the run stops (C1) after every part is checked: the error names every code
                pdir = cache.begin() if fp else parts_dir / f"{i:04d}"
                pdir.mkdir(parents=True, exist_ok=True)
                n_rates = _part_tables(con)
                for name, sql in PART_OUTPUTS.items():
                    rg = INDICATOR_ROW_GROUP if name == "indicators" else None
                    _copy(con, sql(), pdir / f"{name}.parquet", rg)
                meta = {"countries": list(part.countries or ()), "years": None if part.years is None else
                        list(part.years), "source_cells": int(n_src), "latest_cells": int(n_latest),
                        "reported_rates": int(n_rates)}
                if fp:
                    pdir = cache.commit(pdir, fp, meta)
            for k in totals:
                totals[k] += int(meta[k])
            for name in PART_OUTPUTS:
                written[name].append(str(pdir / f"{name}.parquet"))
        if unmapped:
            bad = _merge_unmapped(unmapped)
            raise HarmoniseError(
                f"{len(bad)} national code-year(s) have no crosswalk row in force (rule C1); add them to "
                "reference/crosswalks/<source>.csv or correct valid_from/valid_to:\n" + bad.to_string(index=False),
                bad)
        con.execute("drop view if exists ind_main; drop view if exists ind; drop view if exists adjusted; "
                    "drop table if exists src; drop table if exists unit_rank; drop table if exists latest; "
                    "drop table if exists revisions; drop table if exists nat_replaced; drop table if exists kids; "
                    "drop table if exists cells; drop table if exists leaf; drop table if exists rates")

        def merge(sql: str, name: str, row_group_size: int | None = None) -> Path:
            return _copy(con, sql, out_dir / f"{name}.parquet", row_group_size, params={"parts": written[name]})

        keep = cache is not None     # the cache keeps its files: a single part's are copied, not moved
        paths = {"indicators": _concat_indicators(written["indicators"], out_dir / "indicators.parquet", con=con,
                                                  keep_parts=keep),
                 "survey": merge(_sql("30_merge_survey"), "survey"),
                 "cells": (Path((shutil.copyfile if keep else shutil.move)(written["cells"][0],
                                                                           out_dir / "cells.parquet"))
                           if len(parts) == 1
                           else merge("select * from read_parquet($parts, union_by_name = true)", "cells")),
                 "excluded": merge(_sql("31_merge_excluded"), "excluded"),
                 "unused_crosswalk": merge(_sql("23_unused_crosswalk_rows"), "codes"),
                 "used": merge("select distinct submission_id from read_parquet($parts) order by 1", "used"),
                 "revisions": merge(_sql("32_merge_revisions"), "revisions")}
        latest_codes = _fetch(con, "select distinct source_id, national_code from read_parquet(?)", [written["codes"]])
        ok = True
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
        if cache is not None:
            cache.prune() if ok else cache.discard()
    counts = {name: con.execute("select count(*) from read_parquet(?)", [str(path)]).fetchone()[0]
              for name, path in paths.items()}
    excluded_cells = con.execute("select coalesce(sum(cells), 0) from read_parquet(?)",
                                 [str(paths["excluded"])]).fetchone()[0]
    stats = {"unused_crosswalk_rows": counts["unused_crosswalk"], "source_cells": int(totals["source_cells"]),
             "latest_cells": int(totals["latest_cells"]), "indicators": counts["indicators"],
             "excluded_cells": int(excluded_cells),
             "hierarchy_pairs": len(_hierarchy_table(specs, latest_codes)),
             "reported_rates": int(totals["reported_rates"]), "survey_rows": counts["survey"],
             "revisions": counts["revisions"], "parts": len(parts),
             "parts_by_year": sum(p.years is not None for p in parts),
             "parts_reused": cache.reused if cache else 0}
    return HarmoniseResult(paths=paths, stats=stats)
