"""Practices, courses and indicators for the Network, read from the published warehouse's views when they exist
(``published.practices`` from the practices work, ``published.courses`` from the catalogue work,
``published.national_annual`` for indicators). A view that is missing, or a warehouse not yet built, gives
nothing: the Network never builds those records itself. Read-only connections, bind parameters only."""

from __future__ import annotations

from pathlib import Path

from pipelines.network.scoring import Profile


def _connect(duckdb_path: Path):
    from pipelines.storage.release import connect

    if not Path(duckdb_path).exists():
        return None
    try:
        return connect(duckdb_path, read_only=True)
    except Exception:     # a warehouse being swapped or unreadable: no suggestions from it this time
        return None


def _views(con) -> set[str]:
    rows = con.execute("select table_name from information_schema.tables where table_schema = 'published'").fetchall()
    return {r[0] for r in rows}


def _columns(con, view: str) -> set[str]:
    rows = con.execute("select column_name from information_schema.columns where table_schema = 'published' "
                       "and table_name = ?", [view]).fetchall()
    return {r[0] for r in rows}


def _list(v) -> set[str]:
    if v is None:
        return set()
    if isinstance(v, str):
        return {v} if v else set()
    return {str(x) for x in v if x is not None and str(x) != ""}


def _title(row: dict, lang: str, fallback: str) -> str:
    return row.get(f"title_{lang}") or row.get("title_en") or row.get("title_es") or fallback


def practices(duckdb_path: Path, lang: str = "en") -> list[Profile]:
    con = _connect(duckdb_path)
    if con is None:
        return []
    try:
        if "practices" not in _views(con):
            return []
        rows = _rows(con, "practices", ("practice_id", "title_en", "title_es", "title_pt", "title_fr",
                                        "country_iso3", "iccs_codes", "prevention_types", "line_of_action",
                                        "mispa_pillars", "evidence_level", "languages"))
        out = []
        for row in rows:
            out.append(Profile("practice", str(row["practice_id"]), _title(row, lang, str(row["practice_id"])),
                               row.get("country_iso3"), iccs=_list(row.get("iccs_codes")),
                               prevention=_list(row.get("prevention_types")), lines=_list(row.get("line_of_action")),
                               pillars=_list(row.get("mispa_pillars")), languages=_list(row.get("languages")),
                               extra={"evidence_level": row.get("evidence_level")}))
        return out
    finally:
        con.close()


def _rows(con, view: str, wanted: tuple[str, ...]) -> list[dict]:
    """The rows of ``published.<view>`` ordered by its key (the first wanted column), as dicts of the wanted
    columns it has (an older warehouse may lack some); none without the key. Read through DuckDB's relational
    API: the column names come from ``wanted`` and the view's own columns, never from a request."""
    if view not in ("practices", "courses"):
        raise ValueError(f"not a view the Network reads: {view!r}")
    cols = _columns(con, view)
    want = [c for c in wanted if c in cols]
    if wanted[0] not in want:
        return []
    rel = con.table("published." + view).select(*want).order(wanted[0])
    return [dict(zip(want, rec)) for rec in rel.fetchall()]


def courses(duckdb_path: Path, lang: str = "en") -> list[Profile]:
    con = _connect(duckdb_path)
    if con is None:
        return []
    try:
        if "courses" not in _views(con):
            return []
        rows = _rows(con, "courses", ("course_id", "kind", "provider", "title_en", "title_es", "title_pt",
                                      "title_fr", "country_iso3", "mispa_pillars", "iccs_areas", "languages"))
        out = []
        for row in rows:
            out.append(Profile("course", str(row["course_id"]), _title(row, lang, str(row["course_id"])),
                               row.get("country_iso3"), iccs=_list(row.get("iccs_areas")),
                               pillars=_list(row.get("mispa_pillars")), languages=_list(row.get("languages")),
                               extra={"provider": row.get("provider"), "kind": row.get("kind")}))
        return out
    finally:
        con.close()


def indicators(duckdb_path: Path, country_iso3: str | None, iccs_labels: dict[str, str]) -> list[Profile]:
    """One profile per ICCS code published for the member's country (national, annual): the latest year."""
    if not country_iso3:
        return []
    con = _connect(duckdb_path)
    if con is None:
        return []
    try:
        if "national_annual" not in _views(con):
            return []
        rows = con.execute("select iccs_code, max(year) from published.national_annual where country_iso3 = ? "
                           "group by iccs_code order by iccs_code", [country_iso3]).fetchall()
        return [Profile("indicator", f"{country_iso3}:{code}", f"{iccs_labels.get(code, code)} ({code}), {year}",
                        country_iso3, iccs={str(code)},
                        link=f"/downloads?country={country_iso3}", extra={"year": year, "iccs_code": code})
                for code, year in rows if code]
    finally:
        con.close()


def lines_of_action(duckdb_path: Path) -> set[str]:
    """The line_of_action values of published.practices (the vocabulary the form offers), empty without it."""
    con = _connect(duckdb_path)
    if con is None:
        return set()
    try:
        if "practices" not in _views(con) or "line_of_action" not in _columns(con, "practices"):
            return set()
        return {str(r[0]) for r in con.execute("select distinct line_of_action from published.practices "
                                               "where line_of_action is not null").fetchall()}
    finally:
        con.close()
