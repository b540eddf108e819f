"""Exports of the published warehouse in the formats the field exchanges (issue 15 item 2).

``export(settings, fmt, out_dir, ...)`` is the one entry point: ``hemistat export`` (``pipelines/cli_export.py``),
the portal's downloads (``service/routers/downloads.py``) and the public site call it.

* Tables: ``indicators`` always; ``comparable``, ``coverage`` and ``regional`` whenever the release has them
  (views ``published.<name>`` of the current release; the files ``<name>.parquet`` of an earlier one).
* Release: the current one by default; ``release=<id>`` exports an earlier committed release (its
  ``indicators.parquet`` kept in ``<data>/published/releases/<id>/``, read through
  ``published.indicator_history``). An unknown release, format, country or ICCS code is an ``ExportError``
  naming it and what is allowed, in one line.
* Filters (country, ICCS code and its sub-codes, years) are bound parameters; a table without the column a
  filter names (e.g. ``regional`` has no country) is exported with the filters that apply to it.
* Formats: ``csv`` and ``parquet`` (written by DuckDB; CSV text cells formula-neutralised), ``xlsx`` (one sheet
  per table continued past 1,048,576 rows, a notes sheet, frozen headers), ``sdmx-csv`` (SDMX-CSV 2.0) and
  ``sdmx-ml`` (SDMX-ML 2.1 structure-specific data) written with ``sdmx1`` against the DSD in
  ``reference/sdmx/`` (``sdmx_io.py``), ``datapackage`` (Frictionless, ``datapackage.py``).
* Every export carries the release id (a column of every row, the Parquet footer, the notes, the SDMX
  ``RELEASE_ID`` attribute), the source citations (``sources.csv``, the notes sheet, the data package's
  ``sources``, the SDMX ``CL_SOURCE`` code list) and the quality flags (``obs_status``, ``comparability``,
  ``comparability_flags`` where the table has them).

The warehouse is opened read-only and locked down (``storage/readonly.py``): files only under the published
folder, no extension, configuration locked. It writes nothing: the rows stream as Arrow batches to a private
in-memory DuckDB that writes the export files (``tabular.copy_out``), so an export works beside any other
reader of the warehouse in the same process (DuckDB shares one locked instance among them).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from pipelines.publication import notes, tabular
from pipelines.settings import Settings

FORMATS = ("csv", "parquet", "xlsx", "sdmx-csv", "sdmx-ml", "datapackage")
TABLES = ("indicators", "comparable", "coverage", "regional")
OPTIONAL_TABLES = TABLES[1:]
# row order of each table: the columns of this list that the table has
ORDER = ["country_iso3", "region_code", "region", "source_id", "year", "month", "iccs_code", "subdivision_code",
         "measure", "sex", "age", "relationship"]
# primary key candidates of each table (the columns it has; used by the data package and the SDMX key)
KEYS = {
    "indicators": ["country_iso3", "subdivision_code", "year", "month", "iccs_code", "measure", "sex", "age",
                   "relationship", "source_id"],
    "comparable": ["country_iso3", "subdivision_code", "year", "iccs_code", "measure", "sex", "age"],
    "coverage": ["country_iso3", "year", "iccs_code", "measure"],
    "regional": ["region_code", "year", "iccs_code", "measure", "sex", "age"],
}
_RELEASE_ID = re.compile(r"^\d{8}T\d{6}-[0-9a-f]{6}$")
_ISO3 = re.compile(r"^[A-Z]{3}$")
_ICCS = re.compile(r"^\d{2}(\d{2}(\d(\d)?)?)?$")


class ExportError(ValueError):
    """An export that cannot be made: one line naming what is wrong and what is allowed. ``key`` and ``params``
    are a message of ``reference/i18n/exports/`` (the portal shows it in the reader's language); ``str()`` is the
    English text once ``export`` has rendered it (``render``)."""

    def __init__(self, key: str, **params):
        super().__init__(key)
        self.key, self.params = key, params

    def render(self, reference_dir: Path, lang: str = "en") -> str:
        from pipelines.i18n import Translator, load_catalogues

        text = Translator(load_catalogues(reference_dir), lang)(self.key, **self.params)
        self.args = (text,)
        return text


@dataclass
class Table:
    name: str
    relation: str            # SQL of the table, release id column first, filters applied (parameters below)
    params: list
    columns: list[str] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    rows: int = 0


@dataclass
class Selection:
    """What one export holds: the release, its tables (filtered) and the sources they cite."""
    release_id: str
    published_at: str
    current: bool
    tables: list[Table]
    filters: dict
    sources: list[dict]
    generated_at: str


# ---- the warehouse ------------------------------------------------------------------------------------------

def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The warehouse read-only and locked down (``storage/readonly.py``); it writes no file itself."""
    from pipelines.storage.readonly import connect_readonly

    db = settings.duckdb_path
    if not db.exists():
        raise ExportError("exports.err_no_warehouse", path=str(db))
    return connect_readonly(db, settings.published_dir, settings.duckdb_memory)


def releases(con: duckdb.DuckDBPyConnection) -> tuple[str, list[tuple[str, str]]]:
    """(the current release id, [(release id, published at)] of the history, oldest first)."""
    try:
        cur = con.execute("select release_id, cast(published_at as varchar) from published.release").fetchone()
    except duckdb.Error:
        raise ExportError("exports.err_no_release") from None
    if cur is None:
        raise ExportError("exports.err_no_release")
    views = _views(con)
    hist = [(r, str(t)) for r, t in con.execute(
        "select release_id, cast(published_at as varchar) from published.releases order by published_at, release_id"
    ).fetchall()] if "releases" in views else []
    if cur and cur[0] not in {r for r, _ in hist}:
        hist.append((cur[0], cur[1]))
    return cur[0], hist


def _views(con) -> set[str]:
    return {r[0] for r in con.execute("select view_name from duckdb_views() where schema_name = 'published'")
            .fetchall()}


def _filters(columns: set[str], country, iccs, year_from, year_to) -> tuple[str, list]:
    where, params = [], []
    if country and "country_iso3" in columns:
        where.append("country_iso3 in (" + ", ".join("?" for _ in country) + ")")
        params += country
    if iccs and "iccs_code" in columns:
        where.append("(" + " or ".join("starts_with(iccs_code, ?)" for _ in iccs) + ")")
        params += iccs
    if year_from is not None and "year" in columns:
        where.append("year >= ?")
        params.append(year_from)
    if year_to is not None and "year" in columns:
        where.append("year <= ?")
        params.append(year_to)
    return (" where " + " and ".join(where)) if where else "", params


def _as_list(v) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        v = [v]
    out = []
    for x in v:
        out += [p.strip() for p in str(x).split(",") if p.strip()]
    return out


def _check_filters(settings: Settings, country, iccs, year_from, year_to) -> tuple[list[str], list[str]]:
    from pipelines.harmonise import reference

    countries = [c.upper() for c in _as_list(country)]
    known = set(reference.countries(settings.reference_dir)["iso3"])
    for c in countries:
        if not _ISO3.match(c) or c not in known:
            raise ExportError("exports.err_country", country=c[:20])
    codes = _as_list(iccs)
    iccs_known = set(reference.iccs(settings.reference_dir)["code"])
    for c in codes:
        if not _ICCS.match(c) or c not in iccs_known:
            raise ExportError("exports.err_iccs", code=c[:20])
    for name, y in (("--from", year_from), ("--to", year_to)):
        if y is not None and not (1900 <= int(y) <= 2100):
            raise ExportError("exports.err_year", name=name, year=y)
    if year_from is not None and year_to is not None and int(year_from) > int(year_to):
        raise ExportError("exports.err_years_order", year_from=year_from, year_to=year_to)
    return countries, codes


def select(settings: Settings, con: duckdb.DuckDBPyConnection, *, country=None, iccs=None, year_from=None,
           year_to=None, release=None, tables=None) -> Selection:
    """Resolve the release, the tables it has and the filters, into SQL with bound parameters."""
    countries, codes = _check_filters(settings, country, iccs, year_from, year_to)
    year_from = int(year_from) if year_from is not None else None
    year_to = int(year_to) if year_to is not None else None
    wanted = list(TABLES) if not tables else _as_list(tables)
    for t in wanted:
        if t not in TABLES:
            raise ExportError("exports.err_table", table=t[:40], tables=", ".join(TABLES))
    current, hist = releases(con)
    known = dict(hist)
    rid = release or current
    if rid not in known:
        shown = ", ".join(r for r, _ in hist[-10:])
        raise ExportError("exports.err_release", release=str(release)[:60], known=shown, current=current)
    is_current = rid == current
    views = _views(con)
    out: list[Table] = []
    for name in wanted:
        if is_current:
            if name not in views:
                continue   # a table this release does not have (comparable/coverage/regional before they existed)
            base, bparams = f"published.{name}", []
        elif name == "indicators":
            base = "(select * exclude (release_id) from published.indicator_history where release_id = ?)"
            bparams = [rid]
        else:
            f = settings.published_dir / "releases" / rid / f"{name}.parquet"
            if not _RELEASE_ID.match(rid) or not f.exists():
                continue
            base, bparams = "read_parquet(?)", [str(f)]
        try:
            cols = tabular.describe(con, "select * from " + base, bparams)
        except duckdb.Error as exc:
            if name == "indicators":
                raise ExportError("exports.err_unreadable", release=rid, detail=str(exc).splitlines()[0][:200]) \
                    from None
            continue   # an optional table whose view names a file this release lacks
        names = [c for c, _ in cols if c != "release_id"]
        where, wparams = _filters(set(names), countries, codes, year_from, year_to)
        order = [c for c in ORDER if c in names]
        sel = ", ".join(tabular.quote_ident(c) for c in names)
        sql = (f"select cast(? as varchar) as release_id, {sel} from {base}{where}"
               + (" order by " + ", ".join(f"{tabular.quote_ident(c)} nulls first" for c in order) if order else ""))
        params = [rid] + bparams + wparams
        t = Table(name, sql, params, ["release_id"] + names, {"release_id": "VARCHAR", **dict(cols)})
        t.rows = tabular.count_rows(con, sql, params)
        out.append(t)
    source_ids: set[str] = set()
    for t in out:
        if "source_id" in t.columns:
            source_ids |= {v for v in tabular.distinct_values(con, t.relation, t.params, "source_id") if v}
    filters = {k: v for k, v in (("country", countries), ("iccs", codes), ("year_from", year_from),
                                 ("year_to", year_to)) if v not in (None, [])}
    return Selection(rid, known[rid], is_current, out, filters, notes.sources(settings, source_ids, rid),
                     datetime.now(timezone.utc).isoformat(timespec="seconds"))


# ---- the formats -----------------------------------------------------------------------------------------

SOURCE_COLUMNS = ["source_id", "publisher", "title", "url", "comparability", "citation", "licence", "licence_status",
                  "licence_spdx"]


def write_sources_csv(sel: Selection, path: Path) -> Path:
    """The sources the export cites: one row each (citation, licence), and the release id."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["release_id"] + SOURCE_COLUMNS)
        for s in sel.sources:
            w.writerow([sel.release_id] + [tabular.neutralise(s.get(c, "")) for c in SOURCE_COLUMNS])
    return path


def notes_rows(sel: Selection, sheets: dict[str, int] | None = None) -> list[list]:
    """The notes of an export as rows (section, name, value, detail): release, filters, tables, sources with
    citations and licences, column definitions, flags."""
    rows: list[list] = [["section", "name", "value", "detail"],
                        ["release", "release_id", sel.release_id, "current release" if sel.current
                         else "an earlier release"],
                        ["release", "published_at", sel.published_at, ""],
                        ["release", "generated_at", sel.generated_at, "when this file was made"],
                        ["release", "publisher", notes.PROJECT, ""]]
    for k, v in sel.filters.items():
        rows.append(["filter", k, ", ".join(map(str, v)) if isinstance(v, list) else v, ""])
    for t in sel.tables:
        detail = ""
        if sheets:
            names = [n for n in sheets if n == t.name or n.startswith(t.name + "_")]
            detail = "sheets: " + ", ".join(names)
        rows.append(["table", t.name, t.rows, detail])
    for s in sel.sources:
        rows.append(["source", s["source_id"], s["citation"],
                     f"licence: {s['licence']} ({s['licence_status']})"])
    for t in sel.tables:
        for c in t.columns:
            rows.append(["definition", f"{t.name}.{c}", notes.describe(c), t.types.get(c, "")])
    for k, v in notes.OBS_STATUS.items():
        rows.append(["flag", f"obs_status={k}", v, "SDMX CL_OBS_STATUS"])
    for k, v in notes.COMPARABILITY.items():
        rows.append(["flag", f"comparability={k}", v, "the source's comparability"])
    rows.append(["flag", "comparability_flags", notes.describe("comparability_flags"), "published.comparable"])
    return rows


def _csv(con, sel: Selection, out: Path) -> list[Path]:
    files = []
    for t in sel.tables:
        p = out / f"{t.name}.csv"
        tabular.copy_csv(con, t.relation, t.params, p)
        files.append(p)
    files.append(write_sources_csv(sel, out / "sources.csv"))
    return files


def _parquet(con, sel: Selection, out: Path) -> list[Path]:
    import json

    files = []
    meta = {"hemistat_release_id": sel.release_id, "hemistat_published_at": sel.published_at,
            "hemistat_sources": json.dumps(sel.sources, ensure_ascii=False),
            "hemistat_filters": json.dumps(sel.filters, ensure_ascii=False)}
    for t in sel.tables:
        p = out / f"{t.name}.parquet"
        tabular.copy_parquet(con, t.relation, t.params, p, kv_metadata=meta)
        files.append(p)
    files.append(write_sources_csv(sel, out / "sources.csv"))
    return files


def _xlsx(con, sel: Selection, out: Path) -> list[Path]:
    p = out / f"hemistat_{sel.release_id}.xlsx"
    sheets = [tabular.Sheet(t.name, t.columns, tabular.arrow_batches(con, t.relation, t.params), t.rows)
              for t in sel.tables]
    # the notes name the sheets each table took: counted first (cheap), the rows are written once
    per = tabular.XLSX_SHEET_ROWS
    planned = {}
    for t in sel.tables:
        n = max(1, -(-t.rows // per))
        for i in range(n):
            planned[t.name if i == 0 else f"{t.name}_{i + 1}"] = 0
    try:
        tabular.write_xlsx(p, sheets, notes=notes_rows(sel, planned), sheet_rows=per)
    except tabular.TooLargeForXlsx as exc:
        raise ExportError("exports.err_xlsx_too_large", rows=exc.rows, limit=exc.limit) from None
    return [p]


def export(settings: Settings, fmt: str, out_dir, *, country=None, iccs=None, year_from=None, year_to=None,
           release=None, tables=None) -> list[Path]:
    """Write the export of the published warehouse in ``fmt`` into ``out_dir`` (created if missing) and return
    the files written. Raises ``ExportError`` (one line) for an unknown format, release, table, country or ICCS
    code, or when there is no warehouse."""
    try:
        return _export(settings, fmt, out_dir, country=country, iccs=iccs, year_from=year_from, year_to=year_to,
                       release=release, tables=tables)
    except ExportError as exc:
        exc.render(settings.reference_dir)
        raise


def _export(settings: Settings, fmt: str, out_dir, *, country, iccs, year_from, year_to, release,
            tables) -> list[Path]:
    if fmt not in FORMATS:
        raise ExportError("exports.err_format", format=str(fmt)[:40], formats=", ".join(FORMATS))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    con = connect(settings)
    try:
        sel = select(settings, con, country=country, iccs=iccs, year_from=year_from, year_to=year_to,
                     release=release, tables=tables)
        if fmt == "csv":
            return _csv(con, sel, out)
        if fmt == "parquet":
            return _parquet(con, sel, out)
        if fmt == "xlsx":
            return _xlsx(con, sel, out)
        if fmt in ("sdmx-csv", "sdmx-ml"):
            from pipelines.publication import sdmx_io

            try:
                return sdmx_io.export(settings, con, sel, out, fmt) + [write_sources_csv(sel, out / "sources.csv")]
            except sdmx_io.SdmxCodeError as exc:
                raise ExportError("exports.err_sdmx_code", detail=str(exc)) from None
        from pipelines.publication import datapackage

        return datapackage.export(settings, con, sel, out, keys=KEYS, source_columns=SOURCE_COLUMNS,
                                  write_sources=write_sources_csv)
    finally:
        con.close()
