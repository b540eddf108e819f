"""Issue 14 item 9: `hemistat query` is read-only. A query cannot write a file (`COPY … TO`, `EXPORT DATABASE`),
read one outside the published folder (`read_text('/etc/hostname')`, `read_csv`), attach a database, load an
extension or change the settings that forbid it; the warehouse's views over the release's Parquet files still
answer. The CLI runs in a subprocess on a small hand-made warehouse of the same shape (a view in schema
`published` over `<data>/published/releases/<id>/indicators.parquet`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.storage.readonly import ReadOnlyQueryError, check_read_only, connect_readonly, run_query

BIN = Path(sys.executable).with_name("hemistat")


@pytest.fixture
def warehouse(tmp_path) -> Path:
    data = tmp_path / "data"
    rel = data / "published" / "releases" / "20261130T000000Z"
    rel.mkdir(parents=True)
    con = duckdb.connect(str(data / "hemistat.duckdb"))
    con.execute(f"copy (select 'ARG' as country_iso3, 2022 as year, 2653.0 as value) to '{rel}/indicators.parquet'")
    con.execute("create schema published")
    con.execute(f"create view published.indicators as select * from read_parquet('{rel}/indicators.parquet')")
    con.close()
    return data


def _query(data: Path, sql: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HEMISTAT_DATA_DIR": str(data)}
    return subprocess.run([str(BIN), "query", sql, "--format", "csv"], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


def test_cli_query_refuses_copy_and_writes_nothing(warehouse, tmp_path):
    work = tmp_path / "cwd"
    work.mkdir()
    def files():     # (the CLI creates the empty layer folders of a data folder; files are what matter)
        return sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if not p.is_dir())

    before = files()
    r = _query(warehouse, "copy (select 1) to 'x.csv'", work)
    assert r.returncode == 1 and "read-only" in r.stderr and "COPY" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    # nor into the published folder the views may read, nor hidden after a query
    rel = next((warehouse / "published" / "releases").iterdir())
    r = _query(warehouse, f"select 1; copy (select 1) to '{rel}/x.csv'", work)
    assert r.returncode == 1 and "statement 2 is COPY" in r.stderr, r.stderr
    r = _query(warehouse, f"export database '{tmp_path / 'dump'}'", work)
    assert r.returncode == 1 and "EXPORT" in r.stderr
    assert files() == before and not (work / "x.csv").exists()      # nothing written anywhere


def test_cli_query_cannot_read_other_files(warehouse, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read me")
    for sql in ("select * from read_text('/etc/hostname')", f"select content from read_text('{secret}')",
                "select * from read_csv('/etc/passwd', sep = ':')",
                # the views' relative folder is allowed as written; climbing out of it is not
                "select * from read_text('published/../../../../../../etc/hostname')",
                "select * from read_text('published/../landing')",
                f"attach '{tmp_path / 'other.duckdb'}' as o"):
        r = _query(warehouse, sql, tmp_path)
        assert r.returncode == 1, (sql, r.stdout)
        assert ("Permission Error" in r.stderr or "read-only" in r.stderr) and "do not read me" not in r.stdout, \
            (sql, r.stderr)
    assert not (tmp_path / "other.duckdb").exists()


def test_cli_query_still_answers_view_queries(warehouse, tmp_path):
    r = _query(warehouse, "select country_iso3, year, value from published.indicators", tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["country_iso3,year,value", "ARG,2022,2653.0"]
    r = _query(warehouse, "with t as (from published.indicators) select count(*) as n from t", tmp_path)
    assert r.returncode == 0 and r.stdout.splitlines()[1] == "1", r.stderr


def test_the_lock_cannot_be_undone_from_sql(warehouse):
    con = connect_readonly(warehouse / "hemistat.duckdb", warehouse / "published")
    try:
        for sql in ("set enable_external_access = true", "reset enable_external_access",
                    "set lock_configuration = false", "set allowed_directories = ['/']",
                    "set autoload_known_extensions = true"):
            with pytest.raises(duckdb.Error, match="locked"):
                con.execute(sql)
        with pytest.raises(duckdb.Error, match="extensions is disabled|Permission"):
            con.execute("load httpfs")
        with pytest.raises(duckdb.Error, match="Permission"):
            con.execute("select * from read_text('/etc/hostname')")
        assert con.execute("select count(*) from published.indicators").fetchone() == (1,)
    finally:
        con.close()


@pytest.mark.parametrize("sql", ["copy (select 1) to 'x.csv'", "create table t as select 1",
                                 "insert into t values (1)", "install httpfs", "load httpfs", "attach 'x.db'",
                                 "set enable_external_access = true", "pragma enable_profiling", "checkpoint",
                                 "export database 'x'", "import database 'x'", "call pragma_version()"])
def test_only_queries_pass_the_statement_check(sql):
    with pytest.raises(ReadOnlyQueryError, match="read-only"):
        check_read_only(sql)


def test_run_query_returns_a_frame(warehouse):
    df = run_query(warehouse / "hemistat.duckdb", warehouse / "published",
                   "describe select * from published.indicators")
    assert list(df["column_name"]) == ["country_iso3", "year", "value"]


def test_a_second_locked_connection_in_the_same_process_shares_the_locked_instance(tmp_path):
    """DuckDB shares one instance per file within a process: a second read-only connection (the exporter while a
    page reader is open) finds the configuration already locked, keeps the same restrictions, and works."""
    import duckdb

    from pipelines.storage.readonly import lock_down

    db = tmp_path / "w.duckdb"
    c = duckdb.connect(str(db))
    c.execute("create table t as select 1 as a")
    c.close()
    first = duckdb.connect(str(db), read_only=True)
    lock_down(first, [tmp_path], "1GB")
    second = duckdb.connect(str(db), read_only=True)
    lock_down(second, [tmp_path], "1GB")            # raised "the configuration has been locked" before
    assert second.execute("select a from t").fetchone() == (1,)
    with pytest.raises(duckdb.Error):
        second.execute("SET enable_external_access = true")
    first.close()
    second.close()
