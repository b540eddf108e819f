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
    (every output is ordered explicitly)."""

    con = duckdb.connect()
    con.execute("set memory_limit = ?", [memory_limit or get_settings().duckdb_memory])
    con.execute("set preserve_insertion_order = false")
    if temp_dir is not None:
        Path(temp_dir).mkdir(parents=True, exist_ok=True)
        con.execute("set temp_directory = ?", [str(temp_dir)])
    return con


#: rows per Parquet row group of the indicators: small enough that a query naming a country and year reads
#: only its own row groups (min/max statistics), large enough to keep compression (bench: views)
INDICATOR_ROW_GROUP = 32_768


def _copy(con: duckdb.DuckDBPyConnection, sql: str, path: Path, row_group_size: int | None = None) -> Path:
    """Write a query's result straight to Parquet (zstd), never through pandas; the path goes through the
    relational API, never into SQL text."""
    con.sql(sql).write_parquet(str(path), compression="zstd", row_group_size=row_group_size)
    return path


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
              con: duckdb.DuckDBPyConnection | None = None, out_dir: Path | None = None) -> HarmoniseResult:
    """``submissions``: one row per accepted submission with ``submission_id, source_id,
    received_at, validated_path``. Writes the harmonised tables (``OUTPUTS``) as Parquet files into
    ``out_dir``; without one (tests, a dry run) they are written to a temporary folder, read back into the
    result and the folder removed."""
    if out_dir is None:
        import shutil
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix="hemistat-harmonise-"))
        try:
            res = harmonise(submissions, specs, reference_dir, con, out_dir=tmp)
            for name in OUTPUTS:
                res.frame(name)
            return res
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    con = con or connect()
    empty_dir = None
    if submissions.empty:
        # nothing accepted (say, the last submission was withdrawn): an empty result with every column,
        # so an empty release can be published
        import tempfile

        from pipelines.contracts.tables import RAW_COLUMNS, RawSchema

        empty_dir = Path(tempfile.mkdtemp(prefix="hemistat-empty-"))
        tmp = empty_dir / "empty.parquet"
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
    scopes = pd.DataFrame([(sid, "year" in sp.scope_by, "subdivision_code" in sp.scope_by,
                            "national_code" in sp.scope_by, sp.scope_kind) for sid, sp in specs.items()],
                          columns=["source_id", "by_year", "by_sub", "by_code", "scope_kind"])
    con.register("scopes", scopes)
    # every cell with its vintage unit: country x level (national rows / subdivisions) x the spec's scope
    # dimensions (sentinels, not NULL, so units compare with '=')
    con.execute(_sql("01_src"), [list(subs["validated_path"])])
    if empty_dir is not None:
        import shutil

        shutil.rmtree(empty_dir, ignore_errors=True)
    # a code unit is a code *family*: a parent code and its children (and theirs) share the unit of their
    # root, so a parent's residual is always computed within one release
    con.register("code_roots", _code_roots(specs, _fetch(con, "select distinct source_id, national_code from src")))
    con.execute(_sql("02_src_code_families"))

    # 1. vintages: per unit, the newest release (release date, then receipt) gives every cell -------------
    con.execute(_sql("03_unit_rank"))
    con.execute(_sql("04_latest"))
    # revisions against the previous release of the same unit: cells revised, and cells withdrawn (in the
    # previous release, absent from the newer one)
    con.execute(_sql("05_revisions"))
    # a national figure comes from the newest release that covers it: where a strictly newer release gives
    # only subdivisions for a year, the older national rows give way to the sum of those subdivisions
    con.register("partial_sources", pd.DataFrame(
        {"source_id": [sid for sid, sp in specs.items() if not sp.derives_national] or [""]}))
    con.execute(_sql("06_nat_replaced"))
    con.execute(_sql("07_revisions_national_from_subdivisions"))
    con.execute(_sql("08_latest_without_replaced_national"))
    n_src, n_latest = con.execute("select (select count(*) from src), (select count(*) from latest)").fetchone()

    # 2. hierarchy residuals and subsets -------------------------------------------------------------
    codes = _fetch(con, "select distinct source_id, national_code from latest")
    hier = _hierarchy_table(specs, codes)
    con.register("hier", hier)
    subsets = pd.DataFrame([(sid, c) for sid, s in specs.items() for c in s.subset_codes],
                           columns=["source_id", "national_code"], dtype="str")
    con.register("subsets", subsets)
    con.execute(_sql("09_kids"))
    con.execute(_sql("10_adjusted"))

    # 3. crosswalk ---------------------------------------------------------------------------------
    xw_frames = []
    for sid in sorted(x for x in subs["source_id"].unique() if x):
        spec = specs[sid]
        if not (reference_dir / "crosswalks" / f"{spec.crosswalk}.csv").exists():
            continue   # no crosswalk yet: every code of the source is unmapped (C1 below isolates its submissions)
        xw = ref.crosswalk(reference_dir, spec.crosswalk)
        xw["source_id"] = sid
        xw_frames.append(xw[["source_id", "crosswalk_id", "national_code", "iccs_code", "relation", "rationale",
                             "valid_from", "valid_to"]])
    con.register("xw", pd.concat(xw_frames, ignore_index=True) if xw_frames else pd.DataFrame(
        {c: pd.Series(dtype="str") for c in ("source_id", "crosswalk_id", "national_code", "iccs_code", "relation",
                                            "rationale")} | {"valid_from": pd.Series(dtype="Int64"),
                                                             "valid_to": pd.Series(dtype="Int64")}))
    iccs_df = ref.iccs(reference_dir)
    con.register("iccs", iccs_df)
    bad_iccs = _fetch(con, _sql("11_check_crosswalk_iccs_codes"))
    if len(bad_iccs):
        raise HarmoniseError("crosswalk rows point at ICCS codes that do not exist (rule C2):\n"
                             + bad_iccs.to_string(index=False), bad_iccs)
    # a crosswalk row applies to the years valid_from..valid_to (inclusive; empty = open)
    unmapped = _fetch(con, _sql("12_check_codes_without_crosswalk"))
    if len(unmapped):
        raise HarmoniseError(
            f"{len(unmapped)} national code-year(s) have no crosswalk row in force (rule C1); add them to "
            "reference/crosswalks/<source>.csv or correct valid_from/valid_to:\n" + unmapped.to_string(index=False),
            unmapped)
    breaks = pd.DataFrame([(sid, c, b.from_year, 9999 if b.to_year is None else b.to_year, b.action, b.note)
                           for sid, sp in specs.items() for b in sp.breaks
                           for c in b.national_codes],
                          columns=["source_id", "national_code", "from_year", "to_year", "action", "note"])
    con.register("breaks", breaks)
    con.execute(_sql("13_cells"))

    # 4. leaf facts (annual + monthly) --------------------------------------------------------------
    con.execute(_sql("14_leaf"))
    con.execute(_sql("15_leaf_annual_from_months"))
    # 5. national from subdivisions, only where the source reported no national row that year, and only
    #    for sources whose files cover the whole country (spec: national_from_subdivisions) ------------
    con.execute(_sql("16_leaf_national_from_subdivisions"))

    # 6. roll-up to ICCS ancestors -----------------------------------------------------------------
    con.register("anc", ref.iccs_ancestors(iccs_df))
    con.execute(_sql("17_ind"))

    # 7. population and rates --------------------------------------------------------------------
    popn = ref.preferred_national_population(ref.population_national(reference_dir))
    con.register("popn", popn[["country_iso3", "year", "population", "source_id"]])
    pops = ref.population_subnational(reference_dir)
    con.register("pops", pops[["country_iso3", "subdivision_code", "year", "population", "source_id"]])
    comp = pd.DataFrame([(sid, s.comparability) for sid, s in specs.items()], columns=["source_id", "comparability"])
    con.register("comp", comp)
    # a view, read once by 25_indicators (which orders the output): never materialised, never sorted twice
    con.execute("create or replace temp view ind_main as " + _sql("18_indicators_with_rates"))
    # reported rates of sources that publish no count for the same cell (comparison series such as
    # the World Bank homicide rate): published as-is at the mapped ICCS code, never summed or rolled up
    con.execute("create or replace temp table rates as " + _sql("19_reported_rates"))
    paths = {"indicators": _copy(con, _sql("25_indicators"), out_dir / "indicators.parquet", INDICATOR_ROW_GROUP),
             "survey": _copy(con, _sql("20_survey"), out_dir / "survey.parquet"),
             "cells": _copy(con, _sql("21_published_cells"), out_dir / "cells.parquet"),
             "excluded": _copy(con, _sql("22_excluded_cells"), out_dir / "excluded.parquet"),
             "unused_crosswalk": _copy(con, _sql("23_unused_crosswalk_rows"), out_dir / "unused_crosswalk.parquet"),
             "used": _copy(con, "select distinct submission_id from latest order by 1", out_dir / "used.parquet"),
             "revisions": _copy(con, _sql("24_published_revisions"), out_dir / "revisions.parquet")}
    counts = {name: con.execute("select count(*) from read_parquet(?)", [str(path)]).fetchone()[0]
              for name, path in paths.items()}
    excluded_cells = con.execute("select coalesce(sum(cells), 0) from read_parquet(?)",
                                 [str(paths["excluded"])]).fetchone()[0]
    stats = {"unused_crosswalk_rows": counts["unused_crosswalk"], "source_cells": int(n_src),
             "latest_cells": int(n_latest), "indicators": counts["indicators"], "excluded_cells": int(excluded_cells),
             "hierarchy_pairs": len(hier), "reported_rates": con.execute("select count(*) from rates").fetchone()[0],
             "survey_rows": counts["survey"], "revisions": counts["revisions"]}
    return HarmoniseResult(paths=paths, stats=stats)
