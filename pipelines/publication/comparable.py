"""One comparable value per key, the coverage of each country-year, and regional aggregates (issue 15 item 1).

Published in the same atomic release as the indicators (provider ``tables`` in
``pipelines/pipeline/extra_tables.py``; views in ``warehouse/views/50_comparable.sql``):

* ``comparable`` — one row per country_iso3 x subdivision_code (NULL = national) x year x iccs_code x measure x
  sex x age (annual values, relationship ``_T``): the value of the source chosen by the precedence kept as data
  in ``reference/precedence.yaml`` (``load_precedence``), the reason for the choice (``choice_code`` and a
  sentence ``choice_reason``), the quality score of the country-year (``published.quality_summary``, the mean of
  its dimensions), the other sources' values (``alternatives``, with their ratio to the chosen one) and the
  comparability flags.
* ``coverage`` — country x year x ICCS code: the sources, months reported, population and population covered,
  quality score.
* ``regional`` — UN M49 regions of the Americas (``reference/regions/``): population-weighted rates over the
  member states with a complete-year national value, the share of the region's population they hold, and a
  flag when that share is below ``reference/regions/aggregation.yaml`` (then the rate is NULL, never filled in).
* ``regions`` and ``region_members`` — the region list and membership the aggregates used.

The choice, for each key (documented in docs/PUBLICATION.md):
  1. a complete year (12 months reported, ``obs_status`` not ``P``) wins over a provisional or partial one,
     whatever the ranks;
  2. the lower rank of ``reference/precedence.yaml``;
  3. within a rank the source's higher quality score for that country-year, then the source id.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from pipelines import yamlio
from pipelines.settings import Settings

PRECEDENCE_FILE = "precedence.yaml"
KEY = ["country_iso3", "subdivision_code", "year", "iccs_code", "measure", "sex", "age"]
RANK_UNRANKED = 999

COMPARABLE_COLUMNS = [
    "country_iso3", "subdivision_code", "subdivision_name", "year", "iccs_code", "measure", "sex", "age",
    "value", "rate_per_100k", "partial_period_rate_per_100k", "population", "source_id", "source_comparability",
    "precedence_rank", "choice_code", "choice_reason", "quality_score", "source_quality_score",
    "months_reported", "full_year", "obs_status", "obs_note", "provisional", "n_sources", "alternatives",
    "comparability_flags", "submission_id", "counted_as"]


class PrecedenceError(ValueError):
    """reference/precedence.yaml (or the regions' reference files) cannot be used: names the file, line and reason."""


@dataclass
class Precedence:
    path: Path
    ranks: list[dict]
    flags: dict
    source_rank: dict[str, int] = field(default_factory=dict)
    substitutes: list[dict] = field(default_factory=list)

    def substitutes_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.substitutes or [], columns=["iccs_code", "measure", "use_measure", "reason"])

    def frame(self, comparability: dict[str, str]) -> pd.DataFrame:
        """source_id, rank, label, comparability (of the source's spec) — one row per ranked source."""
        rows = [{"source_id": s, "precedence_rank": r["rank"], "rank_label": r["label"],
                 "source_comparability": comparability.get(s)} for r in self.ranks for s in r["sources"]]
        return pd.DataFrame(rows, columns=["source_id", "precedence_rank", "rank_label", "source_comparability"])


def known_sources(settings: Settings) -> dict[str, str]:
    """source_id -> comparability (national, international, comparison, survey) of every spec in
    reference/sources/ (read as plain YAML: a spec that does not validate is still a source)."""
    out = {}
    for p in sorted(settings.sources_dir.glob("*.yaml")):
        try:
            doc = yamlio.load(p.read_text("utf-8")) or {}
        except yaml.YAMLError:
            doc = {}
        out[p.stem] = (doc.get("comparability") if isinstance(doc, dict) else None) or "national"
    return out


