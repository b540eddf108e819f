"""One evaluation asks its table's columns and facts once (``checks._common._MEMO``): every check gets the same
answer as before, a check that changes the facts it was given does not change what the next check is told, the
memo is dropped with the connection (also when a rule raises), and a connection made elsewhere is asked each time.
A failure query is read as Arrow batches: the first ``MAX_FAILURES`` rows in the query's order, every row counted."""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pandas as pd
import pytest

from pipelines.quality import evaluate
from pipelines.quality.checks import _common
from pipelines.quality.registry import CHECKS
from pipelines.quality.results import MAX_FAILURES
from tests.quality.conftest import context, rule
from tests.quality.test_at_scale import _hand_made


@pytest.fixture
def spy_checks(monkeypatch):
    """Two throwaway checks: ``spy_mutates`` empties the facts it is given, ``spy_reads`` records what it is
    told; both record the connection's memo entry while the evaluation holds it."""
    seen = []

    def mutates(rule_, table, ctx, con):
        f = _common.facts(con)
        seen.append(("mutates", {k: (list(v) if isinstance(v, list) else v) for k, v in f.items()},
                     _common._MEMO.get(id(con)) is not None))
        f["sex"].clear()
        f["has_month"] = "changed"
        _common._columns(con).clear()
        return _common._na(rule_, "spy")

    def reads(rule_, table, ctx, con):
        seen.append(("reads", _common.facts(con), sorted(_common._columns(con))))
        return _common._na(rule_, "spy")

    def raises(rule_, table, ctx, con):
        raise RuntimeError("broken on purpose")

    monkeypatch.setitem(CHECKS, "spy_mutates", mutates)
    monkeypatch.setitem(CHECKS, "spy_reads", reads)
    monkeypatch.setitem(CHECKS, "spy_raises", raises)
    return seen


def _rules(*checks):
    base = rule("V1", "ar_snic")
    return [replace(base, id=f"Z{i}", check=c) for i, c in enumerate(checks)]


def test_facts_and_columns_are_asked_once_and_each_check_gets_its_own_copy(spy_checks, tmp_path, monkeypatch):
    p = tmp_path / "t.parquet"
    _hand_made().to_parquet(p)
    queries = []
    fetch = _common._fetch
    monkeypatch.setattr(_common, "_fetch", lambda con, sql, params=None: queries.append(sql) or fetch(con, sql, params))
    res = evaluate(p, _rules("spy_mutates", "spy_raises", "spy_reads", "spy_reads"), context("ar_snic", None))
    assert [r.status for r in res] == ["not_applicable", "error_in_rule", "not_applicable", "not_applicable"]
    (_, first, memo_open), (_, second, cols2), (_, third, cols3) = spy_checks
    assert memo_open
    assert sorted(first["sex"]) == ["F", "Mujer", "_T"] and first["has_month"] is True
    assert sorted(second["sex"]) == sorted(first["sex"]) and second["has_month"] is True   # not the spy's changes
    assert second == third and cols2 == cols3 and "national_code" in cols2
    assert sum("__facts" in q for q in queries) == 1                 # one read of the facts for four checks
    assert _common._MEMO == {}                                       # dropped with the connection, despite the raise


def test_a_connection_made_elsewhere_is_asked_each_time():
    con = duckdb.connect()
    con.execute("create temp view t as select 1 as year, 'F' as sex")
    assert _common._columns(con) == {"year", "sex"}
    con.execute("create or replace temp view t as select 1 as year, 'F' as sex, 2.0 as value")
    assert _common._columns(con) == {"year", "sex", "value"}
    assert _common._MEMO == {}
    con.close()


@pytest.mark.parametrize("n", [0, 1, MAX_FAILURES - 1, MAX_FAILURES, MAX_FAILURES + 1, 3 * MAX_FAILURES + 7])
def test_failure_query_keeps_the_first_rows_in_order_and_counts_all(n):
    con = duckdb.connect()
    df, count = _common._fetch_failures(
        con, "select range as line, 'x' || range as value from range(?) order by line desc", [n])
    assert count == n
    assert len(df) == min(n, MAX_FAILURES) and list(df.columns) == ["line", "value"]
    assert df["line"].tolist() == list(range(n - 1, n - 1 - min(n, MAX_FAILURES), -1))
    assert isinstance(df, pd.DataFrame)
    con.close()
