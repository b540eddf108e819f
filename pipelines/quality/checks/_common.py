"""What the checks share: the table's columns, bound-parameter SQL, failure rows and results."""

from __future__ import annotations

import logging
import warnings

import pandas as pd

from pipelines.contracts.tables import STD_COLUMNS
from pipelines.quality.results import FAILURE_COLUMNS, MAX_FAILURES, RuleResult
from pipelines.quality.rules import Rule

log = logging.getLogger(__name__)


def _columns(con) -> set[str]:
    return {r[0] for r in con.execute("select column_name from (describe t)").fetchall()}


def _fetch(con, sql: str, params: list | None = None) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return con.execute(sql, params or []).to_arrow_table().to_pandas()


def _ident(col: str) -> str:
    if col not in STD_COLUMNS:
        raise ValueError(f"column {col!r} is not a standard-table column")
    return '"' + col + '"'


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
