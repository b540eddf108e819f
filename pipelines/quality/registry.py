"""The registry of checks: ``@check("name")`` puts a function under the name rules give in ``check:``.

A check is ``fn(rule, table, ctx, con) -> RuleResult`` (``con``: a DuckDB connection with the table as view
``t``); a *problem* check (``problems=True``) reads the adapter's problems instead: ``fn(rule, table, ctx,
problems)``. Families live in ``pipelines/quality/checks/<family>.py``, one per ``quality_rules/<family>.yaml``.
"""

from __future__ import annotations

from typing import Callable

CHECKS: dict[str, Callable] = {}
PROBLEM_CHECKS: dict[str, Callable] = {}
RECORD_CHECKS: dict[str, Callable] = {}


def check(name: str, *, problems: bool = False, records: bool = False) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        table = PROBLEM_CHECKS if problems else RECORD_CHECKS if records else CHECKS
        if name in CHECKS or name in PROBLEM_CHECKS or name in RECORD_CHECKS:
            raise ValueError(f"check {name!r} is registered twice ({table[name].__module__} and {fn.__module__})")
        table[name] = fn
        return fn
    return register
