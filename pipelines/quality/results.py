"""What a rule evaluation produces: the context it runs in, one ``RuleResult`` per rule, the scorecard's
columns and the result of a rule that could not be evaluated."""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from pipelines.quality.rules import Rule
from pipelines.specs import SourceSpec

log = logging.getLogger(__name__)

FAILURE_COLUMNS = ["file_name", "line", "column_name", "value", "country_iso3", "subdivision_code", "year",
                   "month", "national_code", "observed", "expected"]


MAX_FAILURES = 1000


SERIES_KEY = ["country_iso3", "subdivision_code", "national_code", "measure", "sex", "age", "relationship"]


MONTHS_ES = ["", "Enero", "Febrero", "Marzo", "Abril", "Mayo", "Junio", "Julio", "Agosto", "Septiembre",
             "Octubre", "Noviembre", "Diciembre"]


@dataclass
class QualityContext:
    """Everything a rule may need besides the table itself."""

    reference_dir: Path
    source_id: str | None = None
    spec: SourceSpec | None = None                  # the source spec
    crosswalk: pd.DataFrame | None = None           # national_code -> iccs_code
    countries: set[str] | None = None
    population_national: pd.DataFrame | None = None
    population_subnational: pd.DataFrame | None = None
    # previous accepted vintage of the same source; other accepted cells of the same source (X3): a DataFrame,
    # or Parquet file(s) read in place by the checks
    previous: pd.DataFrame | Path | None = None
    related: pd.DataFrame | Path | list[Path] | None = None
    comparison: pd.DataFrame | None = None          # country_iso3, year, rate, source_id (X1)
    received_at: datetime | None = None
    hierarchy: pd.DataFrame | None = None           # child_code, parent_code
    subset_codes: list[str] = field(default_factory=list)


@dataclass
class RuleResult:
    rule: Rule
    status: str                       # pass | fail | not_applicable | error_in_rule
    failing_rows: int = 0
    failures: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FAILURE_COLUMNS))
    observed: str | None = None
    notes: list[str] = field(default_factory=list)
    series: list[dict] = field(default_factory=list)   # for charts: {label, points: [(year, value)], flagged}
    # what evaluated the rule: duckdb | python (ENGINES; pandera in older scorecards); and, for the rules GX
    # evaluates too (gx_suite.GX_CHECKS), GX's own verdict: {"status", "unexpected", "agrees", ...}
    engine: str | None = None
    gx: dict | None = None

    @property
    def blocking(self) -> bool:
        """A failed error rule; or an error or warn rule that could not be evaluated (``error_in_rule``):
        nothing is published on a rule that did not run (quality_rules/README.md)."""
        if self.status == "error_in_rule":
            return self.rule.severity in ("error", "warn")
        return self.status == "fail" and self.rule.severity == "error"

    def as_row(self) -> dict:
        gx = self.gx or {}
        return {"rule_id": self.rule.id, "check": self.rule.check, "severity": self.rule.severity,
                "dimension": self.rule.dimension, "layer": self.rule.layer, "status": self.status,
                "failing_rows": int(self.failing_rows), "threshold": self.rule.threshold_text(),
                "observed": self.observed, "notes": " | ".join(self.notes) or None,
                "override_reason": self.rule.override_reason,
                "engine": self.engine or ENGINES.get(self.rule.check, "duckdb"), "gx_status": gx.get("status"),
                "gx_unexpected": gx.get("unexpected")}


# what runs each check (the scorecard's ``engine`` column)
ENGINES = {"file_parses": "python", "encoding_declared": "python",
           "iccs_code_valid": "python", "metadata_present": "python"}   # every other check: duckdb
# what ran each check when a scorecard had no ``engine`` column yet (in_codelist was pandera until the SQL check)
ENGINES_BEFORE_ENGINE_COLUMN = {**ENGINES, "in_codelist": "pandera"}


SCORECARD_COLUMNS = ["rule_id", "check", "severity", "dimension", "layer", "status", "failing_rows", "threshold",
                     "observed", "notes", "override_reason", "engine", "gx_status", "gx_unexpected"]


def scorecard_frame(rows: list[dict] | pd.DataFrame) -> pd.DataFrame:
    """Scorecard rows with stable column types, whatever wrote them (older files lack the engine/GX
    columns): ``failing_rows`` and ``gx_unexpected`` integers (Int64, NULL when GX did not evaluate the rule),
    ``engine``/``gx_status`` text."""
    df = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    for c in SCORECARD_COLUMNS:
        if c not in df.columns:
            df[c] = None
    if "engine" in df.columns and "check" in df.columns:
        df["engine"] = df["engine"].where(df["engine"].notna(),
                                          df["check"].map(lambda c: ENGINES_BEFORE_ENGINE_COLUMN.get(c, "duckdb")
                                                                        if isinstance(c, str) else None))
    for c in ("engine", "gx_status"):
        df[c] = df[c].astype("object").where(df[c].notna(), None)
    df["gx_unexpected"] = pd.to_numeric(df["gx_unexpected"], errors="coerce").astype("Int64")
    return df


def error_result(rule: Rule, exc: BaseException) -> RuleResult:
    """The result of a rule whose check raised: ``error_in_rule`` with the exception, never a pass."""
    where = ""
    tb = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    if tb:
        last = tb[-1]
        where = f" (at {Path(last.filename).name}:{last.lineno} in {last.name})"
    msg = f"{type(exc).__name__}: {exc}"
    log.error("rule %s (%s) could not be evaluated: %s", rule.id, rule.check, msg,
              exc_info=(type(exc), exc, exc.__traceback__))
    return RuleResult(rule, "error_in_rule", observed=msg[:500],
                      notes=[f"the rule could not be evaluated: {msg}{where}; this is a defect of the rule or "
                             f"the engine, not a finding about the file"],
                      engine=ENGINES.get(rule.check, "duckdb"))
