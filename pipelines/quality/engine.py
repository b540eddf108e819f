"""The rules engine: one function per ``check`` of the closed vocabulary.

* ``in_codelist``, ``value_range`` and ``obs_status_valid`` run as SQL over the table, keeping each failing
  row's file line and column (``ENGINES`` names what runs each check, the scorecard's ``engine`` column).
* The table is a DataFrame or a Parquet file (``_con``); a file is read in place by DuckDB, never loaded
  into pandas. What several rules share is computed once per evaluation, as a DuckDB temp table on the
  evaluation's connection: the annual series (``checks.plausibility._annual``) and the facts of the table
  (``checks._common.facts``: which breakdowns, months, subdivisions and units it has). A check never
  brings more than ``MAX_FAILURES`` failing rows into pandas (``checks._common._fetch_failures``).
* Dataset-level and cross-table rules run as DuckDB SQL over the table (bound parameters only;
  the only identifiers ever placed in SQL come from an allow-list of standard-table columns).

Each rule runs on its own (``evaluate``): a check that raises becomes a ``RuleResult`` with status
``error_in_rule`` (exception type and message in ``observed``/``notes``, traceback in the log) and the
other rules still run. An error- or warn-severity rule that could not be evaluated blocks the submission
(``RuleResult.blocking``; quality_rules/README.md "Rules that cannot be evaluated" says why).

Input is the standard long table (``pipelines.contracts.tables.RAW_COLUMNS``) of one submission, or
the harmonised indicator table for ``layer: harmonised`` rules. Output: one ``RuleResult`` per rule.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.settings import get_settings
from pipelines.quality import checks  # noqa: F401 (registers every check)
from pipelines.quality.checks._common import _MEMO, _na
from pipelines.quality.registry import CHECKS, PROBLEM_CHECKS, RECORD_CHECKS
from pipelines.quality.results import ENGINES, QualityContext, RuleResult, error_result
from pipelines.quality.rules import Rule

log = logging.getLogger(__name__)


def _con(table: pd.DataFrame | str | Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the table as view ``t`` (a Parquet file is read in place, never loaded), and
    ``t_rows``: the same rows with ``__row``, their position in the table (the file row of a Parquet file).
    Bounded memory: ``duckdb_config()``."""
    from pipelines.storage import duck

    con = duck.cursor()   # a cursor on this process's bounded database: every view below is temp (its own)
    if isinstance(table, (str, Path)):
        con.execute("create temp view t as select * from read_parquet(" + _lit(str(table)) + ")")
        con.execute("create temp view t_rows as select * exclude (file_row_number), file_row_number as __row "
                    "from read_parquet(" + _lit(str(table)) + ", file_row_number = true)")
    else:
        import pyarrow as pa_

        # through Arrow so that pandas' NaN in numeric columns becomes SQL NULL
        con.register("t_df", pa_.Table.from_pandas(table, preserve_index=False))
        con.execute("create temp view t as select * from t_df")
        con.execute("create temp view t_rows as select *, row_number() over () - 1 as __row from t_df")
    return con


def duckdb_config() -> dict:
    """DuckDB settings of a rule evaluation (and of GX's connection): ``Settings.duckdb_config``."""
    return get_settings().duckdb_config()


def _lit(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


def evaluate(table: pd.DataFrame | str | Path | None, rules: list[Rule], ctx: QualityContext,
             layer: str | None = None, problems: list | None = None) -> list[RuleResult]:
    """Run every enabled rule (of ``layer`` if given) on ``table``; never raises for a rule's finding, nor
    for a rule that breaks: each rule runs in its own ``try``, and one that raises is reported as
    ``error_in_rule`` (``error_result``) while the others still run."""
    out: list[RuleResult] = []
    con = _con(table) if table is not None else None
    if con is not None:
        _MEMO[id(con)] = {}   # its columns and facts, asked once by the checks (checks._common), while it is open
    try:
        for rule in rules:
            if not rule.enabled or (layer and rule.layer != layer):
                continue
            try:
                res = _evaluate_one(rule, table, ctx, con, problems)
            except Exception as exc:  # noqa: BLE001 - isolation: one broken rule never hides the others
                res = error_result(rule, exc)
            if res.engine is None:
                res.engine = ENGINES.get(rule.check, "duckdb")
            out.append(res)
    finally:
        if con is not None:
            _MEMO.pop(id(con), None)
            con.close()
    return out


def _evaluate_one(rule: Rule, table, ctx: QualityContext, con, problems) -> RuleResult:
    if rule.check in PROBLEM_CHECKS:
        return PROBLEM_CHECKS[rule.check](rule, table, ctx, problems)
    if con is None:
        return _na(rule, "no table (the file did not parse)")
    fn = CHECKS.get(rule.check) or RECORD_CHECKS.get(rule.check)
    if fn is None:
        raise NotImplementedError(f"rule {rule.id}: check {rule.check!r} has no implementation")
    return fn(rule, table, ctx, con)


def verdict(results: list[RuleResult], acknowledged: set[str] | None = None) -> str:
    """rejected (an error rule failed, or an error/warn rule could not be evaluated) | review (a warn rule
    failed, not yet acknowledged) | accepted. An info rule that could not be evaluated is reported only,
    like an info rule that fails."""
    acknowledged = acknowledged or set()
    if any(r.blocking for r in results):
        return "rejected"
    if any(r.status == "fail" and r.rule.severity == "warn" and r.rule.id not in acknowledged for r in results):
        return "review"
    return "accepted"
