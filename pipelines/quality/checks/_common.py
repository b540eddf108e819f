"""What the checks share: the table's columns, bound-parameter SQL, failure rows and results."""

from __future__ import annotations

import logging
import warnings

import duckdb
import pandas as pd

from pipelines.contracts.tables import STD_COLUMNS
from pipelines.quality.results import FAILURE_COLUMNS, MAX_FAILURES, RuleResult
from pipelines.quality.rules import Rule

log = logging.getLogger(__name__)


# what one evaluation's checks ask of its table again and again (its columns, its facts), kept per connection
# while ``engine.evaluate`` holds it open (it opens the entry with the connection and drops it before closing
# it). A connection made elsewhere has no entry and is asked each time. On the template's 16,000-row files
# the nine ``describe`` and six facts queries of each file were about 7 % of its validation.
_MEMO: dict[int, dict] = {}


def _columns(con) -> set[str]:
    memo = _MEMO.get(id(con))
    if memo is not None and "columns" in memo:
        return set(memo["columns"])
    cols = {r[0] for r in con.execute("select column_name from (describe t)").fetchall()}
    if memo is not None:
        memo["columns"] = frozenset(cols)
    return cols


def _fetch(con, sql: str, params: list | None = None) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return con.execute(sql, params or []).to_arrow_table().to_pandas()


def _ident(col: str) -> str:
    if col not in STD_COLUMNS:
        raise ValueError(f"column {col!r} is not a standard-table column")
    return '"' + col + '"'


VIEW_NAMES = frozenset({"prev", "rel"})   # the only views ``_register`` makes (an allow-list, like STD_COLUMNS)


def _register(con, name: str, table, columns: list[str] | None = None) -> bool:
    """``table`` (a DataFrame, or one or more Parquet files read in place) as view ``name`` with the given
    ``columns`` it has; False when there is nothing (None, an empty frame, no file). No SQL text is built:
    the frame is registered and the files are read through DuckDB's relational API."""
    from pathlib import Path

    if name not in VIEW_NAMES:
        raise ValueError(f"view {name!r} is not one of {sorted(VIEW_NAMES)}")
    if table is None:
        return False
    if isinstance(table, pd.DataFrame):
        if table.empty:
            return False
        con.register(name, table[[c for c in table.columns if columns is None or c in columns]])
        return True
    paths = [str(p) for p in ([table] if isinstance(table, (str, Path)) else table)]
    if not paths:
        return False
    rel = con.read_parquet(paths, union_by_name=True)
    rel = rel.select(*[duckdb.ColumnExpression(c) for c in (columns or sorted(rel.columns)) if c in set(rel.columns)])
    con.register(name, rel)   # the connection's own (create_view would share it with every cursor: storage/duck.py)
    return len(rel.limit(1).fetchall()) > 0


def _fetch_failures(con, sql: str, params: list | None = None) -> tuple[pd.DataFrame, int]:
    """The first ``MAX_FAILURES`` rows of a failure query, in its order, and how many rows it has: one statement,
    its result read as Arrow batches of ``MAX_FAILURES`` rows — the first kept, the others only counted — so
    never more than two batches are held (DuckDB itself spills what the query's order needs). A temp table,
    a count and a fetch cost about 10 ms a rule on a small file, most of them passing with no row."""
    import pyarrow as pa

    kept: list = []
    n = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reader = con.execute(sql, params or []).to_arrow_reader(MAX_FAILURES)
        for batch in reader:
            if n < MAX_FAILURES:
                kept.append(batch.slice(0, MAX_FAILURES - n))
            n += batch.num_rows
        df = pa.Table.from_batches(kept, schema=reader.schema).to_pandas()
    return df, int(n)


def facts(con) -> dict:
    """What the table has, from one scan, once per evaluation (a temp table on the connection): the distinct
    values of each breakdown (``sex``, ``age``, ``relationship``), of ``unit`` and ``measure``, and whether
    it has monthly rows, subdivision rows and national rows. Checks about a breakdown the table does not
    have are not applicable without scanning the table again."""
    memo = _MEMO.get(id(con))
    if memo is not None and "facts" in memo:
        return _facts_copy(memo["facts"])
    have = _columns(con)
    if "__facts" not in {r[0] for r in con.execute("select table_name from duckdb_tables() "
                                                   "where temporary").fetchall()}:
        lists = [f"list(distinct {c}) filter (where {c} is not null) as {c}"
                 for c in ("sex", "age", "relationship", "unit", "measure") if c in have]
        flags = [f"count(*) filter (where {c} is not null) > 0 as has_{c}" for c in ("month", "subdivision_code")
                 if c in have]
        flags += ["count(*) filter (where subdivision_code is null) > 0 as has_national"] \
            if "subdivision_code" in have else []
        con.execute("create temp table __facts as select count(*) as n_rows, " + ", ".join(lists + flags) + " from t")
    row = _fetch(con, "select * from __facts").iloc[0].to_dict()
    out = {k: (list(v) if hasattr(v, "__len__") and not isinstance(v, str) else v) for k, v in row.items()}
    if memo is not None:
        memo["facts"] = _facts_copy(out)
    return out


def _facts_copy(f: dict) -> dict:
    """A copy a check may change without changing what the next check is told."""
    return {k: (list(v) if isinstance(v, list) else v) for k, v in f.items()}


def _failures(df: pd.DataFrame, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    cols = FAILURE_COLUMNS + list(extra)
    if df is None or df.empty:
        return pd.DataFrame(columns=cols)
    return df.reindex(columns=cols).head(MAX_FAILURES).reset_index(drop=True)


def _result(rule: Rule, failures: pd.DataFrame, n: int | None = None, extra: tuple[str, ...] = (),
            **kw) -> RuleResult:
    """``extra``: failure columns kept beside FAILURE_COLUMNS (e.g. PROBLEM_COLUMNS)."""
    n = len(failures) if n is None else n
    return RuleResult(rule, "fail" if n else "pass", n, _failures(failures, extra), **kw)


def _na(rule: Rule, why: str) -> RuleResult:
    return RuleResult(rule, "not_applicable", notes=[why])


_NAT = ("subdivision_code is null and month is null and sex = '_T' and age = '_T' and relationship = '_T'")
