"""tools/compare_warehouses.py: identical published tables compare equal whatever the run-specific ids;
a changed value, a missing row or a missing table is reported."""

import importlib.util
from pathlib import Path

import duckdb

TOOL = Path(__file__).resolve().parents[2] / "tools" / "compare_warehouses.py"


def _tool():
    spec = importlib.util.spec_from_file_location("compare_warehouses", TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _db(path, rows, sid="x__20250101__aaaaaaaa", extra_table=False):
    con = duckdb.connect(str(path))
    con.execute("create schema published")
    con.execute("create table published.indicators (submission_id varchar, year int, value double)")
    con.executemany("insert into published.indicators values (?, ?, ?)", [(sid, y, v) for y, v in rows])
    if extra_table:
        con.execute("create table published.extra (a int)")
    con.close()
    return str(path)


def test_compare(tmp_path, capsys):
    tool = _tool()
    a = _db(tmp_path / "a.duckdb", [(2000, 1.0), (2001, 2.0)])
    b = _db(tmp_path / "b.duckdb", [(2001, 2.0), (2000, 1.0)], sid="x__20261130__aaaaaaaa")   # other run, other order
    assert tool.main([a, b]) == 0
    c = _db(tmp_path / "c.duckdb", [(2000, 1.0), (2001, 2.5)])
    assert tool.main([a, c]) == 1 and "published.indicators: DIFFERENT" in capsys.readouterr().out
    d = _db(tmp_path / "d.duckdb", [(2000, 1.0), (2001, 2.0)], extra_table=True)
    assert tool.main([a, d]) == 1 and "published.extra: only in B" in capsys.readouterr().out


def test_a_changed_type_is_compared_by_value_and_named(tmp_path, capsys):
    """month DOUBLE (a pandas round trip) -> BIGINT (written by DuckDB): the same values compare equal and the
    change is named; a different value under the changed type is still a difference."""
    tool = _tool()
    a = _db(tmp_path / "a.duckdb", [(2000, 1.0), (2001, 2.0)])
    b = tmp_path / "b.duckdb"
    con = duckdb.connect(str(b))
    con.execute("create schema published")
    con.execute("create table published.indicators (submission_id varchar, year int, value bigint)")
    con.executemany("insert into published.indicators values (?, ?, ?)", [("s", 2000, 1), ("s", 2001, 2)])
    con.close()
    assert tool.main([a, str(b)]) == 0
    assert "type changed: value DOUBLE -> BIGINT" in capsys.readouterr().out
    con = duckdb.connect(str(b))
    con.execute("update published.indicators set value = 3 where year = 2001")
    con.close()
    assert tool.main([a, str(b)]) == 1
