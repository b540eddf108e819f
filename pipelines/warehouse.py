"""The analysts' entry point to the published warehouse (issue 15 item 5).

    from pipelines import warehouse
    con = warehouse.connect()                      # read-only DuckDB connection: published.*, reference.*
    con.execute("select * from published.regional where region_code = ?", ["019"]).df()

    warehouse.comparable(iccs="0101", countries=["ARG", "MEX"], years=range(2015, 2025), sex="_T")
    warehouse.regional(iccs="0101", regions="019", years=(2015, 2024))
    warehouse.series("MEX", iccs="0101")          # one country's comparable series, with its alternatives
    warehouse.quality(countries=None, years=None)  # the quality score per country-year and dimension
    warehouse.coverage(iccs="0101")
    warehouse.indicators(iccs="0101", countries="ARG", sources="ar_snic")

Every helper returns a pandas DataFrame (``arrow=True``: a pyarrow Table) and takes the common filters — ICCS
code, countries, years (an int, a list, a range, or ``(first, last)``), sex, measure — as **bound parameters**,
never pasted into the SQL. The connection is opened read-only on ``hemistat.duckdb`` with its views' relative file
names resolved in the data folder (``pipelines.storage.release.connect``), and locked down
(``pipelines.storage.readonly``: no file outside the published folder, no extension, no ``SET``). Publishing
never changes a file an open connection reads: a new release is a new folder and the database file is swapped
atomically, so a connection keeps answering from the release it opened; open a new one to see a newer release.

Settings (the data folder) are read at call time from the environment (``HEMISTAT_DATA_DIR``), or pass
``settings=`` or ``data_dir=``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

import duckdb

from pipelines.settings import Settings, get_settings

__all__ = ["connect", "query", "comparable", "regional", "coverage", "series", "quality", "indicators",
           "releases", "release_diff"]


def _settings(settings: Settings | None = None, data_dir: str | Path | None = None) -> Settings:
    if settings is not None:
        return settings
    s = get_settings()
    if data_dir is not None:
        s = s.model_copy(update={"data_dir": Path(data_dir)})
    return s


def connect(settings: Settings | None = None, *, data_dir: str | Path | None = None,
            locked: bool = True) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse. ``locked`` (default): restricted to the published
    folder (no other file, no extension, configuration locked); ``locked=False``: only read-only (e.g. to export
    with COPY to a file of your own elsewhere). Raises FileNotFoundError when nothing is published yet."""
    s = _settings(settings, data_dir)
    if not s.duckdb_path.exists():
        raise FileNotFoundError(f"no warehouse at {s.duckdb_path}: run `hemistat run` (or `make run`) first")
    import time

    from pipelines.storage.readonly import connect_readonly
    from pipelines.storage.release import connect as release_connect

    # in one process DuckDB shares a database among its connections and refuses a second configuration: a publish
    # running in this same process holds the file a moment with its own (pipelines/storage/release.py); wait for it
    deadline = time.monotonic() + 10
    while True:
        try:
            if locked:
                return connect_readonly(s.duckdb_path, s.published_dir, s.duckdb_memory)
            return release_connect(s.duckdb_path, read_only=True)
        except duckdb.ConnectionException as exc:
            if "different configuration" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _as_list(v, name: str) -> list | None:
    if v is None:
        return None
    if isinstance(v, (str, int)):
        return [v]
    if isinstance(v, Iterable):
        out = list(v)
        if not out:
            raise ValueError(f"{name}: an empty list selects nothing (use None for all)")
        return out
    raise TypeError(f"{name}: expected a value, a list or None, got {type(v).__name__}")


def _years(years) -> tuple[str, list]:
    """SQL condition and parameters for ``years``: int, list, range, or a (first, last) tuple (inclusive)."""
    if years is None:
        return "", []
    if isinstance(years, tuple) and len(years) == 2:
        lo, hi = years
        conds, params = [], []
        if lo is not None:
            conds.append("year >= ?")
            params.append(int(lo))
        if hi is not None:
            conds.append("year <= ?")
            params.append(int(hi))
        return " and ".join(conds), params
    ys = [int(y) for y in _as_list(years, "years")]
    return "list_contains(?, year)", [ys]


def _where(**filters) -> tuple[str, list]:
    """``column=value|list|None`` -> a WHERE clause with ``?`` placeholders (column names come from this module
    only, values are bound)."""
    conds, params = [], []
    for col, v in filters.items():
        if col == "year":
            c, p = _years(v)
            if c:
                conds.append(c)
                params += p
            continue
        vals = _as_list(v, col)
        if vals is None:
            continue
        conds.append(f"list_contains(?, {col})")
        params.append([str(x) for x in vals])
    return (" where " + " and ".join(conds)) if conds else "", params


@contextlib.contextmanager
def _con(settings, data_dir, con):
    if con is not None:
        yield con
        return
    c = connect(settings, data_dir=data_dir)
    try:
        yield c
    finally:
        c.close()


def _run(sql: str, params: list, settings=None, data_dir=None, con=None, arrow: bool = False):
    with _con(settings, data_dir, con) as c:
        if arrow:
            return c.sql(sql, params=params).to_arrow_table()
        return c.execute(sql, params).df()


