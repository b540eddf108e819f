"""Atomic publication of the warehouse.

A release is a folder ``<data>/published/releases/<release_id>/`` of Parquet files, written under a
temporary name and renamed when complete. ``hemistat.duckdb`` is then rebuilt *beside* the live one
(views over that release + small reference tables) and swapped in with ``os.replace``: a reader opens
either the old database (whose release folder is kept) or the new one, never half of each.
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


def render_views(views_dir: Path, release_dir: Path) -> list[tuple[str, str]]:
    """Render ``warehouse/views/*.sql``: ``{{release_dir}}`` -> this release's folder;
    ``{{history_release_json}}`` / ``{{history_indicators}}`` -> SQL lists of the ``release.json`` /
    ``indicators.parquet`` files of every release up to and including this one, named when the database is
    built (a release written later, or one that never became current, is not in this database's history)."""
    release_dir = release_dir.resolve()
    history = [release_dir.parent / r for r in finished_releases(release_dir.parent, upto=release_dir.name)]
    if release_dir not in history:
        history.append(release_dir)
    out = []
    for p in sorted(views_dir.glob("*.sql")):
        out.append((p.name, p.read_text("utf-8").replace("{{release_dir}}", _sql_string(str(release_dir)))
                    .replace("{{history_release_json}}", _sql_list([d / "release.json" for d in history]))
                    .replace("{{history_indicators}}", _sql_list([d / "indicators.parquet" for d in history]))
                    .replace("{{history_changelog}}", _sql_list([d / "changelog.parquet" for d in history
                                                                 if (d / "changelog.parquet").exists()]
                                                                or [release_dir / "changelog.parquet"]))))
    return out


def fingerprint(tables: dict, reference_tables: dict, views_dir: Path) -> str:
    """What a release would serve, as one digest: every table's rows (an order-independent hash of each row,
    computed by DuckDB over the Parquet file or the frame), the reference tables and the views' SQL. Two
    releases with the same fingerprint serve the same answers."""
    import hashlib

    h = hashlib.sha256()
    con = duckdb.connect()
    try:
        for group in (tables, reference_tables):
            for name in sorted(group):
                v = group[name]
                if isinstance(v, Path):
                    con.read_parquet(str(v)).create_view("_t")
                else:
                    con.register("_t", v)
                cols = [r[0] for r in con.execute("describe _t").fetchall()]
                row = ", ".join('"' + c.replace('"', '""') + '"' for c in cols)
                n, x = con.execute(f"select count(*), coalesce(bit_xor(hash(row({row}))), 0) from _t").fetchall()[0] \
                    if cols else (0, 0)
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
    return json.loads(meta.read_text("utf-8")) if meta and meta.exists() else {}


def current_release(published_dir: Path) -> str | None:
    p = published_dir / "CURRENT"
    return p.read_text("utf-8").strip() if p.exists() else None


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


def publish(published_dir: Path, duckdb_path: Path, views_dir: Path, tables: dict[str, pd.DataFrame | Path],
            reference_tables: dict[str, pd.DataFrame], metadata: dict | None = None) -> str:
    """Write a new release and switch the warehouse to it atomically. Returns the release id. A table is a
    DataFrame (written here) or a Parquet file (linked or copied into the release, never loaded)."""
    release_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    releases = published_dir / "releases"
    tmp = releases / f".{release_id}.tmp"
    final = releases / release_id
    tmp.mkdir(parents=True)
    try:
        for name, df in tables.items():
            if not _TABLE.match(name):
                raise ValueError(f"bad table name {name!r}")
            if isinstance(df, Path):
                _place(df, tmp / f"{name}.parquet")
            else:
                write_parquet_atomic(df, tmp / f"{name}.parquet")
        atomic_write_json(tmp / "release.json", {"release_id": release_id,
                                                 "published_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                                 **(metadata or {}),
                                                 "tables": {k: table_rows(v) for k, v in tables.items()}})
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        build_database(duckdb_path, views_dir, final, reference_tables)
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)  # never served: it is not part of the history
        raise
    atomic_write_bytes(published_dir / "CURRENT", release_id.encode())
    _prune(releases, keep=KEEP_RELEASES, current=release_id)
    return release_id


def build_database(duckdb_path: Path, views_dir: Path, release_dir: Path,
                   reference_tables: dict[str, pd.DataFrame]) -> None:
    tmp_db = duckdb_path.with_name(f".{duckdb_path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        con = duckdb.connect(str(tmp_db))
        try:
            con.execute("create schema if not exists reference")
            con.execute("create schema if not exists published")
            for name, df in reference_tables.items():
                if not _TABLE.match(name):
                    raise ValueError(f"bad table name {name!r}")
                con.register("_df", df)
                con.execute("create table reference." + name + " as select * from _df")
                con.unregister("_df")
            for fname, sql in render_views(views_dir, release_dir):
                try:
                    con.execute(sql)
                except duckdb.Error as exc:
                    raise RuntimeError(f"warehouse/views/{fname}: {exc}") from exc
            con.execute("checkpoint")
        finally:
            con.close()
        os.replace(tmp_db, duckdb_path)
    finally:
        tmp_db.unlink(missing_ok=True)
        Path(str(tmp_db) + ".wal").unlink(missing_ok=True)


HISTORY_FILES = {"indicators.parquet", "release.json", "changelog.parquet"}


def _prune(releases: Path, keep: int, current: str) -> None:
    """Old releases keep their indicators and release.json forever (what was published on a date stays
    queryable); their bulky cell-level and quality files are removed after ``keep`` releases."""
    done = sorted(d for d in releases.iterdir() if d.is_dir() and not d.name.startswith("."))
    for d in done[:-keep]:
        if d.name != current:
            for f in d.iterdir():
                if f.name not in HISTORY_FILES:
                    f.unlink(missing_ok=True)
