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

Every published value can be traced back: ``published.cells`` keeps each source cell with its
submission, file, line, column and crosswalk rule; ``published.trace(indicator_id)`` lists them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipelines.specs import SourceSpec
from pipelines.harmonise import reference as ref



def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    """Query -> pandas through Arrow (10x faster than ``.df()`` for string columns on pandas 3)."""
    with warnings.catch_warnings():  # DuckDB 2 notes an extra copy; still far cheaper than .df()
        warnings.simplefilter("ignore", UserWarning)
        return con.execute(sql, params or []).to_arrow_table().to_pandas()


class HarmoniseError(ValueError):
    def __init__(self, message: str, details: pd.DataFrame | None = None):
        super().__init__(message)
        self.details = details


@dataclass
class HarmoniseResult:
    indicators: pd.DataFrame
    cells: pd.DataFrame
    excluded: pd.DataFrame
    stats: dict = field(default_factory=dict)
    unused_crosswalk: pd.DataFrame | None = None  # crosswalk rows no submitted cell uses (a warning)
    survey: pd.DataFrame | None = None            # survey indicators (unit percent), not offences
    used: pd.DataFrame | None = None              # submission_id of every submission with a cell in the result
    revisions: pd.DataFrame | None = None         # cells revised / withdrawn by a newer release of the same unit


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
              con: duckdb.DuckDBPyConnection | None = None) -> HarmoniseResult:
    """``submissions``: one row per accepted submission with ``submission_id, source_id,
    received_at, validated_path``. Returns indicators, source cells and excluded cells."""
    con = con or duckdb.connect()
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
    con.execute("""
        create or replace temp table src as
        select v.*, s.received_at, s.release_date,
               case when sc.by_year then v.year else -1 end as u_year,
               case when sc.by_sub then coalesce(v.subdivision_code, '') else '' end as u_sub,
               case when sc.by_code then v.national_code else '' end as u_code
        from read_parquet(?, union_by_name = true) v
        join subs s using (submission_id)
        join scopes sc on sc.source_id = s.source_id
    """, [list(subs["validated_path"])])
    if empty_dir is not None:
        import shutil

        shutil.rmtree(empty_dir, ignore_errors=True)
    # a code unit is a code *family*: a parent code and its children (and theirs) share the unit of their
    # root, so a parent's residual is always computed within one release
    con.register("code_roots", _code_roots(specs, _fetch(con, "select distinct source_id, national_code from src")))
    con.execute("""
        update src set u_code = cr.root_code from code_roots cr
        where cr.source_id = src.source_id and cr.national_code = src.national_code and src.u_code <> ''
    """)

    # 1. vintages: per unit, the newest release (release date, then receipt) gives every cell -------------
    con.execute("""
        create or replace temp table unit_rank as
        select *, row_number() over (
                   partition by source_id, country_iso3, national_level, u_year, u_sub, u_code
                   order by release_date desc, received_at desc, submission_id desc) as rnk
        from (select distinct source_id, country_iso3, subdivision_code is null as national_level, u_year, u_sub,
                     u_code, submission_id, release_date, received_at from src)
    """)
    con.execute("""
        create or replace temp table latest as
        select s.* exclude (u_year, u_sub, u_code) from src s
        join unit_rank r on r.rnk = 1 and r.submission_id = s.submission_id and r.source_id = s.source_id
         and r.country_iso3 = s.country_iso3 and r.national_level = (s.subdivision_code is null)
         and r.u_year = s.u_year and r.u_sub = s.u_sub and r.u_code = s.u_code
        qualify row_number() over (
            partition by s.source_id, s.country_iso3, coalesce(s.subdivision_code, ''), s.year, coalesce(s.month, 0),
                         s.national_code, s.measure, s.unit, s.sex, s.age, s.relationship
            order by s.line) = 1
    """)
    # revisions against the previous release of the same unit: cells revised, and cells withdrawn (in the
    # previous release, absent from the newer one)
    con.execute("""
        create or replace temp table revisions as
        with prev as (
            select s.*, r2.national_level from src s
            join unit_rank r2 on r2.rnk = 2 and r2.submission_id = s.submission_id and r2.source_id = s.source_id
             and r2.country_iso3 = s.country_iso3 and r2.national_level = (s.subdivision_code is null)
             and r2.u_year = s.u_year and r2.u_sub = s.u_sub and r2.u_code = s.u_code),
        cur as (select * from latest)
        select p.source_id, p.country_iso3, p.subdivision_code, p.year, p.month, p.national_code, p.measure, p.unit,
               p.sex, p.age, p.relationship, p.value as old_value, c.value as new_value,
               p.submission_id as old_submission_id, coalesce(c.submission_id, w.submission_id) as new_submission_id,
               p.release_date as old_release_date, coalesce(c.release_date, w.release_date) as new_release_date,
               case when c.submission_id is null then 'withdrawn' else 'revised' end as kind,
               case when c.submission_id is null
                    then 'not in the newer release of the same scope: withdrawn'
                    else 'value revised by the newer release' end as note
        from prev p
        join unit_rank w on w.rnk = 1 and w.source_id = p.source_id and w.country_iso3 = p.country_iso3
         and w.national_level = p.national_level and w.u_year = p.u_year and w.u_sub = p.u_sub and w.u_code = p.u_code
        left join cur c on c.source_id = p.source_id and c.country_iso3 = p.country_iso3
         and c.subdivision_code is not distinct from p.subdivision_code and c.year = p.year
         and c.month is not distinct from p.month and c.national_code = p.national_code and c.measure = p.measure
         and c.unit = p.unit and c.sex = p.sex and c.age = p.age and c.relationship = p.relationship
        where (c.submission_id is null and p.value is not null) or (c.submission_id is not null
                                                                    and c.value is distinct from p.value)
    """)
    # a national figure comes from the newest release that covers it: where a strictly newer release gives
    # only subdivisions for a year, the older national rows give way to the sum of those subdivisions
    con.register("partial_sources", pd.DataFrame(
        {"source_id": [sid for sid, sp in specs.items() if not sp.derives_national] or [""]}))
    con.execute("""
        create or replace temp table nat_replaced as
        with n as (select source_id, country_iso3, year, any_value(submission_id) as old_submission_id,
                          max(release_date) as old_release_date
                   from latest where subdivision_code is null group by all),
             s as (select source_id, country_iso3, year, max(release_date) as new_release_date,
                          arg_max(submission_id, release_date) as new_submission_id
                   from latest where subdivision_code is not null group by all)
        select n.*, s.new_release_date, s.new_submission_id from n join s using (source_id, country_iso3, year)
        where s.new_release_date > n.old_release_date
          and n.source_id not in (select source_id from partial_sources)
    """)
    con.execute("""
        insert into revisions
        with old as (select l.* from latest l join nat_replaced r using (source_id, country_iso3, year)
                     where l.subdivision_code is null and l.unit = 'count'),
             sums as (select l.source_id, l.country_iso3, l.year, l.month, l.national_code, l.measure, l.sex, l.age,
                             l.relationship, sum(l.value) as value
                      from latest l join nat_replaced r using (source_id, country_iso3, year)
                      where l.subdivision_code is not null and l.unit = 'count' group by all)
        select o.source_id, o.country_iso3, null, o.year, o.month, o.national_code, o.measure, o.unit, o.sex, o.age,
               o.relationship, o.value, s.value, o.submission_id, r.new_submission_id, o.release_date,
               r.new_release_date, 'national_from_newer_subdivisions',
               'national figure of the older release replaced by the sum of subdivisions of the newer release'
        from old o join nat_replaced r using (source_id, country_iso3, year)
        left join sums s on s.source_id = o.source_id and s.country_iso3 = o.country_iso3 and s.year = o.year
         and s.month is not distinct from o.month and s.national_code = o.national_code and s.measure = o.measure
         and s.sex = o.sex and s.age = o.age and s.relationship = o.relationship
        where s.value is distinct from o.value
    """)
    con.execute("""
        delete from latest where subdivision_code is null and exists (
            select 1 from nat_replaced r where r.source_id = latest.source_id
              and r.country_iso3 = latest.country_iso3 and r.year = latest.year)
    """)
    n_src, n_latest = con.execute("select (select count(*) from src), (select count(*) from latest)").fetchone()

    # 2. hierarchy residuals and subsets -------------------------------------------------------------
    codes = _fetch(con, "select distinct source_id, national_code from latest")
    hier = _hierarchy_table(specs, codes)
    con.register("hier", hier)
    subsets = pd.DataFrame([(sid, c) for sid, s in specs.items() for c in s.subset_codes],
                           columns=["source_id", "national_code"], dtype="str")
    con.register("subsets", subsets)
    con.execute("""
        create or replace temp table kids as
        select l.source_id, l.country_iso3, l.subdivision_code, l.year, l.month, h.parent_code,
               l.measure, l.sex, l.age, l.relationship,
               sum(l.value) as kids_value, count(*) as n_kids
        from latest l join hier h on h.source_id = l.source_id and h.child_code = l.national_code
        where l.unit = 'count'
        group by all
    """)
    con.execute("""
        create or replace temp table adjusted as
        select l.*,
               l.value as value_reported,
               case when k.n_kids is null or l.value is null then l.value
                    else greatest(l.value - coalesce(k.kids_value, 0), 0) end as value_used,
               case when k.n_kids is null then null
                    when l.value - coalesce(k.kids_value, 0) < 0 then 'residual<0: children exceed parent (I2)'
                    else 'residual: parent minus its ' || k.n_kids || ' listed children' end as hierarchy_note,
               (s.national_code is not null) as is_subset
        from latest l
        left join kids k
          on k.source_id = l.source_id and k.country_iso3 = l.country_iso3
         and k.subdivision_code is not distinct from l.subdivision_code and k.year = l.year
         and k.month is not distinct from l.month and k.parent_code = l.national_code
         and k.measure = l.measure and k.sex = l.sex and k.age = l.age and k.relationship = l.relationship
        left join subsets s on s.source_id = l.source_id and s.national_code = l.national_code
        where l.unit = 'count'
    """)

    # 3. crosswalk ---------------------------------------------------------------------------------
    xw_frames = []
    for sid in sorted(x for x in subs["source_id"].unique() if x):
        spec = specs[sid]
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
    bad_iccs = _fetch(con, """select distinct x.source_id, x.crosswalk_id, x.national_code, x.iccs_code from xw x
                              left join iccs i on i.code = x.iccs_code
                              where x.iccs_code is not null and i.code is null""")
    if len(bad_iccs):
        raise HarmoniseError("crosswalk rows point at ICCS codes that do not exist (rule C2):\n"
                             + bad_iccs.to_string(index=False), bad_iccs)
    # a crosswalk row applies to the years valid_from..valid_to (inclusive; empty = open)
    unmapped = _fetch(con, """
        select a.source_id, a.national_code, a.year, any_value(a.national_label) as national_label,
               count(*) as cells, min(a.file_name) as file_name, min(a.line) as first_line,
               any_value(v.valid_from) as valid_from, any_value(v.valid_to) as valid_to,
               string_agg(distinct a.submission_id, ',' order by a.submission_id) as submissions
        from (select source_id, national_code, national_label, year, file_name, line, value, submission_id from latest
              where unit in ('count', 'rate_per_100k')) a
        left join xw x on x.source_id = a.source_id and x.national_code = a.national_code
         and a.year between coalesce(x.valid_from, a.year) and coalesce(x.valid_to, a.year)
        left join xw v on v.source_id = a.source_id and v.national_code = a.national_code
        -- an empty cell of a code outside its validity is not a use of it (FBI rape_revised before 2013)
        where x.national_code is null and (v.national_code is null or a.value is not null)
        group by a.source_id, a.national_code, a.year order by 1, 2, 3
    """)
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
    con.execute("""
        create or replace temp table cells as
        select a.* replace (
                   case when fb.note is not null and a.obs_status = 'A' then 'B' else a.obs_status end as obs_status,
                   coalesce(fb.note, a.obs_note) as obs_note),
               x.crosswalk_id, x.iccs_code, x.relation, x.rationale as crosswalk_rationale,
               case when a.is_subset then 'subset tag of another category: never summed'
                    when eb.note is not null then 'superseded: ' || eb.note
                    when x.iccs_code is null then 'no ICCS match: ' || x.rationale end as excluded_reason,
               fb.note as break_note
        from adjusted a join xw x on x.source_id = a.source_id and x.national_code = a.national_code
         and a.year between coalesce(x.valid_from, a.year) and coalesce(x.valid_to, a.year)
        left join breaks fb on fb.action = 'flag' and fb.source_id = a.source_id and fb.national_code = a.national_code
                           and a.year between fb.from_year and fb.to_year
        left join breaks eb on eb.action = 'exclude' and eb.source_id = a.source_id
                           and eb.national_code = a.national_code and a.year between eb.from_year and eb.to_year
    """)

    # 4. leaf facts (annual + monthly) --------------------------------------------------------------
    con.execute("""
        create or replace temp table leaf as
        select source_id, country_iso3, subdivision_code, any_value(subdivision_name) as subdivision_name,
               year, month, iccs_code, measure, sex, age, relationship,
               sum(value_used) as value, count(*) as n_cells, count(value_used) as n_values,
               max(submission_id) as submission_id, count(distinct submission_id) as n_submissions,
               case when count(value_used) = 0 then 'M' when count(value_used) < count(*) then 'P'
                    when bool_or(obs_status = 'B') then 'B' else 'A' end as obs_status,
               cast(null as integer) as months_reported, 'reported' as derivation,
               string_agg(distinct break_note, '; ') as break_note
        from cells where excluded_reason is null
        group by source_id, country_iso3, subdivision_code, year, month, iccs_code, measure, sex, age, relationship
    """)
    con.execute("""
        insert into leaf
        select source_id, country_iso3, subdivision_code, any_value(subdivision_name), year, null,
               iccs_code, measure, sex, age, relationship,
               sum(value), sum(n_cells), sum(n_values), max(submission_id), max(n_submissions),
               case when count(value) = 0 then 'M' when count(value) < 12 or bool_or(obs_status = 'P') then 'P'
                    when bool_or(obs_status = 'B') then 'B' else 'A' end,
               count(value), 'months', string_agg(distinct break_note, '; ')
        from leaf where month is not null
        group by source_id, country_iso3, subdivision_code, year, iccs_code, measure, sex, age, relationship
    """)
    # 5. national from subdivisions, only where the source reported no national row that year, and only
    #    for sources whose files cover the whole country (spec: national_from_subdivisions) ------------
    con.execute("""
        insert into leaf
        select l.source_id, l.country_iso3, null, null, l.year, l.month, l.iccs_code, l.measure, l.sex,
               l.age, l.relationship, sum(l.value), sum(l.n_cells), sum(l.n_values), max(l.submission_id),
               max(l.n_submissions),
               case when count(l.value) = 0 then 'M' when count(l.value) < count(*) or bool_or(l.obs_status = 'P') then 'P'
                    when bool_or(l.obs_status = 'B') then 'B' else 'A' end,
               max(l.months_reported), 'subdivisions', string_agg(distinct l.break_note, '; ')
        from leaf l
        where l.subdivision_code is not null
          and l.source_id not in (select source_id from partial_sources)
          and not exists (select 1 from leaf n
                          where n.source_id = l.source_id and n.country_iso3 = l.country_iso3
                            and n.subdivision_code is null and n.year = l.year
                            and n.month is not distinct from l.month and n.measure = l.measure)
        group by l.source_id, l.country_iso3, l.year, l.month, l.iccs_code, l.measure, l.sex, l.age, l.relationship
    """)

    # 6. roll-up to ICCS ancestors -----------------------------------------------------------------
    con.register("anc", ref.iccs_ancestors(iccs_df))
    con.execute("""
        create or replace temp table ind as
        select l.source_id, l.country_iso3, l.subdivision_code, any_value(l.subdivision_name) as subdivision_name,
               l.year, l.month, a.ancestor as iccs_code, a.ancestor_level as iccs_level, l.measure, l.sex,
               l.age, l.relationship, sum(l.value) as value, sum(l.n_cells) as n_cells,
               sum(l.n_values) as n_values, max(l.submission_id) as submission_id, max(l.n_submissions) as n_submissions,
               case when count(l.value) = 0 then 'M' when count(l.value) < count(*) or bool_or(l.obs_status = 'P') then 'P'
                    when bool_or(l.obs_status = 'B') then 'B' else 'A' end as obs_status,
               max(l.months_reported) as months_reported, string_agg(distinct l.break_note, '; ') as break_note,
               case when bool_or(l.derivation = 'subdivisions') then 'subdivisions'
                    when bool_or(l.derivation = 'months') then 'months'
                    when bool_or(l.iccs_code <> a.ancestor) then 'rollup'
                    else 'reported' end as derivation
        from leaf l join anc a on a.code = l.iccs_code
        group by l.source_id, l.country_iso3, l.subdivision_code, l.year, l.month, a.ancestor, a.ancestor_level,
                 l.measure, l.sex, l.age, l.relationship
    """)

    # 7. population and rates --------------------------------------------------------------------
    popn = ref.preferred_national_population(ref.population_national(reference_dir))
    con.register("popn", popn[["country_iso3", "year", "population", "source_id"]])
    pops = ref.population_subnational(reference_dir)
    con.register("pops", pops[["country_iso3", "subdivision_code", "year", "population", "source_id"]])
    comp = pd.DataFrame([(sid, s.comparability) for sid, s in specs.items()], columns=["source_id", "comparability"])
    con.register("comp", comp)
    out = _fetch(con, """
        with j as (
            select i.*, coalesce(p.population, q.population) as pop,
                   coalesce(p.source_id, q.source_id) as pop_source
            from ind i
            left join popn p on i.subdivision_code is null and p.country_iso3 = i.country_iso3 and p.year = i.year
            left join pops q on i.subdivision_code is not null and q.country_iso3 = i.country_iso3
                            and q.subdivision_code = i.subdivision_code and q.year = i.year
        )
        select md5(concat_ws('|', j.source_id, j.country_iso3, coalesce(j.subdivision_code, '-'), j.year,
                             coalesce(cast(j.month as varchar), '-'), j.iccs_code, j.measure, j.sex, j.age,
                             j.relationship)) as indicator_id,
               j.country_iso3, j.subdivision_code, j.subdivision_name, cast(j.year as bigint) as year,
               cast(j.month as bigint) as month, j.iccs_code, cast(j.iccs_level as bigint) as iccs_level,
               j.measure, j.sex, j.age, j.relationship, cast(j.value as double) as value,
               cast(j.pop as double) as population, j.pop_source as population_source,
               case when j.pop is not null and j.sex = '_T' and j.age = '_T' and j.relationship = '_T'
                         and j.month is null and j.value is not null
                    then j.value / j.pop * 100000 end as rate_per_100k,
               case when j.value is null then 'no value'
                    when j.month is not null then 'monthly value: rate computed for years only'
                    when j.obs_status = 'P' and j.pop is not null and coalesce(j.months_reported, 12) < 12
                         then 'provisional year (' || cast(j.months_reported as varchar)
                              || ' of 12 months): the rate covers only the reported months'
                    when j.obs_status = 'P' and j.pop is not null
                         then 'incomplete (' || cast(j.n_values as varchar) || ' of ' || cast(j.n_cells as varchar)
                              || ' national cells reported): the rate undercounts'
                    when j.pop is null and j.subdivision_code is null then 'no reference population for this country and year'
                    when j.pop is null then 'no reference population for this subdivision and year'
                    when j.sex <> '_T' or j.age <> '_T' or j.relationship <> '_T'
                         then 'rate only for totals: no population by sex/age in reference yet' end as rate_note,
               j.obs_status,
               case when j.obs_status = 'P' then concat_ws('; ',
                        case when coalesce(j.months_reported, 12) < 12
                             then 'provisional: ' || cast(j.months_reported as varchar) || ' of 12 months reported' end,
                        case when j.n_values < j.n_cells
                             then 'incomplete: ' || cast(j.n_values as varchar) || ' of ' || cast(j.n_cells as varchar)
                                  || ' national cells reported (the others are empty: not reported)' end)
                    when j.obs_status = 'M' then 'not reported'
                    when j.obs_status = 'B' then 'break in series: ' || j.break_note end as obs_note,
               j.source_id, j.submission_id, cast(j.n_submissions as bigint) as n_submissions,
               cast(j.n_cells as bigint) as n_cells, cast(j.n_values as bigint) as n_cells_reported,
               cast(j.months_reported as bigint) as months_reported,
               j.derivation, c.comparability
        from j left join comp c on c.source_id = j.source_id
        order by j.source_id, j.country_iso3, j.subdivision_code nulls first, j.year, j.month nulls first, j.iccs_code
    """)
    # reported rates of sources that publish no count for the same cell (comparison series such as
    # the World Bank homicide rate): published as-is at the mapped ICCS code, never summed or rolled up
    rates = _fetch(con, """
        with c as (select distinct source_id, country_iso3, subdivision_code, year, month, national_code, measure,
                          sex, age, relationship from latest where unit = 'count' and value is not null),
             r as (select l.* from latest l
                   left join c on c.source_id = l.source_id and c.country_iso3 = l.country_iso3
                    and c.subdivision_code is not distinct from l.subdivision_code and c.year = l.year
                    and c.month is not distinct from l.month and c.national_code = l.national_code
                    and c.measure = l.measure and c.sex = l.sex and c.age = l.age and c.relationship = l.relationship
                   where l.unit = 'rate_per_100k' and l.value is not null and c.source_id is null)
        select r.source_id, r.country_iso3, r.subdivision_code, any_value(r.subdivision_name) as subdivision_name,
               cast(r.year as bigint) as year, cast(r.month as bigint) as month, x.iccs_code,
               cast(any_value(i.level) as bigint) as iccs_level, r.measure, r.sex, r.age, r.relationship,
               max(r.value) as rate_per_100k, max(r.submission_id) as submission_id, count(*) as n
        from r join xw x on x.source_id = r.source_id and x.national_code = r.national_code
         and r.year between coalesce(x.valid_from, r.year) and coalesce(x.valid_to, r.year)
        join iccs i on i.code = x.iccs_code
        where x.iccs_code is not null
        group by r.source_id, r.country_iso3, r.subdivision_code, r.year, r.month, x.iccs_code, r.measure, r.sex,
                 r.age, r.relationship
        having count(*) = 1
    """)
    if len(rates):
        key = rates[["source_id", "country_iso3", "subdivision_code", "year", "month", "iccs_code", "measure", "sex",
                     "age", "relationship"]].astype("str").fillna("-")
        rates["indicator_id"] = key.agg("|".join, axis=1).map(lambda k: "r" + __import__("hashlib").md5(k.encode()).hexdigest()[1:])
        rates = rates.assign(value=np.nan, population=np.nan, population_source=None,
                             rate_note="rate as published by the source (no count published)",
                             obs_status="A", obs_note=None, n_submissions=1, n_cells=rates["n"],
                             n_cells_reported=rates.pop("n"),
                             months_reported=pd.NA, derivation="reported_rate",
                             comparability=rates["source_id"].map(dict(zip(comp.source_id, comp.comparability))))
        out = pd.concat([out, rates[out.columns]], ignore_index=True)
    survey = _fetch(con, """
        select source_id, submission_id, file_name, line, column_name, country_iso3, subdivision_code,
               subdivision_name, cast(year as bigint) as year, cast(month as bigint) as month,
               national_code as indicator_code, national_label as indicator_label, measure, unit, sex, age,
               value, obs_status, obs_note
        from latest where unit = 'percent' order by source_id, country_iso3, subdivision_code nulls first, year
    """)
    out["month"] = out["month"].astype("Int64")
    out["months_reported"] = out["months_reported"].astype("Int64")

    cells = _fetch(con, """
        select source_id, submission_id, file_name, line, column_name, country_iso3, subdivision_code,
               year, month, national_code, national_label, measure, sex, age, relationship,
               value_reported, value_used, hierarchy_note, crosswalk_id, iccs_code, relation,
               crosswalk_rationale, excluded_reason, obs_status
        from cells
    """)
    excluded = _fetch(con, """
        select source_id, national_code, any_value(national_label) as national_label, excluded_reason,
               count(*) as cells, sum(value_used) as value
        from cells where excluded_reason is not null group by all order by 1, 2
    """)
    unused = _fetch(con, """
        select x.source_id, x.crosswalk_id, x.national_code, x.iccs_code
        from xw x anti join (select distinct source_id, national_code from latest) a
          on a.source_id = x.source_id and a.national_code = x.national_code
        order by 1, 3
    """)
    stats = {"unused_crosswalk_rows": len(unused), "source_cells": int(n_src), "latest_cells": int(n_latest), "indicators": len(out),
             "excluded_cells": int(excluded["cells"].sum()) if len(excluded) else 0,
             "hierarchy_pairs": len(hier)}
    stats["reported_rates"] = len(rates)
    stats["survey_rows"] = len(survey)
    used = _fetch(con, "select distinct submission_id from latest order by 1")
    revisions = _fetch(con, """
        select source_id, country_iso3, subdivision_code, cast(year as bigint) as year, cast(month as bigint) as month,
               national_code, measure, unit, sex, age, relationship, cast(old_value as double) as old_value,
               cast(new_value as double) as new_value, old_submission_id, new_submission_id, old_release_date,
               new_release_date, kind, note
        from revisions order by source_id, country_iso3, subdivision_code nulls first, year, month nulls first,
                 national_code, measure, unit, sex, age, relationship
    """)
    replaced = _fetch(con, "select * from nat_replaced")
    if len(replaced):
        key = ["source_id", "country_iso3", "year"]
        note = replaced.assign(
            _note="national total = sum of subdivisions of the newer release " + replaced["new_submission_id"]
            + " (released " + replaced["new_release_date"] + "); it revises the national figure of "
            + replaced["old_submission_id"] + " (released " + replaced["old_release_date"]
            + "): see published.revisions")[key + ["_note"]]
        out = out.merge(note, on=key, how="left")
        hit = out["_note"].notna() & out["subdivision_code"].isna()
        out.loc[hit, "obs_note"] = np.where(out.loc[hit, "obs_note"].notna(),
                                            out.loc[hit, "obs_note"].astype(str) + "; " + out.loc[hit, "_note"],
                                            out.loc[hit, "_note"])
        out = out.drop(columns="_note")
    stats["revisions"] = len(revisions)
    return HarmoniseResult(indicators=out, cells=cells, excluded=excluded, stats=stats, unused_crosswalk=unused,
                           survey=survey, used=used, revisions=revisions)
