"""storage.duck: cursors on one database per process. What a cursor registers or creates as temp is its own —
two validations side by side (threads of the portal) never see each other's ``t`` — and the rule engine's
views are all of that kind."""

import threading

import pandas as pd

from pipelines.storage import duck


def test_a_cursor_sees_only_its_own_views(data_env):
    a, b = duck.cursor(), duck.cursor()
    try:
        a.register("t", pd.DataFrame({"x": [1]}))
        b.register("t", pd.DataFrame({"x": [2, 3]}))
        a.execute("create temp view t_rows as select x * 10 as y from t")
        assert a.execute("select count(*) from t").fetchall()[0][0] == 1
        assert b.execute("select count(*) from t").fetchall()[0][0] == 2
        assert b.execute("select count(*) from duckdb_views() where view_name = 't_rows' and not internal "
                         "and temporary").fetchall()[0][0] == 0
    finally:
        a.close()
        b.close()


def test_one_database_per_settings_and_its_memory_bound(data_env, monkeypatch):
    """The database has the settings' memory bound, read at run time: another setting, another database."""
    import duckdb

    def shown(limit):   # the limit as DuckDB shows it
        con = duckdb.connect(config={"memory_limit": limit})
        try:
            return con.execute("select current_setting('memory_limit')").fetchall()[0][0]
        finally:
            con.close()

    for limit in ("1GB", "256MB"):
        monkeypatch.setenv("HEMISTAT_DUCKDB_MEMORY", limit)
        c = duck.cursor()
        try:
            assert c.execute("select current_setting('memory_limit')").fetchall()[0][0] == shown(limit)
        finally:
            c.close()
    assert shown("1GB") != shown("256MB")


def test_rule_engines_side_by_side_in_threads_keep_their_tables(data_env, tmp_path):
    """The rule engine's connection (quality.engine._con) in four threads at once, each on its own file:
    every thread counts its own rows through ``t`` and ``t_rows``."""
    from pipelines.quality.engine import _con

    paths = []
    for i in range(4):
        p = tmp_path / f"f{i}.parquet"
        pd.DataFrame({"value": [float(k) for k in range(10 * (i + 1))]}).to_parquet(p)
        paths.append(p)
    got, errors = {}, []

    def work(i):
        try:
            for _ in range(20):
                con = _con(paths[i])
                try:
                    n = con.execute("select count(*) from t").fetchall()[0][0]
                    m = con.execute("select max(__row) + 1 from t_rows").fetchall()[0][0]
                finally:
                    con.close()
                got.setdefault(i, set()).add((n, m))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert got == {i: {(10 * (i + 1), 10 * (i + 1))} for i in range(4)}
