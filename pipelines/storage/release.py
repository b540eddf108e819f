"""Atomic publication of the warehouse.

A release is a folder ``<data>/published/releases/<release_id>/`` of Parquet files, written under a
temporary name and renamed when complete. ``hemistat.duckdb`` is then rebuilt *beside* the live one
(views over that release + small reference tables) and swapped in with ``os.replace``: a reader opens
either the old database (whose release folder is kept) or the new one, never half of each.

**Committed releases.** A release folder is only a candidate until it is committed: the list of committed
releases (and the current one) is ``<data>/published/COMMITTED.json``, rewritten atomically right after the
database swap (``CURRENT`` mirrors its ``current``). The history views (``published.releases``,
``published.indicator_history``, ``published.changelog``, ``indicators_as_of``) name only committed releases
plus the one the database serves, so every view of one database agrees on one release. A folder left by a
crash before the commit (an *orphan*) is never named by a view and is removed by the next publish, which
also recovers a release whose database was swapped in but whose commit record was not written (the crash
window between the two renames).

**Relocatable.** The views name their files relative to the database's folder; a connection resolves them
with DuckDB's ``file_search_path`` set to that folder (``connect``), so a moved or copied data folder reads
its own files and never another's. An old release whose file cannot be read (corrupt, truncated) is left out
of the history views (named in the new release's ``history_skipped``) instead of blocking the publish.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.storage.files import atomic_write_bytes, atomic_write_json, write_parquet_atomic

KEEP_RELEASES = 5
_TABLE = re.compile(r"^[a-z_][a-z0-9_]*$")
_RELEASE_ID = re.compile(r"^\d{8}T\d{6}-[0-9a-f]{6}$")


MANIFEST = "COMMITTED.json"


def connect(duckdb_path: Path, *, read_only: bool = True, config: dict | None = None) -> duckdb.DuckDBPyConnection:
    """A connection to ``hemistat.duckdb`` wherever the data folder now is: the views' relative file names
    resolve against the database's own folder (``file_search_path``), never the working directory."""
    base = str(Path(duckdb_path).resolve().parent)
    if "," in base:   # file_search_path is a comma-separated list
        raise ValueError(f"the data folder {base!r} contains a comma, which DuckDB's file_search_path cannot hold")
    return duckdb.connect(str(duckdb_path), read_only=read_only,
                          config={"file_search_path": base, **(config or {})})


def _sql_string(s: str) -> str:
    """A SQL string literal's content: any path is allowed (spaces, quotes, accents); quotes are doubled.
    Only paths hemistat itself builds are embedded (never user input)."""
    return s.replace("'", "''")


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + _sql_string(str(p)) + "'" for p in paths) + "]"


def finished_releases(releases_dir: Path, upto: str | None = None) -> list[str]:
    """Release ids of complete release folders (a ``.tmp`` folder is never one), oldest first;
    ``upto``: only those up to and including that release."""
    if not releases_dir.is_dir():
        return []
    ids = sorted(d.name for d in releases_dir.iterdir() if d.is_dir() and _RELEASE_ID.match(d.name)
                 and (d / "release.json").exists())
    return [r for r in ids if upto is None or r <= upto]


