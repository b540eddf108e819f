"""Everything the site reads from the warehouse, in one module: the pages never query the warehouse themselves.

Two sources, one shape:

* **the publication views** (issue 15 item 1) when the warehouse has them: ``published.comparable`` (one
  value per country x subdivision x year x ICCS code x measure x sex x age, chosen by the documented source
  precedence, with the reason, the quality score, the alternatives and the comparability flags),
  ``published.coverage`` and ``published.regional`` (population-weighted regional aggregates);
* otherwise **the views every warehouse has**: ``published.indicators`` (national, annual, all ages), ranked
  here by the same kind of precedence (``FALLBACK_PRECEDENCE``), ``published.quality_summary`` for the quality
  score, and no regional aggregate (the site says so rather than computing its own).

Either way ``comparable()`` returns the columns of ``COMPARABLE_COLUMNS`` (national, all ages, sexes ``_T``, ``F``
and ``M``), and ``headline()`` picks one of its rows per country x year x ICCS code x sex: the lowest precedence
rank, then the measure the ICCS code is usually counted in (victims for homicide, offences otherwise). Every
query is fixed SQL; the only values passed in (a country, an ICCS code) are bound parameters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.settings import Settings

COMPARABLE_COLUMNS = ["country_iso3", "year", "iccs_code", "measure", "sex", "value", "rate_per_100k", "population",
                      "source_id", "precedence_rank", "choice_reason", "quality_score", "months_reported",
                      "full_year", "obs_status", "provisional", "alternatives", "comparability_flags"]
REGIONAL_COLUMNS = ["region_code", "region_name_en", "region_name_es", "region_name_pt", "region_name_fr", "year",
                    "iccs_code", "measure", "sex", "age", "value", "rate_per_100k", "population_covered",
                    "population_region", "coverage_share", "countries_reported", "countries_total",
                    "sufficient_coverage", "flag"]

# The fallback precedence (used only while published.comparable does not exist): the country's own official
# source for a complete, final year, then UNODC's Crime Trends Survey, then the comparison series (World Bank,
# then Our World in Data), and last a provisional or partial national value. Rank -> reason key (translated by
# the site: site.reason.<key>).
FALLBACK_PRECEDENCE = {1: "national_complete", 2: "unodc_cts", 3: "comparison_series", 4: "only_provisional"}
COMPARISON_ORDER = ("wb_wdi", "owid_homicide")
# in which measure each ICCS code is usually compared (UNODC counts homicide victims; other crimes as offences)
VICTIM_CODES_PREFIX = ("0101",)
STATUS_PROVISIONAL = ("P",)
STATUS_BREAK = ("B",)

_FALLBACK_SQL = """
with base as (
    select i.country_iso3, i.year, i.iccs_code, i.measure, i.sex, i.value,
           case when coalesce(i.months_reported, 12) = 12 then i.rate_per_100k end as rate_per_100k,
           i.population, i.source_id, i.months_reported, coalesce(i.months_reported, 12) = 12 as full_year,
           i.obs_status, i.obs_status in ('P') or coalesce(i.months_reported, 12) < 12 as provisional,
           i.comparability, i.derivation
    from published.indicators i
    where i.subdivision_code is null and i.month is null and i.age = '_T' and i.relationship = '_T'
      and i.sex in ('_T', 'F', 'M') and (i.value is not null or i.rate_per_100k is not null)
      and coalesce(i.obs_status, 'A') <> 'M'
), ranked as (
    select *,
           case when comparability = 'national' and not provisional then 1
                when source_id = 'unodc_cts' and not provisional then 2
                when comparability in ('comparison', 'international') and not provisional then 3
                else 4 end as precedence_rank,
           case source_id when 'wb_wdi' then 1 when 'owid_homicide' then 2 else 0 end as series_order
    from base
), ordered as (
    select *, row_number() over (partition by country_iso3, year, iccs_code, measure, sex
                                 order by precedence_rank, series_order, source_id) as pos
    from ranked
), chosen as (select * from ordered where pos = 1)
select c.country_iso3, c.year, c.iccs_code, c.measure, c.sex, c.value, c.rate_per_100k, c.population, c.source_id,
       c.precedence_rank, c.months_reported, c.full_year, c.obs_status, c.provisional, c.derivation,
       (select list({'source_id': o.source_id, 'value': o.value, 'rate_per_100k': o.rate_per_100k,
                     'ratio_to_chosen': case when c.rate_per_100k > 0 and o.rate_per_100k is not null
                                             then o.rate_per_100k / c.rate_per_100k
                                             when c.value > 0 and o.value is not null then o.value / c.value end}
                    order by o.pos)
        from ordered o where o.pos > 1 and o.country_iso3 = c.country_iso3 and o.year = c.year
          and o.iccs_code = c.iccs_code and o.measure = c.measure and o.sex = c.sex) as alternatives