def load_precedence(settings: Settings, path: Path | None = None) -> Precedence:
    """Read and check ``reference/precedence.yaml``: every rank has a number, a label, a reason and sources;
    every source id exists in reference/sources/ and appears once. Errors name the file and the line."""
    path = Path(path or settings.reference_dir / PRECEDENCE_FILE)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise PrecedenceError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        root = yaml.compose(text)
        doc = yamlio.load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark else ""
        raise PrecedenceError(f"{path}{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("ranks"), list) or not doc["ranks"]:
        raise PrecedenceError(f"{path}: needs a non-empty list `ranks:`")
    top = sorted(set(doc) - {"version", "ranks", "flags", "measure_substitutes"})
    if top:
        raise PrecedenceError(f"{path}: unknown key(s) {top} (allowed: version, ranks, flags, measure_substitutes)")

    def node(mapping, key):
        for k, v in mapping.value:
            if k.value == key:
                return v
        return None

    rank_nodes = node(root, "ranks").value
    known = known_sources(settings)
    seen: dict[str, int] = {}
    ranks, numbers = [], set()
    for i, (r, rn) in enumerate(zip(doc["ranks"], rank_nodes)):
        where = f"{path}, line {rn.start_mark.line + 1}"
        if not isinstance(r, dict):
            raise PrecedenceError(f"{where}: each rank is a mapping with rank, label, reason, sources")
        unknown_keys = sorted(set(r) - {"rank", "label", "reason", "sources"})
        if unknown_keys:
            raise PrecedenceError(f"{where}: unknown key(s) {unknown_keys} (allowed: rank, label, reason, sources)")
        if not isinstance(r.get("rank"), int) or isinstance(r.get("rank"), bool) or r["rank"] < 1:
            raise PrecedenceError(f"{where}: `rank` must be a whole number >= 1")
        if r["rank"] in numbers:
            raise PrecedenceError(f"{where}: rank {r['rank']} is given twice")
        numbers.add(r["rank"])
        for k in ("label", "reason"):
            if not isinstance(r.get(k), str) or not r[k].strip():
                raise PrecedenceError(f"{where}: rank {r['rank']} needs a `{k}` (why this rank: it is published "
                                      "with every value chosen by it)")
        srcs = r.get("sources")
        if not isinstance(srcs, list) or not srcs:
            raise PrecedenceError(f"{where}: rank {r['rank']} needs a non-empty list `sources`")
        src_nodes = node(rn, "sources").value
        for s, sn in zip(srcs, src_nodes):
            at = f"{path}, line {sn.start_mark.line + 1}"
            if s not in known:
                raise PrecedenceError(f"{at}: unknown source {s!r} in rank {r['rank']} (no reference/sources/{s}.yaml; "
                                      f"known: {', '.join(sorted(known))})")
            if s in seen:
                raise PrecedenceError(f"{at}: source {s!r} is ranked twice (ranks {seen[s]} and {r['rank']})")
            seen[s] = r["rank"]
        ranks.append({"rank": r["rank"], "label": r["label"].strip(), "reason": " ".join(r["reason"].split()),
                      "sources": list(srcs)})
    flags = doc.get("flags") or {}
    defaults = {"disagreement_ratio": 1.25, "small_population": 100000}
    unknown_flags = sorted(set(flags) - set(defaults))
    if unknown_flags:
        raise PrecedenceError(f"{path}: unknown key(s) under flags: {unknown_flags} (allowed: {sorted(defaults)})")
    flags = {**defaults, **flags}
    if not isinstance(flags["disagreement_ratio"], (int, float)) or flags["disagreement_ratio"] <= 1:
        raise PrecedenceError(f"{path}: flags.disagreement_ratio must be a number > 1")
    if not isinstance(flags["small_population"], (int, float)) or flags["small_population"] < 0:
        raise PrecedenceError(f"{path}: flags.small_population must be a number >= 0")
    subst = []
    sub_node = node(root, "measure_substitutes")
    for i, m in enumerate(doc.get("measure_substitutes") or []):
        where = f"{path}, line {sub_node.value[i].start_mark.line + 1}"
        if not isinstance(m, dict) or set(m) != {"iccs_code", "measure", "use", "reason"}:
            raise PrecedenceError(f"{where}: a measure substitute has exactly iccs_code, measure, use and reason")
        for k in ("measure", "use"):
            if m[k] not in MEASURES:
                raise PrecedenceError(f"{where}: {k} {m[k]!r} is not a measure ({', '.join(MEASURES)})")
        if m["measure"] == m["use"]:
            raise PrecedenceError(f"{where}: measure and use are the same ({m['use']!r})")
        codes = iccs_codes(settings)
        if str(m["iccs_code"]) not in codes:
            raise PrecedenceError(f"{where}: unknown ICCS code {m['iccs_code']!r} (not in reference/iccs/iccs.csv)")
        subst.append({"iccs_code": str(m["iccs_code"]), "measure": m["measure"], "use_measure": m["use"],
                      "reason": " ".join(str(m["reason"]).split())})
    return Precedence(path=path, ranks=sorted(ranks, key=lambda r: r["rank"]), flags=flags, source_rank=seen,
                      substitutes=subst)


MEASURES = ("offences", "victims")


def iccs_codes(settings: Settings) -> set[str]:
    import csv

    with open(settings.reference_dir / "iccs" / "iccs.csv", encoding="utf-8", newline="") as f:
        return {r["code"] for r in csv.DictReader(f)}


def load_aggregation(settings: Settings) -> dict:
    path = settings.reference_dir / "regions" / "aggregation.yaml"
    try:
        doc = yamlio.load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PrecedenceError(f"{path}: cannot be read: {exc}") from None
    share = doc.get("min_population_share")
    if not isinstance(share, (int, float)) or isinstance(share, bool) or not 0 < share <= 1:
        raise PrecedenceError(f"{path}: min_population_share must be a number in (0, 1], found {share!r}")
    return {"min_population_share": float(share), "reason": " ".join(str(doc.get("reason", "")).split())}


def region_tables(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(regions, membership) from reference/regions/ (built by ``python -m tools.refbuild.regions``)."""
    d = settings.reference_dir / "regions"
    regions = pd.read_csv(d / "m49_regions.csv", dtype=str, keep_default_na=False)
    members = pd.read_csv(d / "membership.csv", dtype=str, keep_default_na=False)
    unknown = sorted(set(members["region_code"]) - set(regions["region_code"]))
    if unknown:
        raise PrecedenceError(f"{d / 'membership.csv'}: region code(s) {unknown} not in m49_regions.csv")
    return regions, members


# --------------------------------------------------------------------------------------------------------------
# quality scores: the existing definitions of warehouse/views/20_quality.sql, evaluated on the release's tables
# --------------------------------------------------------------------------------------------------------------

QUALITY_TABLES = ("quality_rules", "quality_failures", "quality_coverage", "submissions", "cells")


def quality_scores(settings: Settings, tables: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(country x year -> quality_score, source x country x year -> source_quality_score): the mean of the
    dimension scores of ``published.quality_summary`` / ``quality_summary_by_source``, computed by the very
    views of ``warehouse/views/20_quality.sql`` over the tables of the release being written."""
    empty = (pd.DataFrame(columns=["country_iso3", "year", "quality_score"]),
             pd.DataFrame(columns=["source_id", "country_iso3", "year", "source_quality_score"]))
    if any(t not in tables for t in QUALITY_TABLES):
        return empty
    tmp = Path(tempfile.mkdtemp(prefix="hemistat-quality-"))
    try:
        for name in QUALITY_TABLES:
            v = tables[name]
            if isinstance(v, Path):
                try:
                    (tmp / f"{name}.parquet").symlink_to(Path(v).resolve())
                except OSError:
                    shutil.copyfile(v, tmp / f"{name}.parquet")
            else:
                v.to_parquet(tmp / f"{name}.parquet", index=False)
        con = duckdb.connect(config=_bounded())
        try:
            con.execute("create schema published")
            for name in ("quality_rules", "quality_failures", "submissions", "cells"):   # fixed names
                # the file is read through the relational API (no path in SQL text), then named in the schema
                # the views read
                con.read_parquet(str(tmp / f"{name}.parquet")).create_view("_" + name)
                con.execute("create view published." + name + " as select * from _" + name)
            sql = (settings.views_dir / "20_quality.sql").read_text("utf-8").replace("{{release_dir}}", tmp.as_posix())
            con.execute(sql)
            cy = con.execute("select country_iso3, year, round(avg(score), 1) as quality_score "
                             "from published.quality_summary group by all").df()
            scy = con.execute("select source_id, country_iso3, year, round(avg(score), 1) as source_quality_score "
                              "from published.quality_summary_by_source group by all").df()
        finally:
            con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cy, scy


# --------------------------------------------------------------------------------------------------------------
# comparable
# --------------------------------------------------------------------------------------------------------------

_CANDIDATES_SQL = """
with base as (
    select i.country_iso3, i.subdivision_code, coalesce(i.subdivision_code, '') as sub_key, i.subdivision_name,
           cast(i.year as bigint) as year, i.iccs_code,
           i.measure, i.sex, i.age, cast(i.value as double) as value, cast(i.rate_per_100k as double) as rate,
           cast(i.population as double) as population, i.source_id, i.submission_id, i.obs_status, i.obs_note,
           cast(coalesce(i.months_reported, 12) as integer) as months_reported
    from ind_src i
    where i.month is null and coalesce(i.relationship, '_T') = '_T'
      and (i.value is not null or i.rate_per_100k is not null)
),
-- measure_substitutes: a source without the key's measure takes part with the substitute measure's value
stand_in as (
    select b.* replace (s.measure as measure), true as substitute, b.measure as counted_as
    from base b join subst s on s.iccs_code = b.iccs_code and s.use_measure = b.measure
    anti join base x on x.source_id = b.source_id and x.country_iso3 = b.country_iso3 and x.sub_key = b.sub_key
                    and x.year = b.year and x.iccs_code = b.iccs_code and x.measure = s.measure
                    and x.sex = b.sex and x.age = b.age
),
ind as (
    select *, false as substitute, measure as counted_as from base
    union all by name
    select * from stand_in
),
c as (
    select ind.*, coalesce(p.precedence_rank, {unranked}) as precedence_rank,
           coalesce(p.rank_label, 'a source without a rank in reference/precedence.yaml') as rank_label,
           coalesce(p.source_comparability, sc.comparability) as source_comparability,
           p.precedence_rank is null as unranked,
           (ind.months_reported >= 12 and coalesce(ind.obs_status, 'A') <> 'P') as complete,
           q.source_quality_score
    from ind
    left join prec p using (source_id)
    left join src_comp sc using (source_id)
    left join sq q on q.source_id = ind.source_id and q.country_iso3 = ind.country_iso3 and q.year = ind.year
),
o as (
    select c.*,
           row_number() over w as ord,
           count(*) over k as n_sources,
           first_value(source_id) over w as ch_source,
           first_value(precedence_rank) over w as ch_rank,
           first_value(complete) over w as ch_complete,
           first_value(source_quality_score) over w as ch_q,
           first_value(case when months_reported >= 12 then rate end) over w as ch_rate,
           first_value(value) over w as ch_value
    from c
    window k as (partition by country_iso3, subdivision_code, year, iccs_code, measure, sex, age),
           w as (partition by country_iso3, subdivision_code, year, iccs_code, measure, sex, age
                 order by complete desc, precedence_rank, substitute, source_quality_score desc nulls last,
                          source_id
                 rows between unbounded preceding and unbounded following)
),
r as (
    select o.*,
        case when ord = 1 then null
             when months_reported >= 12 and rate is not null and ch_rate is not null and ch_rate <> 0
                 then rate / ch_rate
             when complete and ch_complete and value is not null and ch_value is not null and ch_value <> 0
                 then value / ch_value end as ratio_to_chosen
    from o
)
select
    country_iso3, subdivision_code, year, iccs_code, measure, sex, age,
    any_value(subdivision_name) filter (where ord = 1) as subdivision_name,
    any_value(value) filter (where ord = 1) as value,
    any_value(case when months_reported >= 12 then rate end) filter (where ord = 1) as rate_per_100k,
    any_value(case when months_reported < 12 then rate end) filter (where ord = 1) as partial_period_rate_per_100k,
    any_value(population) filter (where ord = 1) as population,
    any_value(source_id) filter (where ord = 1) as source_id,
    any_value(source_comparability) filter (where ord = 1) as source_comparability,
    any_value(precedence_rank) filter (where ord = 1) as precedence_rank,
    any_value(rank_label) filter (where ord = 1) as rank_label,
    any_value(unranked) filter (where ord = 1) as unranked,
    any_value(source_quality_score) filter (where ord = 1) as source_quality_score,
    any_value(months_reported) filter (where ord = 1) as months_reported,
    any_value(complete) filter (where ord = 1) as complete,
    any_value(obs_status) filter (where ord = 1) as obs_status,
    any_value(obs_note) filter (where ord = 1) as obs_note,
    any_value(submission_id) filter (where ord = 1) as submission_id,
    any_value(substitute) filter (where ord = 1) as substitute,
    any_value(counted_as) filter (where ord = 1) as counted_as,
    max(n_sources) as n_sources,
    -- the better-ranked sources passed over because their year is partial or provisional
    list(source_id || ' (' || case when months_reported < 12 then months_reported || ' months reported'
                                   else 'provisional' end || ')' order by precedence_rank, source_id)
        filter (where ord > 1 and not complete and precedence_rank < ch_rank) as passed_over_incomplete,
    list(source_id || ' (rank ' || precedence_rank
         || case when substitute then ', counting ' || counted_as else '' end || ')' order by ord)
        filter (where ord > 1) as others,
    count(*) filter (where ord > 1 and precedence_rank = ch_rank and complete = ch_complete
                     and not substitute) as same_rank_others,
    list(struct_pack(source_id := source_id, value := value,
                     rate_per_100k := case when months_reported >= 12 then rate end,
                     ratio_to_chosen := ratio_to_chosen, months_reported := months_reported,
                     obs_status := obs_status, precedence_rank := precedence_rank,
                     counted_as := counted_as) order by ord)
        filter (where ord > 1) as alternatives,
    bool_or(ord > 1 and ratio_to_chosen is not null
            and (ratio_to_chosen > {ratio} or ratio_to_chosen < 1.0 / {ratio})) as disagree
from r
group by all
"""

_SENTENCE_SQL = """
with coded as (
    select t.*,
        case when unranked then 'unranked_source'
             when n_sources = 1 then 'only_source'
             when not complete then 'all_incomplete'
             when len(passed_over_incomplete) > 0 then 'complete_over_partial'
             when same_rank_others > 0 then 'quality_tiebreak'
             else 'precedence' end as choice_code,
        array_to_string(coalesce(others, []), ', ') as others_text,
        source_id || ' (' || coalesce(rank_label, 'None') || ', rank ' || cast(precedence_rank as varchar) || ')'
            as ranked_as
    from t
)
select c.* exclude (others_text, ranked_as),
    case choice_code
        when 'unranked_source' then source_id || ' has no rank in reference/precedence.yaml; it is used because no '
             || 'ranked source has this value' || case when others_text <> '' then ' (other sources: ' || others_text
             || ').' else '.' end
        when 'only_source' then 'Only ' || ranked_as || ' publishes this value.'
        when 'all_incomplete' then case when others_text <> ''
             then ranked_as || ' chosen although its year is partial or provisional: no source has the complete '
                  || 'year; it ranks first among ' || others_text || '.'
             else source_id || ' chosen although its year is partial or provisional.' end
        when 'complete_over_partial' then ranked_as || ' chosen because it has the complete year, while '
             || array_to_string(coalesce(passed_over_incomplete, []), ', ') || ', ranked higher, has only a partial '
             || 'or provisional year; a partial year never wins over a complete one.'
        when 'quality_tiebreak' then ranked_as || ' chosen over a source of the same rank by its higher quality '
             || 'score for this country-year (' || coalesce(cast(source_quality_score as varchar), 'n/a')
             || '); others: ' || others_text || '.'
        else ranked_as || ' chosen: it ranks above ' || others_text || ' in reference/precedence.yaml.'
    end || case when substitute then ' ' || source_id || ' counts ' || counted_as || ', not ' || measure || ': its '
                     || counted_as || ' stand in for ' || measure || ' (reference/precedence.yaml, measure_substitutes).'
                else '' end as choice_reason,
    q.quality_score,
    coalesce(months_reported >= 12, false) as full_year,
    not coalesce(complete, false) as provisional,
    list_filter([
        case when obs_status = 'P' then 'provisional' end,
        case when months_reported < 12 then 'partial_year' end,
        case when obs_status = 'B' then 'series_break' end,
        case when source_comparability = 'comparison' then 'comparison_series' end,
        case when unranked then 'unranked_source' end,
        case when substitute then 'counting_unit_substitute' end,
        case when value is null or isnan(value) then 'rate_only' end,
        case when rate_per_100k is null or isnan(rate_per_100k) then 'no_annual_rate' end,
        case when disagree then 'sources_disagree' end,
        case when population < ? then 'small_population' end], lambda x: x is not null) as comparability_flags
from coded c
left join cq q on q.country_iso3 = c.country_iso3 and q.year = c.year
"""

# the published columns with fixed types whatever the data (an empty list is [], never NULL), in KEY order
_TYPES = {"year": "bigint", "precedence_rank": "bigint", "months_reported": "bigint", "n_sources": "bigint",
          "full_year": "boolean", "provisional": "boolean"}
_COMPARABLE_SQL = ("with sentence as (" + _SENTENCE_SQL + ")\nselect " + ", ".join(
    f"cast({c} as {_TYPES[c]}) as {c}" if c in _TYPES else
    f"coalesce({c}, []) as {c}" if c in ("alternatives", "comparability_flags") else c
    for c in COMPARABLE_COLUMNS) + "\nfrom sentence\norder by " + ", ".join(k + " nulls first" for k in KEY) + "\n")
# (only fixed column names are placed in the SQL: COMPARABLE_COLUMNS and KEY)


def _lst(x) -> list:
    """A list column's cell as a list (DuckDB gives NULL for an empty filtered list)."""
    if x is None or x is pd.NA or (isinstance(x, float) and x != x):
        return []
    return list(x)


def _bounded() -> dict:
    """DuckDB's settings for this module's work: memory bounded like the rest of the pipeline."""
    from pipelines.settings import get_settings

    return get_settings().duckdb_config()


def build_comparable(indicators, prec: Precedence, source_comparability: dict[str, str],
                     country_quality: pd.DataFrame | None = None,
                     source_quality: pd.DataFrame | None = None, out: Path | None = None) -> pd.DataFrame | Path:
    """``indicators``: a Parquet path or a DataFrame with the columns of published.indicators. Returns the
    ``comparable`` table (COMPARABLE_COLUMNS), one row per KEY: written by DuckDB straight to the Parquet file
    ``out`` (replaced atomically) when given — the publish does so, so that the table never passes through
    pandas (at 12 M rows that held the whole ordered result twice: 4.2 GiB) — else as a DataFrame."""
    con = duckdb.connect(config=_bounded())
    try:
        if isinstance(indicators, (str, Path)):
            con.read_parquet(str(indicators)).create_view("ind_src")
        else:
            con.register("ind_src", indicators)
        con.register("prec", prec.frame(source_comparability))
        con.register("subst", prec.substitutes_frame())
        con.register("src_comp", pd.DataFrame({"source_id": list(source_comparability),
                                               "comparability": list(source_comparability.values())}))
        sq = source_quality if source_quality is not None and len(source_quality) else \
            pd.DataFrame({"source_id": pd.Series(dtype=str), "country_iso3": pd.Series(dtype=str),
                          "year": pd.Series(dtype="int64"), "source_quality_score": pd.Series(dtype=float)})
        con.register("sq", sq.astype({"year": "int64", "source_quality_score": "float64"}))
        sql = _CANDIDATES_SQL.format(unranked=RANK_UNRANKED, ratio=float(prec.flags["disagreement_ratio"]))
        con.execute("create temp table t as " + sql)
        cq = country_quality if country_quality is not None and len(country_quality) else \
            pd.DataFrame({"country_iso3": pd.Series(dtype=str), "year": pd.Series(dtype="int64"),
                          "quality_score": pd.Series(dtype=float)})
        con.register("cq", cq[["country_iso3", "year", "quality_score"]].astype({"year": "int64"}))
        # the reasons, flags and order in DuckDB: row by row in pandas they took half of a 12 M-row publish
        # (86 -> 44 s, bench 2026-11-30)
        rel = con.sql(_COMPARABLE_SQL, params=[float(prec.flags["small_population"])])
        if out is not None:
            out = Path(out)
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(out.name + ".part")
            rel.write_parquet(str(tmp), compression="zstd")
            os.replace(tmp, out)   # a release holding a link to the previous file keeps it
            return out
        df = rel.df()
    finally:
        con.close()
    df["alternatives"] = df["alternatives"].map(_lst)
    df["comparability_flags"] = df["comparability_flags"].map(_lst)
    out = df[COMPARABLE_COLUMNS]
    return out.astype({"year": "int64", "precedence_rank": "int64", "months_reported": "int64",
                       "n_sources": "int64", "full_year": bool, "provisional": bool})


# --------------------------------------------------------------------------------------------------------------
# coverage
# --------------------------------------------------------------------------------------------------------------

def _register_comparable(con: duckdb.DuckDBPyConnection, comparable: pd.DataFrame | Path, columns: list[str]) -> None:
    """View ``cmp``: these columns of the comparable table, a DataFrame or a Parquet file read in place."""
    if isinstance(comparable, (str, Path)):
        con.read_parquet(str(comparable)).select(*columns).create_view("cmp")
    else:
        con.register("cmp", comparable[columns])


def build_coverage(comparable: pd.DataFrame | Path, population: pd.DataFrame,
                   country_quality: pd.DataFrame | None = None) -> pd.DataFrame:
    """country x year x ICCS code (totals: sex and age ``_T``, every measure): the sources that publish a value
    (chosen or alternative), months reported (most among the chosen values), the national population (reference
    population), the population covered (the whole population when a national value exists; else the sum of
    the populations of the subdivisions with a value, at most the national population) and the quality score."""
    con = duckdb.connect(config=_bounded())
    try:
        _register_comparable(con, comparable, [c for c in COMPARABLE_COLUMNS if c != "comparability_flags"])
        con.register("pop", population[["country_iso3", "year", "population"]].astype({"year": "int64"}))
        cq = country_quality if country_quality is not None else pd.DataFrame(
            {"country_iso3": pd.Series(dtype=str), "year": pd.Series(dtype="int64"),
             "quality_score": pd.Series(dtype=float)})
        con.register("cq", cq.astype({"year": "int64"}))
        df = con.execute("""
            with t as (select * from cmp where sex = '_T' and age = '_T'),
            src as (
                select country_iso3, year, iccs_code, source_id from t
                union select country_iso3, year, iccs_code, unnest(alternatives).source_id from t),
            nat as (
                select country_iso3, year, iccs_code, max(months_reported) as months_reported,
                       bool_or(full_year) as full_year, list(distinct source_id order by source_id) as chosen_sources,
                       list(distinct measure order by measure) as measures
                from t where subdivision_code is null group by all),
            sub as (
                select country_iso3, year, iccs_code, count(distinct subdivision_code) as subdivisions_reported,
                       sum(population) as sub_population, max(months_reported) as sub_months
                from (select distinct country_iso3, year, iccs_code, subdivision_code,
                             max(population) as population, max(months_reported) as months_reported
                      from t where subdivision_code is not null group by all)
                group by all),
            keys as (select distinct country_iso3, year, iccs_code from t)
            select k.country_iso3, k.year, k.iccs_code,
                   (select list(distinct s.source_id order by s.source_id) from src s
                    where s.country_iso3 = k.country_iso3 and s.year = k.year and s.iccs_code = k.iccs_code) as sources,
                   n.chosen_sources, n.measures,
                   coalesce(n.months_reported, sub.sub_months) as months_reported,
                   coalesce(n.full_year, sub.sub_months >= 12) as full_year,
                   p.population,
                   case when n.country_iso3 is not null then p.population
                        else least(sub.sub_population, coalesce(p.population, sub.sub_population)) end
                       as population_covered,
                   sub.subdivisions_reported,
                   n.country_iso3 is not null as national_value,
                   q.quality_score
            from keys k
            left join nat n using (country_iso3, year, iccs_code)
            left join sub using (country_iso3, year, iccs_code)
            left join pop p using (country_iso3, year)
            left join cq q using (country_iso3, year)
            order by 1, 2, 3""").df()
    finally:
        con.close()
    df["coverage_share"] = (df["population_covered"] / df["population"]).where(df["population"] > 0)
    return df


# --------------------------------------------------------------------------------------------------------------
# regional aggregates
# --------------------------------------------------------------------------------------------------------------

REGIONAL_COLUMNS = [
    "region_code", "region_name_en", "region_name_es", "region_name_pt", "region_name_fr", "year", "iccs_code",
    "measure", "sex", "age", "value", "rate_per_100k", "rate_reporting_countries_per_100k", "population_covered",
    "population_region", "coverage_share", "countries_reported", "countries_total", "countries_rate_only",
    "countries_provisional", "countries", "sufficient_coverage", "min_population_share", "flag"]


def build_regional(comparable: pd.DataFrame | Path, population: pd.DataFrame, regions: pd.DataFrame,
                   members: pd.DataFrame, min_share: float) -> pd.DataFrame:
    """Population-weighted aggregates over the member states with a national, complete-year comparable value:
    ``value`` = sum of counts (a rate-only value counts as rate x population / 1e5, its implied count: the same
    population-weighted mean), ``rate_per_100k`` = value / population_covered x 1e5 with the reference
    population of those countries. ``coverage_share`` = population_covered / population of every member state
    of the region that year. Below ``min_share`` the row stays (counts, countries) with ``rate_per_100k`` NULL
    and flag ``insufficient_coverage``; sex-specific rows have no rate (no population by sex in reference):
    flag ``no_population_by_sex``. Nothing is imputed for a country that did not report."""
    con = duckdb.connect(config=_bounded())
    try:
        _register_comparable(con, comparable, ["country_iso3", "subdivision_code", "year", "iccs_code", "measure",
                                               "sex", "age", "value", "rate_per_100k", "full_year", "provisional"])
        con.register("pop", population[["country_iso3", "year", "population"]].astype({"year": "int64"}))
        con.register("reg", regions)
        con.register("mem", members)
        df = con.execute("""
            with nat as (
                select c.*, p.population as ref_population,
                       coalesce(c.value, c.rate_per_100k * p.population / 1e5) as count_used
                from cmp c join pop p using (country_iso3, year)
                where c.subdivision_code is null and c.full_year and p.population > 0
                  and (c.value is not null or c.rate_per_100k is not null)),
            regpop as (
                select m.region_code, p.year, sum(p.population) as population_region, count(*) as countries_with_pop
                from mem m join pop p on p.country_iso3 = m.iso3 group by all),
            agg as (
                select m.region_code, n.year, n.iccs_code, n.measure, n.sex, n.age,
                       sum(n.count_used) as value, sum(n.ref_population) as population_covered,
                       count(*) as countries_reported,
                       count(*) filter (where n.value is null) as countries_rate_only,
                       count(*) filter (where n.provisional) as countries_provisional,
                       list(n.country_iso3 order by n.country_iso3) as countries
                from nat n join mem m on m.iso3 = n.country_iso3 group by all)
            select a.region_code, r.name_en as region_name_en, r.name_es as region_name_es,
                   r.name_pt as region_name_pt, r.name_fr as region_name_fr, a.year, a.iccs_code, a.measure,
                   a.sex, a.age, a.value, a.population_covered, rp.population_region,
                   a.population_covered / rp.population_region as coverage_share,
                   a.countries_reported,
                   (select count(*) from mem m2 where m2.region_code = a.region_code) as countries_total,
                   a.countries_rate_only, a.countries_provisional, a.countries,
                   a.value / a.population_covered * 1e5 as rate_reporting
            from agg a join reg r using (region_code)
            left join regpop rp on rp.region_code = a.region_code and rp.year = a.year
            order by a.region_code, a.iccs_code, a.measure, a.sex, a.age, a.year""").df()
    finally:
        con.close()
    df["sufficient_coverage"] = (df["coverage_share"] >= min_share).fillna(False).astype(bool)
    df["min_population_share"] = float(min_share)
    total = df["sex"] == "_T"
    df["rate_reporting_countries_per_100k"] = df["rate_reporting"].where(total)
    df["rate_per_100k"] = df["rate_reporting_countries_per_100k"].where(df["sufficient_coverage"])
    df["flag"] = None
    df.loc[~df["sufficient_coverage"], "flag"] = "insufficient_coverage"
    df.loc[df["sufficient_coverage"] & ~total, "flag"] = "no_population_by_sex"
    df["flag"] = df["flag"].astype(object)
    return df[REGIONAL_COLUMNS].astype({"year": "int64", "countries_reported": "int64", "countries_total": "int64",
                                        "countries_rate_only": "int64", "countries_provisional": "int64"})


# --------------------------------------------------------------------------------------------------------------
# provider (pipelines/pipeline/extra_tables.py)
# --------------------------------------------------------------------------------------------------------------

def tables(settings: Settings, planned: dict) -> dict:
    """The provider: comparable, coverage, regional, regions, region_members, precedence (name -> DataFrame)."""
    from pipelines.harmonise import reference as ref

    prec = load_precedence(settings)
    agg = load_aggregation(settings)
    regions, members = region_tables(settings)
    comp = known_sources(settings)
    cq, sq = quality_scores(settings, planned)
    # written straight to Parquet (data/tmp/publish, replaced at each publish; the release links or copies it)
    comparable = build_comparable(planned["indicators"], prec, comp, cq, sq,
                                  out=settings.data_dir / "tmp" / "publish" / "comparable.parquet")
    pop = ref.preferred_national_population(ref.population_national(settings.reference_dir))
    coverage = build_coverage(comparable, pop, cq)
    regional = build_regional(comparable, pop, regions, members, agg["min_population_share"])
    precedence = pd.DataFrame([{"precedence_rank": r["rank"], "label": r["label"], "reason": r["reason"],
                                "source_id": s, "source_comparability": comp.get(s)}
                               for r in prec.ranks for s in r["sources"]])
    return {"comparable": comparable, "coverage": coverage, "regional": regional, "regions": regions,
            "region_members": members, "precedence": precedence}
