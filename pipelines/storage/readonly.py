"""Read-only access to the published warehouse for SQL that someone else wrote (``hemistat query``) and for the
portal's downloads (issue 14 item 9).

DuckDB can write files (``COPY … TO``, ``EXPORT DATABASE``), read any file the process can read
(``read_text('/etc/hostname')``, ``read_csv('/etc/passwd')``), attach other databases and install or load
extensions. Opening ``hemistat.duckdb`` with ``read_only=True`` stops none of that. ``connect_readonly``:

1. opens the database read-only;
2. sets the memory limit, then ``allowed_directories`` to the published folder only — the warehouse's views
   read the release's Parquet files there, so external access is needed for exactly that folder;
3. turns ``enable_external_access`` off (every other path is refused: no read, no write, no ATTACH),
   ``autoinstall_known_extensions`` and ``autoload_known_extensions`` off (no extension is fetched or loaded),
   then ``lock_configuration`` on, so no ``SET``/``RESET``/``PRAGMA`` in the query can undo any of it.

``check_read_only(sql)`` refuses, before anything runs, any statement that is not a query (``SELECT``, ``FROM``,
``WITH``, ``DESCRIBE``, ``SUMMARIZE``, ``EXPLAIN``): ``COPY`` and ``EXPORT`` would otherwise still be able to
write inside the allowed folder. DuckDB's own parser classifies the statements (``duckdb.extract_statements``),
no text matching. DuckDB 2.0.1 (uv.lock) has these settings; see its "Securing DuckDB" page.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

# statement types a read-only query may contain (DESCRIBE, SUMMARIZE, SHOW and FROM-first parse as SELECT)
QUERY_TYPES = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})


class ReadOnlyQueryError(ValueError):
    """The SQL is not a read-only query (names the statement refused)."""


def check_read_only(sql: str) -> None:
    """Raise ``ReadOnlyQueryError`` unless every statement of ``sql`` is a query."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise ReadOnlyQueryError(f"the SQL does not parse: {exc}") from None
    if not statements:
        raise ReadOnlyQueryError("no SQL statement given")
    for i, st in enumerate(statements, 1):
        if st.type not in QUERY_TYPES:
            kind = str(st.type).rsplit(".", 1)[-1].replace("_STATEMENT", "")
            where = f"statement {i}" if len(statements) > 1 else "the statement"
            raise ReadOnlyQueryError(
                f"refused: {where} is {kind}, and `hemistat query` is read-only — only SELECT (FROM, WITH, "
                "DESCRIBE, SUMMARIZE) and EXPLAIN queries run; nothing was executed")


def lock_down(con: duckdb.DuckDBPyConnection, allowed_dirs: list[Path], memory_limit: str | None = None,
              relative_dirs: list[str] | None = None) -> None:
    """Restrict an open connection: files only under ``allowed_dirs`` (read by the views), no other file access,
    no extension install/load, and the configuration locked. Order matters: the allowed directories and the
    memory limit must be set while the configuration can still change.

    DuckDB shares one database instance between the connections of a process to the same file: when another
    read-only connection of this process already locked that instance down (same restrictions, set by this
    function), there is nothing left to set, and the connection is used as it is."""
    if _already_locked_down(con):
        return
    if memory_limit:
        con.execute("SET memory_limit = ?", [memory_limit])
    dirs = [str(Path(d).resolve()).rstrip("/") + "/" for d in allowed_dirs]
    # the views name their files relative to the data folder (release.connect sets file_search_path), and
    # DuckDB checks the name as written: each allowed folder's name relative to the database's folder too
    dirs += [d.rstrip("/") + "/" for d in (relative_dirs or [])]
    con.execute("SET allowed_directories = ?", [dirs])
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")


def _already_locked_down(con: duckdb.DuckDBPyConnection) -> bool:
    locked, external = con.execute("select current_setting('lock_configuration'), "
                                   "current_setting('enable_external_access')").fetchone()
    return str(locked).lower() == "true" and str(external).lower() == "false"


def connect_readonly(duckdb_path: Path, published_dir: Path,
                     memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """The warehouse opened read-only and locked down (module docstring)."""
    from pipelines.storage.release import connect

    con = connect(duckdb_path, read_only=True)   # the views' relative file names resolve in the data folder
    try:
        try:
            rel = [Path(published_dir).resolve().relative_to(Path(duckdb_path).resolve().parent).as_posix()]
        except ValueError:
            rel = []
        lock_down(con, [published_dir], memory_limit, relative_dirs=rel)
    except BaseException:
        con.close()
        raise
    return con


def run_query(duckdb_path: Path, published_dir: Path, sql: str, memory_limit: str | None = None):
    """Check that ``sql`` is a read-only query, run it on a locked-down connection, return a DataFrame.
    Raises ``ReadOnlyQueryError`` (refused before running) or ``duckdb.Error`` (e.g. a file outside the
    published folder: "Permission Error: Cannot access file …")."""
    check_read_only(sql)
    con = connect_readonly(duckdb_path, published_dir, memory_limit)
    try:
        return con.execute(sql).df()
    finally:
        con.close()