from chosen c
"""


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


@dataclass
class SiteData:
    """A read-only view of the warehouse for the site (``open_site_data``). ``mode`` is ``"publication"`` when
    ``published.comparable`` exists, else ``"fallback"``."""
    settings: Settings
    con: duckdb.DuckDBPyConnection
    views: set[str]
    _cache: dict = field(default_factory=dict)

    # ---- what is there ------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return "publication" if "comparable" in self.views else "fallback"

    def has(self, view: str) -> bool:
        return view in self.views

    def close(self) -> None:
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    # ---- the release ------------------------------------------------------------------------------------
    def release(self) -> dict:
        """``release_id`` and ``published_at`` of the release the warehouse serves."""
        if "release" in self.views:
            row = self.con.execute("select release_id, cast(published_at as varchar) from published.release").fetchone()
            if row:
                return {"release_id": row[0], "published_at": row[1]}
        return {"release_id": None, "published_at": None}

    def releases(self) -> pd.DataFrame:
        """Every committed release, newest first: ``release_id, published_at, n_submissions``."""
        if "releases" not in self.views:
            return _empty(["release_id", "published_at", "n_submissions"])
        return self._df("select release_id, cast(published_at as varchar) as published_at, "
                        "len(submissions) as n_submissions from published.releases order by published_at desc")

    def changelog(self) -> pd.DataFrame:
        """What each release changed (``published.changelog``): ``release_id, kind, submission_id, source_id,
        detail``, newest release first."""
        if "changelog" not in self.views:
            return _empty(["release_id", "kind", "submission_id", "source_id", "detail"])
        return self._df("select release_id, kind, submission_id, source_id, detail from published.changelog "
                        "order by release_id desc, kind, source_id, submission_id")

    def release_diff(self, a: str, b: str) -> pd.DataFrame | None:
        """The values that changed between two releases, from ``pipelines.publication.releases.diff`` when
        that module exists (issue 15 item 3); None otherwise."""
        try:
            from pipelines.publication import releases as rel   # built by another part of issue 15
        except ImportError:
            return None
        fn = getattr(rel, "diff", None)
        return fn(self.settings, a, b) if fn else None

    # ---- reference ----------------------------------------------------------------------------------------
    def countries(self) -> pd.DataFrame:
        """``iso3, m49, name_en, name_es, name_pt, name_fr, subregion`` of every OAS member."""
        key = "countries"
        if key not in self._cache:
            self._cache[key] = self._df("select iso3, m49, name_en, name_es, name_pt, name_fr, subregion "
                                        "from reference.countries order by iso3")
        return self._cache[key]

    def iccs(self) -> pd.DataFrame:
        """``code, level, parent_code, label_en, label_es`` of the ICCS (reference/iccs)."""
        key = "iccs"
        if key not in self._cache:
            self._cache[key] = self._df("select code, level, parent_code, label_en, label_es from reference.iccs "
                                        "order by code")
        return self._cache[key]

    # ---- values -------------------------------------------------------------------------------------------
    def comparable(self) -> pd.DataFrame:
        """One value per country x year x ICCS code x measure x sex (national, all ages), with the columns of
        ``COMPARABLE_COLUMNS`` — from ``published.comparable`` or, without it, from ``published.indicators``
        ranked by ``FALLBACK_PRECEDENCE``."""
        if "comparable" in self._cache:
            return self._cache["comparable"]
        if self.mode == "publication":
            df = self._df("""
                select country_iso3, year, iccs_code, measure, sex, value, rate_per_100k, population, source_id,
                       precedence_rank, choice_reason, quality_score, months_reported, full_year, obs_status,
                       provisional, alternatives, comparability_flags
                from published.comparable
                where subdivision_code is null and age = '_T' and sex in ('_T', 'F', 'M')
                  and (value is not null or rate_per_100k is not null)""")
        else:
            df = self._df(_FALLBACK_SQL)
            df["choice_reason"] = df["precedence_rank"].map(FALLBACK_PRECEDENCE)
            df["comparability_flags"] = [_fallback_flags(r) for r in df.itertuples()]
            q = self.quality_scores()
            df = df.merge(q, on=["country_iso3", "year"], how="left")
            df = df[COMPARABLE_COLUMNS]
        df["year"] = df["year"].astype(int)
        for c in ("alternatives", "comparability_flags"):
            df[c] = [list(v) if isinstance(v, (list, tuple)) or hasattr(v, "tolist") else [] for v in df[c]]
        df["is_break"] = df["obs_status"].isin(STATUS_BREAK) | df["comparability_flags"].map(
            lambda fl: any("break" in str(f) for f in fl))
        df["provisional"] = df["provisional"].fillna(False).astype(bool)
        df["full_year"] = df["full_year"].fillna(True).astype(bool)
        # a rate over fewer than 12 months is not an annual rate: never shown beside annual ones
        df.loc[~df["full_year"], "rate_per_100k"] = None
        self._cache["comparable"] = df
        return df

    def headline(self) -> pd.DataFrame:
        """One row of ``comparable()`` per country x year x ICCS code x sex: a complete, final year before a
        provisional or partial one, then the lowest precedence rank, then the measure the code is usually compared in
        (victims for intentional homicide, offences otherwise).
        The column ``measure`` says which one each row is."""
        if "headline" in self._cache:
            return self._cache["headline"]
        df = self.comparable().copy()
        prefer_victims = df["iccs_code"].str.startswith(VICTIM_CODES_PREFIX)
        df["_m"] = ((df["measure"] == "victims") != prefer_victims).astype(int)
        df["_r"] = df["precedence_rank"].fillna(99)
        df["_p"] = (df["provisional"] | ~df["full_year"]).astype(int)   # a complete year first, whatever the measure
        df = (df.sort_values(["country_iso3", "year", "iccs_code", "sex", "_p", "_r", "_m", "source_id"])
                .drop_duplicates(["country_iso3", "year", "iccs_code", "sex"]).drop(columns=["_m", "_r", "_p"]))
        self._cache["headline"] = df.reset_index(drop=True)
        return self._cache["headline"]

    def quality_scores(self) -> pd.DataFrame:
        """``country_iso3, year, quality_score`` — the mean of the country-year's dimension scores in
        ``published.quality_summary`` (0-100)."""
        q = self.quality()
        q = q[q["score"].notna()]
        if q.empty:
            return _empty(["country_iso3", "year", "quality_score"])
        return (q.groupby(["country_iso3", "year"])["score"].mean().round(1).rename("quality_score")
                .reset_index())

    def quality(self) -> pd.DataFrame:
        """Every country's quality scorecard (read once): ``country_iso3, year, dimension, score, rules_applied,
        rules_failed, basis``."""
        if "quality_summary" not in self.views:
            return _empty(["country_iso3", "year", "dimension", "score", "rules_applied", "rules_failed", "basis"])
        if "quality" not in self._cache:
            self._cache["quality"] = self._df(
                "select country_iso3, year, dimension, score, rules_applied, rules_failed, basis "
                "from published.quality_summary order by country_iso3, year desc, dimension")
        return self._cache["quality"]

    def coverage(self) -> pd.DataFrame | None:
        """``published.coverage`` (country x year x ICCS code: sources, months, population covered, quality
        score) or None when the warehouse does not have it."""
        if "coverage" not in self.views:
            return None
        return self._df("select * from published.coverage")

    def regional(self) -> pd.DataFrame | None:
        """``published.regional`` (the columns of ``REGIONAL_COLUMNS``, national all-ages totals) or None."""
        if "regional" not in self.views:
            return None
        if "regional" not in self._cache:
            df = self._df("select " + ", ".join(REGIONAL_COLUMNS) + " from published.regional "
                          "where sex = '_T' and age = '_T' order by region_code, iccs_code, year")
            df["year"] = df["year"].astype(int)
            self._cache["regional"] = df
        return self._cache["regional"]

    def country_sources(self) -> pd.DataFrame:
        """Which source gives values for which country (national annual): ``country_iso3, source_id, comparability,
        first_year, last_year, n_values``."""
        return self._df("""select country_iso3, source_id, any_value(comparability) as comparability,
                                  min(year) as first_year, max(year) as last_year, count(*) as n_values
                           from published.indicators where subdivision_code is null and month is null
                             and (value is not null or rate_per_100k is not null)
                           group by all order by country_iso3, source_id""")

    def obs_notes(self) -> pd.DataFrame:
        """The notes of series breaks: ``country_iso3, source_id, iccs_code, year, obs_note``."""
        return self._df("""select distinct country_iso3, source_id, iccs_code, year, obs_note
                           from published.indicators where obs_status = 'B' and subdivision_code is null
                             and month is null and obs_note is not null""")

    def practices(self) -> pd.DataFrame | None:
        """``published.practices`` (issue 16) when the warehouse has it: ``practice_id, title_en, title_es,
        country_iso3, iccs_codes, evidence_level`` and what else it holds; None otherwise."""
        if "practices" not in self.views:
            return None
        return self._df("select * from published.practices")


def _fallback_flags(r) -> list[str]:
    flags = []
    if r.derivation == "reported_rate":
        flags.append("rate_as_published")
    if r.derivation == "subdivisions":
        flags.append("sum_of_subdivisions")
    if not r.full_year:
        flags.append("partial_year")
    if r.obs_status in STATUS_PROVISIONAL:
        flags.append("provisional")
    if r.obs_status in STATUS_BREAK:
        flags.append("series_break")
    return flags


def open_site_data(settings: Settings, duckdb_path: Path | None = None) -> SiteData:
    """The warehouse opened read-only for the site (``duckdb_path`` default: the settings' ``hemistat.duckdb``);
    raises FileNotFoundError naming the file when nothing is published yet."""
    from pipelines.storage.release import connect

    path = Path(duckdb_path or settings.duckdb_path)
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: publish first (hemistat run, or hemistat publish)")
    con = connect(path, read_only=True)
    views = {r[0] for r in con.execute(
        "select view_name from duckdb_views() where schema_name = 'published' and not internal "
        "union select table_name from duckdb_tables() where schema_name = 'published'").fetchall()}
    return SiteData(settings=settings, con=con, views=views)


def release_json(settings: Settings) -> dict:
    """The current release's ``release.json`` (tables, row counts …) or {}."""
    from pipelines.storage.release import release_metadata

    meta = release_metadata(settings.published_dir)
    return json.loads(json.dumps(meta, default=str)) if meta else {}