def query(sql: str, params: list | None = None, *, settings: Settings | None = None, data_dir=None, con=None,
          arrow: bool = False):
    """Any read-only query with bound parameters (``?``), as a DataFrame (or Arrow table)."""
    from pipelines.storage.readonly import check_read_only

    check_read_only(sql)
    return _run(sql, list(params or []), settings, data_dir, con, arrow)


def comparable(iccs: str | list | None = "0101", countries=None, years=None, sex=None, measure=None, age="_T",
               national: bool = True, *, settings: Settings | None = None, data_dir=None, con=None,
               arrow: bool = False):
    """``published.comparable``: one value per country (x subdivision) x year x ICCS code x measure x sex x age,
    with the source chosen, why, the quality score, the alternatives and the flags. ``national`` (default): the
    national rows only (``subdivision_code`` NULL); False: subdivisions too."""
    where, params = _where(iccs_code=iccs, country_iso3=countries, year=years, sex=sex, measure=measure, age=age)
    if national:
        where += (" and " if where else " where ") + "subdivision_code is null"
    return _run("select * from published.comparable" + where +
                " order by country_iso3, subdivision_code nulls first, iccs_code, measure, sex, age, year",
                params, settings, data_dir, con, arrow)


def regional(iccs: str | list | None = "0101", regions=None, years=None, sex=None, measure=None, age="_T", *,
             settings: Settings | None = None, data_dir=None, con=None, arrow: bool = False):
    """``published.regional``: population-weighted aggregates per UN M49 region (019 Americas, 419, 005, 013,
    029, 021) with coverage; ``rate_per_100k`` is NULL where coverage is insufficient (``flag``)."""
    where, params = _where(iccs_code=iccs, region_code=regions, year=years, sex=sex, measure=measure, age=age)
    return _run("select * from published.regional" + where + " order by region_code, iccs_code, measure, sex, age, year",
                params, settings, data_dir, con, arrow)


def coverage(iccs: str | list | None = "0101", countries=None, years=None, *, settings: Settings | None = None,
             data_dir=None, con=None, arrow: bool = False):
    """``published.coverage``: country x year x ICCS code — sources, months reported, population covered,
    quality score."""
    where, params = _where(iccs_code=iccs, country_iso3=countries, year=years)
    return _run("select * from published.coverage" + where + " order by country_iso3, iccs_code, year",
                params, settings, data_dir, con, arrow)


def series(country: str, iccs: str = "0101", measure: str | None = None, sex: str = "_T", years=None, *,
           settings: Settings | None = None, data_dir=None, con=None, arrow: bool = False):
    """One country's national comparable series for an ICCS code: year, measure, value, rate, chosen source,
    flags, quality score and the alternatives."""
    where, params = _where(country_iso3=country, iccs_code=iccs, measure=measure, sex=sex, age="_T", year=years)
    return _run("select year, measure, value, rate_per_100k, source_id, choice_code, months_reported, provisional, "
                "comparability_flags, quality_score, alternatives, choice_reason from published.comparable"
                + where + " and subdivision_code is null order by measure, year", params, settings, data_dir, con,
                arrow)


def quality(countries=None, years=None, dimension=None, *, wide: bool = True, settings: Settings | None = None,
            data_dir=None, con=None, arrow: bool = False):
    """The quality score per country-year (``published.quality_summary``): ``wide`` (default) one row per
    country-year with a column per dimension and their mean (``quality_score``, as in published.comparable);
    ``wide=False`` one row per dimension with what it measures."""
    where, params = _where(country_iso3=countries, year=years, dimension=dimension)
    if not wide:
        return _run("select * from published.quality_summary" + where + " order by country_iso3, year, dimension",
                    params, settings, data_dir, con, arrow)
    sql = ("select country_iso3, year, round(avg(score), 1) as quality_score, "
           + ", ".join(f"max(score) filter (where dimension = '{d}') as {d}" for d in
                       ("accuracy", "coherence", "timeliness", "relevance", "comparability", "completeness"))
           + ", max(sources) as sources from published.quality_summary" + where
           + " group by country_iso3, year order by country_iso3, year")
    return _run(sql, params, settings, data_dir, con, arrow)


def indicators(iccs: str | list | None = "0101", countries=None, years=None, sources=None, sex=None,
               measure=None, national: bool = True, annual: bool = True, *, settings: Settings | None = None,
               data_dir=None, con=None, arrow: bool = False):
    """``published.indicators`` (every source's value, not only the chosen one), filtered."""
    where, params = _where(iccs_code=iccs, country_iso3=countries, year=years, source_id=sources, sex=sex,
                           measure=measure)
    extra = (["subdivision_code is null"] if national else []) + (["month is null"] if annual else [])
    if extra:
        where += (" and " if where else " where ") + " and ".join(extra)
    return _run("select * from published.indicators" + where +
                " order by source_id, country_iso3, subdivision_code nulls first, iccs_code, year, month",
                params, settings, data_dir, con, arrow)


def releases(settings: Settings | None = None, data_dir=None) -> list[dict]:
    """The numbered releases (``pipelines.publication.releases.list_releases``)."""
    from pipelines.publication.releases import list_releases

    return list_releases(_settings(settings, data_dir))


def release_diff(a, b, table: str = "comparable", settings: Settings | None = None, data_dir=None):
    """What changed between two releases, and why (``pipelines.publication.releases.diff``)."""
    from pipelines.publication.releases import diff

    return diff(_settings(settings, data_dir), a, b, table=table)