def _readable_history(release_dir: Path) -> str | None:
    """Why an older release cannot be part of the history views (None: it can): its release.json must parse
    and its indicators (and changelog, if any) must be Parquet files whose footer reads."""
    import pyarrow.parquet as pq

    try:
        json.loads((release_dir / "release.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        return f"{release_dir.name}/release.json: {exc}"
    for name in ("indicators.parquet", "changelog.parquet"):
        f = release_dir / name
        if name == "changelog.parquet" and not f.exists():
            continue
        try:
            pq.ParquetFile(f).schema_arrow
        except Exception as exc:  # noqa: BLE001 - any unreadable file: left out of the history, named
            return f"{release_dir.name}/{name}: {type(exc).__name__}: {exc}"
    return None


def history_releases(published_dir: Path, release_id: str) -> tuple[list[str], list[dict]]:
    """(release ids of the history of a database serving ``release_id``, releases left out and why): the
    committed releases before it whose files read, then ``release_id`` itself. Orphans (folders never
    committed) are never part of it."""
    keep, skipped = [], []
    for r in committed_releases(published_dir):
        if r == release_id or not (published_dir / "releases" / r).is_dir():
            continue
        why = _readable_history(published_dir / "releases" / r)
        if why:
            skipped.append({"release_id": r, "reason": why})
        else:
            keep.append(r)
    return keep + [release_id], skipped


def render_views(views_dir: Path, release_dir: Path, history: list[str] | None = None,
                 base_dir: Path | None = None) -> list[tuple[str, str]]:
    """Render ``warehouse/views/*.sql``: ``{{release_dir}}`` -> this release's folder;
    ``{{history_release_json}}`` / ``{{history_indicators}}`` / ``{{history_changelog}}`` -> SQL lists of
    the files of ``history`` (release ids; default: the committed history, ``history_releases``), named when
    the database is built (a release written later, or one never committed, is not in this database's
    history). Paths are relative to ``base_dir`` (the database's folder) when the release lies inside it."""
    release_dir = release_dir.resolve()
    releases = release_dir.parent
    if history is None:
        history = history_releases(releases.parent, release_dir.name)[0]
    dirs = [releases / r for r in history]
    if release_dir not in dirs:
        dirs.append(release_dir)

    def name(p: Path) -> Path:
        if base_dir is not None:
            try:
                return p.relative_to(Path(base_dir).resolve())
            except ValueError:
                pass
        return p

    out = []
    for p in sorted(views_dir.glob("*.sql")):
        out.append((p.name, p.read_text("utf-8").replace("{{release_dir}}", _sql_string(str(name(release_dir))))
                    .replace("{{history_release_json}}", _sql_list([name(d / "release.json") for d in dirs]))
                    .replace("{{history_indicators}}", _sql_list([name(d / "indicators.parquet") for d in dirs]))
                    .replace("{{history_changelog}}", _sql_list([name(d / "changelog.parquet") for d in dirs
                                                                 if (d / "changelog.parquet").exists()]
                                                                or [name(release_dir / "changelog.parquet")]))))
    return out


def fingerprint(tables: dict, reference_tables: dict, views_dir: Path) -> str:
    """What a release would serve, as one digest: every table's rows (an order-independent hash of each row,
    computed by DuckDB over the Parquet file or the frame), the reference tables and the views' SQL. Two
    releases with the same fingerprint serve the same answers."""
    import hashlib

    from pipelines.settings import get_settings

    h = hashlib.sha256()
    con = duckdb.connect(config=get_settings().duckdb_config())   # bounded memory, spilling beyond it
    try:
        for group in (tables, reference_tables):
            for name in sorted(group):
                v = group[name]
                if isinstance(v, Path):
                    con.read_parquet(str(v)).create_view("_t")
                else:
                    con.register("_t", v)
                cols = [r[0] for r in con.execute("describe _t").fetchall()]
                # every column of the row, unpacked by DuckDB (no name is placed in the SQL text)
                n, x = con.execute("select count(*), coalesce(bit_xor(hash(row(*columns(*)))), 0) from _t"
                                   ).fetchall()[0] if cols else (0, 0)
                h.update(f"{name}|{','.join(cols)}|{n}|{x}\n".encode())
                if isinstance(v, Path):
                    con.execute("drop view if exists _t")
                else:
                    con.unregister("_t")
    finally:
        con.close()
    for f in sorted(views_dir.glob("*.sql")):
        h.update(f.name.encode() + b"\n" + f.read_bytes())
    return h.hexdigest()


def release_metadata(published_dir: Path, release_id: str | None = None) -> dict:
    """release.json of a release (default: the current one), or {}."""
    release_id = release_id or current_release(published_dir)
    meta = published_dir / "releases" / release_id / "release.json" if release_id else None
    try:
        return json.loads(meta.read_text("utf-8")) if meta and meta.exists() else {}
    except (OSError, ValueError):
        return {}   # unreadable: treated as unknown (the next publish writes a new release)


def _read_manifest(published_dir: Path) -> dict | None:
    p = published_dir / MANIFEST
    try:
        m = json.loads(p.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(m, dict) or not isinstance(m.get("releases"), list):
        return None
    return m


def current_release(published_dir: Path) -> str | None:
    """The committed release the warehouse serves: COMMITTED.json's ``current`` (``CURRENT`` for a data
    folder published before COMMITTED.json existed)."""
    m = _read_manifest(published_dir)
    if m and m.get("current"):
        return m["current"]
    p = published_dir / "CURRENT"
    return p.read_text("utf-8").strip() if p.exists() else None


def committed_releases(published_dir: Path) -> list[str]:
    """Committed release ids, oldest first. A data folder without COMMITTED.json (published before it
    existed) counts every finished release up to and including CURRENT."""
    m = _read_manifest(published_dir)
    if m is not None:
        return [r for r in m["releases"] if isinstance(r, str) and _RELEASE_ID.match(r)]
    cur = published_dir / "CURRENT"
    if not cur.exists():
        return []
    return finished_releases(published_dir / "releases", upto=cur.read_text("utf-8").strip())


def served_release(duckdb_path: Path) -> str | None:
    """The release ``hemistat.duckdb`` serves, read from its own view definitions (no data file is read), or
    None (no database, or one that cannot be opened)."""
    if not duckdb_path.exists():
        return None
    try:
        con = duckdb.connect(str(duckdb_path), read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute("select sql from duckdb_views() where schema_name = 'published' "
                          "and view_name = 'release'").fetchone()
    except duckdb.Error:
        return None
    finally:
        con.close()
    m = re.search(r"releases/(\d{8}T\d{6}-[0-9a-f]{6})/release\.json", row[0]) if row else None
    return m.group(1) if m else None


def _commit(published_dir: Path, releases: list[str], current: str) -> None:
    """The commit record: which releases were served, and the current one (one atomic write), then the
    CURRENT pointer that mirrors it."""
    atomic_write_json(published_dir / MANIFEST, {"current": current, "releases": releases})
    atomic_write_bytes(published_dir / "CURRENT", current.encode())


def recover(published_dir: Path, duckdb_path: Path) -> list[str]:
    """Before a publish: a release the live database serves but the commit record does not list (a crash
    between the database swap and the commit) is committed now; returns the committed releases."""
    committed = committed_releases(published_dir)
    served = served_release(duckdb_path)
    if served and served not in committed and (published_dir / "releases" / served / "release.json").exists():
        committed = committed + [served]
        _commit(published_dir, committed, served)
    elif committed and _read_manifest(published_dir) is None:
        _commit(published_dir, committed, current_release(published_dir) or committed[-1])
    return committed


def clean_orphans(published_dir: Path, duckdb_path: Path) -> list[str]:
    """Remove what a crashed publish left: release folders never committed, half-written ``.tmp`` release
    folders and database files. Only under the pipeline lock, after the commit. Returns what was removed."""
    keep = set(committed_releases(published_dir))
    served = served_release(duckdb_path)
    if served:
        keep.add(served)
    removed = []
    releases = published_dir / "releases"
    for d in (releases.iterdir() if releases.is_dir() else []):
        if d.is_dir() and (_RELEASE_ID.match(d.name) and d.name not in keep
                           or d.name.startswith(".") and d.name.endswith(".tmp")):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d.name)
    for f in duckdb_path.parent.glob(f".{duckdb_path.name}.*.tmp*"):
        f.unlink(missing_ok=True)
        removed.append(f.name)
    return removed


def _place(src: Path, dest: Path) -> None:
    """A Parquet file already written (the harmonised layer's) into the release: a hard link where the file
    system allows (no copy; the harmonised file is only ever replaced, never rewritten in place), else a copy."""
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def table_rows(v) -> int:
    """Rows of a table given as a DataFrame or a Parquet file (read from its footer)."""
    if isinstance(v, Path):
        import pyarrow.parquet as pq

        return pq.ParquetFile(v).metadata.num_rows
    return len(v)


def release_number(published_dir: Path, release_id: str, position: int | None = None) -> int | None:
    """The sequential number of a release (1, 2, 3 …): the ``release_number`` its release.json records; a release
    written before numbers existed has its position among the committed releases (``position``, 1-based)."""
    n = release_metadata(published_dir, release_id).get("release_number")
    return n if isinstance(n, int) and not isinstance(n, bool) else position


def next_release_number(published_dir: Path, committed: list[str]) -> int:
    """One more than the highest number of a committed release (a release never committed — a crash before its
    commit — leaves no gap: its number is given again)."""
    numbers = [release_number(published_dir, r, i) or 0 for i, r in enumerate(committed, 1)]
    return max(numbers, default=0) + 1


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def publish(published_dir: Path, duckdb_path: Path, views_dir: Path, tables: dict[str, pd.DataFrame | Path],
            reference_tables: dict[str, pd.DataFrame], metadata: dict | None = None,
            manifest: dict | None = None) -> str:
    """Write a new release and switch the warehouse to it atomically. Returns the release id. A table is a
    DataFrame (written here) or a Parquet file (linked or copied into the release, never loaded).

    Every release gets the next sequential ``release_number`` (in release.json) and a ``manifest.json``: the
    number, each table's rows, bytes and sha256 as written in the release folder, plus ``manifest`` (what the
    pipeline adds: sources and their vintages, the rules' and crosswalks' versions)."""
    release_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    releases = published_dir / "releases"
    tmp = releases / f".{release_id}.tmp"
    final = releases / release_id
    committed = recover(published_dir, duckdb_path)
    number = next_release_number(published_dir, committed)
    history, skipped = history_releases(published_dir, release_id)
    tmp.mkdir(parents=True)
    try:
        for name, df in tables.items():
            if not _TABLE.match(name):
                raise ValueError(f"bad table name {name!r}")
            if isinstance(df, Path):
                _place(df, tmp / f"{name}.parquet")
            else:
                write_parquet_atomic(df, tmp / f"{name}.parquet")
        published_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        rows = {k: table_rows(v) for k, v in tables.items()}
        atomic_write_json(tmp / "release.json", {"release_id": release_id, "release_number": number,
                                                 "published_at": published_at,
                                                 **(metadata or {}),
                                                 **({"history_skipped": skipped} if skipped else {}),
                                                 "tables": rows})
        atomic_write_json(tmp / "manifest.json", {
            "release_id": release_id, "release_number": number, "published_at": published_at,
            "tables": {k: {"file": f"{k}.parquet", "rows": rows[k], "bytes": (tmp / f"{k}.parquet").stat().st_size,
                           "sha256": _sha256(tmp / f"{k}.parquet")} for k in sorted(tables)},
            **(manifest or {})})
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        build_database(duckdb_path, views_dir, final, reference_tables, history=history)
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)  # never served: it is not part of the history
        raise
    _commit(published_dir, [r for r in committed if r != release_id] + [release_id], release_id)
    clean_orphans(published_dir, duckdb_path)
    _prune(releases, keep=KEEP_RELEASES, current=release_id)
    return release_id


# Views an analyst opens first, computed once when the database is built instead of at every query (issue 12:
# at 12 M rows quality_summary took 518 ms and national_annual 367 ms as views over the release's Parquet).
# Each becomes a table ``materialised.<name>`` (sorted for DuckDB's zone maps) and ``published.<name>`` a view of
# it, so every query and every view that names it reads the small table. They derive only from this release's
# files, which never change, so they cannot go stale; the fingerprint already covers the views' SQL.
MATERIALISED = {"national_annual": "iccs_code, country_iso3, year",
                "quality_summary": "country_iso3, year, dimension",
                "quality_summary_by_source": "source_id, country_iso3, year, dimension"}


def materialise(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists materialised")
    defined = {r[0] for r in con.execute("select view_name from duckdb_views() where schema_name = 'published'")
               .fetchall()}
    for name, order in MATERIALISED.items():
        if not _TABLE.match(name):
            raise ValueError(f"bad view name {name!r}")
        if name not in defined:      # a views folder without it (a test's, a partial warehouse): nothing to do
            continue
        con.execute("create table materialised." + name + " as select * from published." + name
                    + " order by " + order)
        con.execute("create or replace view published." + name + " as select * from materialised." + name)


def build_database(duckdb_path: Path, views_dir: Path, release_dir: Path,
                   reference_tables: dict[str, pd.DataFrame], history: list[str] | None = None) -> None:
    tmp_db = duckdb_path.with_name(f".{duckdb_path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        # the views name their files relative to the database's folder: bound here as a reader binds them
        from pipelines.settings import get_settings

        # bounded memory (materialise groups every indicator); a reader opens the file with its own settings
        con = duckdb.connect(str(tmp_db), config={**get_settings().duckdb_config(),
                                                  "file_search_path": str(duckdb_path.parent.resolve())})
        try:
            con.execute("create schema if not exists reference")
            con.execute("create schema if not exists published")
            for name, df in reference_tables.items():
                if not _TABLE.match(name):
                    raise ValueError(f"bad table name {name!r}")
                con.register("_df", df)
                con.execute("create table reference." + name + " as select * from _df")
                con.unregister("_df")
            for fname, sql in render_views(views_dir, release_dir, history, base_dir=duckdb_path.parent):
                try:
                    con.execute(sql)
                except duckdb.Error as exc:
                    raise RuntimeError(f"warehouse/views/{fname}: {exc}") from exc
            materialise(con)
            con.execute("checkpoint")
        finally:
            con.close()
        os.replace(tmp_db, duckdb_path)
    finally:
        tmp_db.unlink(missing_ok=True)
        Path(str(tmp_db) + ".wal").unlink(missing_ok=True)


HISTORY_FILES = {"indicators.parquet", "release.json", "changelog.parquet", "comparable.parquet",
                 "manifest.json"}


def _prune(releases: Path, keep: int, current: str) -> None:
    """Old releases keep their indicators, comparable values, release.json and manifest.json forever (what was published on a date stays
    queryable); their bulky cell-level and quality files are removed after ``keep`` releases."""
    done = sorted(d for d in releases.iterdir() if d.is_dir() and not d.name.startswith("."))
    for d in done[:-keep]:
        if d.name != current:
            for f in d.iterdir():
                if f.name not in HISTORY_FILES:
                    f.unlink(missing_ok=True)
