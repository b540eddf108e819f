"""The rules engine: one function per ``check`` of the closed vocabulary.

* ``in_codelist`` compiles to a pandera schema validated lazily, so every failing row is kept with its
  file line and column (``value_range`` and ``obs_status_valid`` run as SQL; ``ENGINES`` names what runs
  each check, the scorecard's ``engine`` column).
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
import math
import traceback
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from pipelines.specs import SourceSpec, scope_by
from pipelines.contracts.tables import STD_COLUMNS
from pipelines.quality.rules import Rule

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
    previous: pd.DataFrame | None = None            # previous accepted vintage of the same source
    related: pd.DataFrame | None = None             # other accepted cells of the same source (X3)
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
    # what evaluated the rule: pandera | duckdb | python (ENGINES); and, for the rules Great Expectations
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
ENGINES = {"in_codelist": "pandera", "file_parses": "python", "encoding_declared": "python",
           "iccs_code_valid": "python", "metadata_present": "python"}   # every other check: duckdb
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
                                          df["check"].map(lambda c: ENGINES.get(c, "duckdb") if isinstance(c, str) else None))
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


# ---------------------------------------------------------------------------------------------------
def _con(table: pd.DataFrame | str | Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    if isinstance(table, (str, Path)):
        con.read_parquet(str(table)).create_view("t")
    else:
        import pyarrow as pa_

        # through Arrow so that pandas' NaN in numeric columns becomes SQL NULL
        con.register("t_df", pa_.Table.from_pandas(table, preserve_index=False))
        con.execute("create view t as select * from t_df")
    return con


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


def _annual(con) -> None:
    """Annual count series per key; monthly sources only for complete years (12 months reported).
    ``annual_prev`` adds the previous year's value of the same series (the year-on-year rules)."""
    con.execute("""
        create or replace temp view annual as
        select country_iso3, subdivision_code, national_code, measure, sex, age, relationship, year,
               sum(value) as value, count(value) as n_values, count(*) as n_cells,
               bool_or(month is not null) as monthly, min(line) as line, any_value(file_name) as file_name,
               case when bool_or(month is not null) then 'year total' else any_value(column_name) end as column_name
        from t where unit = 'count'
        group by country_iso3, subdivision_code, national_code, measure, sex, age, relationship, year
        having count(value) > 0 and (not bool_or(month is not null) or count(value) = 12)
    """)
    con.execute("""
        create or replace temp view annual_prev as
        select *, lag(value) over w as prev, lag(year) over w as prev_year from annual
        window w as (partition by country_iso3, subdivision_code, national_code, measure, sex, age, relationship
                     order by year)
    """)


# ---- structure -----------------------------------------------------------------------------------
PROBLEM_COLUMNS = ("observed_key", "observed_params")


def _problem_rows(problems) -> pd.DataFrame:
    """Adapter problems as failure rows. ``observed`` is the English message; ``observed_key`` and
    ``observed_params`` (JSON) let the report render it in each language (pipelines/adapters/messages.py)."""
    import json

    return pd.DataFrame([{"file_name": p.file, "line": p.line, "column_name": p.column, "value": p.value,
                          "observed": p.message, "observed_key": p.key,
                          "observed_params": json.dumps(p.params, ensure_ascii=False, default=str) if p.key else None}
                         for p in problems])


def check_file_parses(rule, table, ctx, problems=None):
    """The adapter's problems (S1/V1/C3)."""
    probs = [p for p in (problems or []) if p.rule in ("S1", "V1", "C3")]
    if not probs:
        return RuleResult(rule, "pass")
    return _result(rule, _problem_rows(probs), extra=PROBLEM_COLUMNS)


def check_encoding_declared(rule, table, ctx, problems=None):
    import json

    probs = [p for p in (problems or []) if p.rule == "S2"]
    if probs:
        return _result(rule, _problem_rows(probs), extra=PROBLEM_COLUMNS)
    layouts = ctx.spec.layouts if ctx.spec else []
    undeclared = [lay.name for lay in layouts if lay.reader is None or lay.reader.encoding is None]
    if undeclared:
        df = pd.DataFrame([{"observed": f"layout {n}: encoding not declared (utf-8 assumed)",
                            "observed_key": "encoding_not_declared",
                            "observed_params": json.dumps({"layout": str(n)}, ensure_ascii=False)}
                           for n in undeclared])
        return _result(rule, df, extra=PROBLEM_COLUMNS)
    encs = sorted({lay.reader.encoding for lay in layouts})
    return RuleResult(rule, "pass", observed="declared: " + ", ".join(encs))


def check_months_complete(rule, table, ctx, con):
    n_monthly = con.execute("select count(*) from t where month is not null").fetchall()[0][0]
    if not n_monthly:
        return _na(rule, "no monthly data")
    expected = int(rule.params.get("expected_months", 12))
    # one cell per key and month (C4 reports duplicates), so counting values counts months
    df = _fetch(con, """
        with k as (
            select country_iso3, subdivision_code, national_code, measure, sex, age, relationship, year,
                   count(value) as n, max(case when value is not null then month end) as last_month,
                   min(line) as line, any_value(file_name) as file_name,
                   bit_or(case when value is null then (1::bigint << month) else 0::bigint end) as missing_bits
            from t where month is not null and unit = 'count'
            group by all)
        select *, [m for m in range(1, 13) if (missing_bits >> m) & 1 = 1] as missing,
               (select max(year) from t) as max_year
        from k where n <> ?
    """, [expected])
    allow = bool(rule.params.get("allow_incomplete_last_year", True))
    notes = []
    if allow and len(df):
        trailing = (df["year"] == df["max_year"]) & (df["last_month"].fillna(0) == df["n"])
        prov = df[trailing]
        if len(prov):
            months = sorted({int(m) for ms in prov["missing"] for m in (ms if ms is not None else [])})
            notes.append(f"provisional period: {int(prov['year'].iloc[0])} months "
                         f"{', '.join(MONTHS_ES[m] for m in months)} not yet reported (empty, not zero) "
                         f"in {len(prov)} series; the year is published with obs_status P")
        df = df[~trailing]
    df = df.assign(observed=df["n"].astype(str), expected=str(expected), column_name="month",
                   value=df["missing"].map(lambda m: ",".join(str(int(x)) for x in (m if m is not None else []))))
    return _result(rule, df, notes=notes)


# ---- classification -------------------------------------------------------------------------------
def check_crosswalk_covers(rule, table, ctx, con):
    if ctx.crosswalk is None:
        return _na(rule, "no crosswalk for this source")
    xw = ctx.crosswalk
    cols = {"national_code": xw["national_code"]}
    for c in ("valid_from", "valid_to"):
        cols[c] = pd.to_numeric(xw[c], errors="coerce").astype("Int64") if c in xw.columns else pd.NA
    con.register("xw", pd.DataFrame(cols))
    # a row applies to the years valid_from..valid_to (inclusive; empty = open): a code with a value in a
    # year outside them has no row in force for that year
    df = _fetch(con, """
        with miss as (
            select t.national_code, t.year, any_value(t.file_name) as file_name, min(t.line) as line,
                   count(*) as n
            from t where not exists (select 1 from xw x where x.national_code = t.national_code
                                     and t.year between coalesce(x.valid_from, t.year) and coalesce(x.valid_to, t.year))
              -- an empty cell of a code outside its validity is not a use of it (FBI rape_revised before 2013)
              and (t.value is not null or t.national_code not in (select national_code from xw))
            group by t.national_code, t.year)
        select m.*, 'national_code' as column_name, m.national_code as value,
               (select string_agg(coalesce(cast(x.valid_from as varchar), '…') || '–'
                                  || coalesce(cast(x.valid_to as varchar), '…'), ', ')
                from xw x where x.national_code = m.national_code) as valid
        from miss m order by m.line
    """)
    return _result(rule, df.assign(observed=df["n"].astype(str) + " cells",
                                   expected=np.where(df["valid"].notna(), "a crosswalk row valid in " + df["year"].astype(str)
                                                     + " (the row is valid " + df["valid"].fillna("") + ")",
                                                     "a crosswalk row")))


def check_iccs_code_valid(rule, table, ctx, con):
    if ctx.crosswalk is None:
        return _na(rule, "no crosswalk for this source")
    import re

    from pipelines.harmonise import reference as ref

    codes = set(ref.iccs(ctx.reference_dir)["code"])
    rx = re.compile(rule.params.get("pattern", r"^\d{2}(\d{2}(\d(\d)?)?)?$"))
    xw = ctx.crosswalk.reset_index(drop=True)
    rows = []
    for i, r in xw.iterrows():
        c = r.get("iccs_code")
        if c is None or (isinstance(c, float) and math.isnan(c)) or c == "":
            continue
        if not rx.fullmatch(str(c)) or str(c) not in codes:
            rows.append({"file_name": f"crosswalks/{ctx.spec.crosswalk if ctx.spec else ''}.csv",
                         "line": i + 2, "column_name": "iccs_code", "value": r["national_code"],
                         "national_code": str(c), "observed": str(c), "expected": "an ICCS code"})
    return _result(rule, pd.DataFrame(rows))


def _pandera_failures(table: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    try:
        schema.validate(table, lazy=True)
        return pd.DataFrame(columns=FAILURE_COLUMNS)
    except SchemaErrors as exc:
        fc = exc.failure_cases
        fc = fc[fc["index"].notna()]
        idx = fc["index"].astype("int64").to_numpy()
        ctxcols = [c for c in ("file_name", "line", "country_iso3", "subdivision_code", "year", "month",
                               "national_code", "column_name") if c in table.columns]
        base = table.loc[idx, ctxcols].reset_index(drop=True)
        out = base.assign(value=fc["failure_case"].astype(str).to_numpy(),
                          observed=fc["check"].astype(str).to_numpy(),
                          role=fc["column"].astype(str).to_numpy())
        # name the file's column for value failures, the role for dimension failures
        out["column_name"] = np.where(out["role"] == "value", out.get("column_name", out["role"]), out["role"])
        return out


def check_in_codelist(rule, table, ctx, con):
    cols = {}
    for col, allowed in (rule.params.get("columns") or {}).items():
        if col not in table.columns:
            continue
        if allowed == "reference:oas_members":
            allowed = sorted(ctx.countries or [])
        cols[col] = pa.Column(str, pa.Check.isin(list(allowed), name=f"in {col} code list"), nullable=False)
    if not cols:
        return _na(rule, "no coded column present")
    schema = pa.DataFrameSchema(cols, strict=False, coerce=False)
    sub = table[list(cols) + [c for c in ("file_name", "line", "year", "month", "national_code",
                                          "country_iso3", "subdivision_code", "column_name")
                              if c not in cols and c in table.columns]]
    f = _pandera_failures(sub, schema)
    return _result(rule, f.assign(expected="a code of the list") if len(f) else f)


def check_unique_key(rule, table, ctx, con):
    have = _columns(con)
    cols = [c for c in rule.params.get("columns", []) if c in have]
    key = ", ".join(_ident(c) for c in cols)
    df = _fetch(con, "select " + key + ", count(*) as n, min(line) as line, max(line) as line2, "
                "any_value(file_name) as file_name from t group by " + key + " having count(*) > 1 order by line")
    return _result(rule, df.assign(observed=df["n"].astype(str), expected="1",
                                   line=df["line"].astype(str) + ", " + df["line2"].astype(str)))


def check_value_range(rule, table, ctx, con):
    mn = float(rule.params.get("min", 0))
    integer_units = list(rule.params.get("integer_units", ["count"]))
    df = _fetch(con, """
        select file_name, line, column_name, cast(value as varchar) as value, country_iso3, subdivision_code, year,
               month, national_code,
               case when value < ? then 'below ' || ? else 'not an integer count' end as observed
        from t
        where value is not null and (value < ? or (list_contains(?, unit) and value <> floor(value))
                                     or isnan(value) or isinf(value))
        order by line limit 1000
    """, [mn, str(mn), mn, integer_units])
    n = con.execute("""select count(*) from t where value is not null and (value < ? or
                       (list_contains(?, unit) and value <> floor(value)) or isnan(value) or isinf(value))""",
                    [mn, integer_units]).fetchall()[0][0]
    return _result(rule, df, n)


def check_obs_status_valid(rule, table, ctx, con):
    codes = list(rule.params.get("codes", []))
    need = list(rule.params.get("note_required_for", []))
    df = _fetch(con, """
        select file_name, line, 'obs_status' as column_name, obs_status as value, country_iso3, subdivision_code,
               year, month, national_code,
               case when not list_contains(?, obs_status) then 'unknown flag' else 'flag without a note' end as observed
        from t where not list_contains(?, obs_status) or (list_contains(?, obs_status) and obs_note is null)
        order by line limit 1000
    """, [codes, codes, need])
    return _result(rule, df)


# ---- internal consistency ---------------------------------------------------------------------------
def check_breakdown_sums_to_total(rule, table, ctx, con):
    dim = rule.params.get("dimension", "sex")
    total = rule.params.get("total", "_T")
    parts = list(rule.params.get("parts", ["M", "F", "_U"]))
    tol_abs = float(rule.params.get("tolerance_abs", 0))
    tol_rel = float(rule.params.get("tolerance_rel", 0))
    d = _ident(dim)
    others = [c for c in ("country_iso3", "subdivision_code", "year", "month", "national_code", "measure",
                          "sex", "age", "relationship") if c != dim]
    g = ", ".join(_ident(c) for c in others)
    sql = ("with x as (select " + g + ", "
           "max(value) filter (where " + d + " = ?) as total, "
           "sum(value) filter (where list_contains(?, " + d + ")) as parts_sum, "
           "count(value) filter (where list_contains(?, " + d + ")) as n_parts, "
           "min(line) filter (where " + d + " = ?) as line, any_value(file_name) as file_name "
           "from t where unit = 'count' group by " + g + ") "
           "select * from x where total is not null and n_parts > 0 and abs(total - parts_sum) > ? + ? * total "
           "order by line")
    df = _fetch(con, sql, [total, parts, parts, total, tol_abs, tol_rel])
    return _result(rule, df.assign(observed=df["parts_sum"].astype(str),
                                   expected=df["total"].astype(str), column_name=dim))


def check_hierarchy_child_le_parent(rule, table, ctx, con):
    if ctx.hierarchy is None or ctx.hierarchy.empty:
        return _na(rule, "the source declares no parent/child codes")
    con.register("hier", ctx.hierarchy)
    tol = float(rule.params.get("sum_tolerance_rel", 0))
    df = _fetch(con, """
        with k as (
            select c.country_iso3, c.subdivision_code, c.year, c.month, h.parent_code, c.measure, c.sex, c.age,
                   c.relationship, sum(c.value) as kids, count(*) as n_kids, min(c.line) as kid_line,
                   string_agg(c.national_code, '+' order by c.national_code) as kid_codes
            from t c join hier h on h.child_code = c.national_code
            where c.unit = 'count' group by all)
        select p.file_name, p.line, p.column_name, p.country_iso3, p.subdivision_code, p.year, p.month,
               p.national_code, p.value as parent_value, k.kids, k.kid_codes, k.n_kids
        from t p join k on k.parent_code = p.national_code and k.country_iso3 = p.country_iso3
          and k.subdivision_code is not distinct from p.subdivision_code and k.year = p.year
          and k.month is not distinct from p.month and k.measure = p.measure and k.sex = p.sex
          and k.age = p.age and k.relationship = p.relationship
        where p.unit = 'count' and p.value is not null
        order by p.line
    """)
    notes = []
    if len(df):
        both = df[df["kids"].notna()]
        notes.append(f"{len(both)} parent rows are published together with their children "
                     f"({both['national_code'].nunique()} parent codes, e.g. "
                     f"{', '.join(sorted(both['national_code'].unique())[:6])}): summing every row would count "
                     f"{int(both['kids'].sum()):,} units twice; hemistat uses the children plus the parent's residual")
    bad = df[df["kids"] > df["parent_value"] * (1 + tol)]
    return _result(rule, bad.assign(observed=bad["kids"].astype(str), expected=bad["national_code"] + " = "
                                    + bad["parent_value"].astype(str), national_code=bad["kid_codes"],
                                    value=bad["parent_value"].astype(str)), notes=notes)


def _population_join(con, ctx) -> bool:
    if ctx.population_national is None:
        return False
    from pipelines.harmonise.reference import preferred_national_population

    pref = preferred_national_population(ctx.population_national)
    con.register("popn", pref[["country_iso3", "year", "population"]])
    pops = ctx.population_subnational if ctx.population_subnational is not None else \
        pd.DataFrame(columns=["country_iso3", "subdivision_code", "year", "population"])
    con.register("pops", pops[["country_iso3", "subdivision_code", "year", "population"]])
    return True


def check_reported_rate_matches(rule, table, ctx, con):
    if not con.execute("select count(*) from t where unit = 'rate_per_100k'").fetchall()[0][0]:
        return _na(rule, "the file reports no rates")
    if not _population_join(con, ctx):
        return _na(rule, "no reference population")
    warn_rel = float(rule.params.get("warn_rel", 0.01))
    base_rel = float(rule.params.get("different_base_rel", 0.03))
    df = _fetch(con, """
        with r as (
            select r.*, c.value as count_value,
                   coalesce(case when r.subdivision_code is null then n.population end, s.population) as pop
            from t r
            join t c on c.unit = 'count' and c.country_iso3 = r.country_iso3
              and c.subdivision_code is not distinct from r.subdivision_code and c.year = r.year
              and c.month is not distinct from r.month and c.national_code = r.national_code
              and c.measure = r.measure and c.sex = r.sex and c.age = r.age and c.relationship = r.relationship
            left join popn n on r.subdivision_code is null and n.country_iso3 = r.country_iso3 and n.year = r.year
            left join pops s on s.country_iso3 = r.country_iso3 and s.subdivision_code = r.subdivision_code
                            and s.year = r.year
            where r.unit = 'rate_per_100k' and r.value is not null and c.value is not null and r.sex = '_T'
              and r.month is null)
        select *, count_value / pop * 100000 as implied,
               abs(value - count_value / pop * 100000) / nullif(count_value / pop * 100000, 0) as rel
        from r where pop is not null and count_value > 0
    """)
    if df.empty:
        return _na(rule, "no rate with a matching count and reference population")
    bad = df[df["rel"] > warn_rel]
    n_base = int((bad["rel"] > base_rel).sum())
    notes = [f"{n_base} rate(s) differ by more than {base_rel:.0%}: the publisher uses a different population base"] \
        if n_base else []
    return _result(rule, bad.assign(observed=(bad["rel"] * 100).round(2).astype(str) + "%",
                                    expected=bad["implied"].round(4).astype(str),
                                    value=bad["value"].astype(str)), notes=notes,
                   observed=f"median relative difference {df['rel'].median():.2%} over {len(df)} rates")


# ---- plausibility (series) -------------------------------------------------------------------------
def _series_for_chart(con, keys: pd.DataFrame, flagged_col="year", limit=3) -> list[dict]:
    out = []
    for _, k in keys.head(limit).iterrows():
        pts = _fetch(con, """select year, value from annual where country_iso3 = ?
                              and subdivision_code is not distinct from ? and national_code = ? and measure = ?
                              and sex = ? and age = ? and relationship = ? order by year""",
                     [None if pd.isna(v) else v for v in (k.country_iso3, k.subdivision_code, k.national_code,
                                                           k.measure, k.sex, k.age, k.relationship)])
        label = f"{k.country_iso3}{'/' + k.subdivision_code if isinstance(k.subdivision_code, str) else ''} " \
                f"{k.national_code} ({k.measure}, {k.sex})"
        out.append({"label": label, "points": [(int(y), float(v)) for y, v in zip(pts.year, pts.value)],
                    "flagged": [int(k[flagged_col])]})
    return out


def check_yoy_change(rule, table, ctx, con):
    _annual(con)
    mx = float(rule.params.get("max_rel", 0.3))
    kk = float(rule.params.get("poisson_k", 3))
    df = _fetch(con, """
        select * from annual_prev
        where prev is not null and prev > 0 and prev_year = year - 1
          and abs(value - prev) > ? * prev and abs(value - prev) > ? * sqrt(prev + 1)
        order by abs(value - prev) / sqrt(prev + 1) desc
    """, [mx, kk])
    res = _result(rule, df.assign(observed=df["value"].astype(str), expected=df["prev"].astype(str),
                                  value=df["value"].astype(str)))
    res.series = _series_for_chart(con, df)
    return res


def check_robust_zscore(rule, table, ctx, con):
    _annual(con)
    window = int(rule.params.get("window", 10))
    min_years = int(rule.params.get("min_years", 5))
    zmax = float(rule.params.get("max_abs_z", 3.5))
    df = _fetch(con, """
        with s as (
            select a.*, list(value) over (
                partition by country_iso3, subdivision_code, national_code, measure, sex, age, relationship
                order by year range between ? preceding and 1 preceding) as hist
            from annual a),
        m as (select *, list_median(hist) as med, len(hist) as n_hist from s where len(hist) >= ?),
        d as (select *, list_median(list_transform(hist, lambda x: abs(x - med))) as mad from m)
        select *, 0.6745 * (value - med) / mad as z from d
        where mad > 0 and abs(0.6745 * (value - med) / mad) > ? and abs(value - med) > 3 * sqrt(med + 1)
        order by abs(0.6745 * (value - med) / mad) desc
    """, [window, min_years, zmax])
    res = _result(rule, df.assign(observed=df["z"].round(1).astype(str), expected=df["med"].astype(str),
                                  value=df["value"].astype(str)))
    res.series = _series_for_chart(con, df)
    return res


def check_break_to_zero(rule, table, ctx, con):
    _annual(con)
    mb = float(rule.params.get("min_before", 10))
    df = _fetch(con, """
        select *, case when value = 0 then 'drop to zero' else 'jump from zero' end as kind
        from annual_prev where (value = 0 and prev >= ?) or (prev = 0 and value >= ?) order by line
    """, [mb, mb])
    jumps = df[df["kind"] == "jump from zero"]
    df = df[df["kind"] == "drop to zero"]
    notes = [f"{len(jumps)} series jump from 0 to >= {mb:g} (new categories or late starts), e.g. "
             + ", ".join(f"{r.national_code} {r.year}" for r in jumps.head(3).itertuples())] if len(jumps) else []
    res = _result(rule, df.assign(observed=df["prev"].astype(str), expected=df["kind"],
                                  value=df["value"].astype(str)), notes=notes)
    res.series = _series_for_chart(con, df)
    return res


def _mapped_codes(ctx, iccs_code: str) -> list[str]:
    if ctx.crosswalk is None:
        return []
    x = ctx.crosswalk.dropna(subset=["iccs_code"])
    return sorted(x.loc[x["iccs_code"].astype(str).str.startswith(iccs_code), "national_code"])


def check_share_range(rule, table, ctx, con):
    p = rule.params
    codes = _mapped_codes(ctx, str(p.get("iccs_code", "0101")))
    if not codes:
        return _na(rule, f"no national code maps to ICCS {p.get('iccs_code')}")
    dim = _ident(p.get("dimension", "sex"))
    df = _fetch(con, "with s as (select country_iso3, subdivision_code, year, "
                "sum(value) filter (where " + dim + " = '_T') as total, "
                "sum(value) filter (where " + dim + " = ?) as part, "
                "sum(value) filter (where " + dim + " = ?) as unknown, min(line) as line, "
                "any_value(file_name) as file_name "
                "from t where unit = 'count' and measure = ? and list_contains(?, national_code) and month is null "
                "group by all) select *, part / total as share, unknown / total as unknown_share from s "
                "where total > 0 and part is not null",
                [p.get("part", "F"), p.get("unknown_part", "_U"), p.get("measure", "victims"), codes])
    if df.empty:
        return _na(rule, "no breakdown by sex for these offences")
    bad = df[(df["share"] < float(p.get("min", 0))) | (df["share"] > float(p.get("max", 1)))
             | (df["unknown_share"].fillna(0) > float(p.get("unknown_max", 1)))]
    return _result(rule, bad.assign(observed=bad["share"].round(3).astype(str) + " (unknown "
                                    + bad["unknown_share"].round(3).astype(str) + ")",
                                    expected=f"{p.get('min')}–{p.get('max')}", column_name="sex",
                                    value=str(p.get("part", "F"))))


# ---- coherence / coverage / timeliness / revisions / metadata ---------------------------------------
def check_national_equals_subdivisions(rule, table, ctx, con):
    if ctx.related is not None and len(ctx.related):
        have = _columns(con)
        con.register("rel", ctx.related[[c for c in ctx.related.columns if c in have]])
        con.execute("create or replace temp view u as select * from t union all by name "
                    "select * from rel where submission_id not in (select distinct submission_id from t)")
    else:
        con.execute("create or replace temp view u as select * from t")
    tol = float(rule.params.get("tolerance_rel", 0.005))
    df = _fetch(con, """
        with n as (select * from u where subdivision_code is null and unit = 'count' and value is not null),
             s as (select country_iso3, year, month, national_code, measure, sex, age, relationship,
                          sum(value) as subs, count(*) as n_subs
                   from u where subdivision_code is not null and unit = 'count' group by all)
        select n.file_name, n.line, n.column_name, n.country_iso3, n.year, n.month, n.national_code,
               n.value as national, s.subs, s.n_subs
        from n join s on s.country_iso3 = n.country_iso3 and s.year = n.year and s.month is not distinct from n.month
          and s.national_code = n.national_code and s.measure = n.measure and s.sex = n.sex and s.age = n.age
          and s.relationship = n.relationship
        where abs(n.value - s.subs) > ? * n.value
        order by n.line
    """, [tol])
    has_both = con.execute("select count(*) filter (where subdivision_code is null) > 0 and "
                           "count(*) filter (where subdivision_code is not null) > 0 from u").fetchall()[0][0]
    if not has_both:
        return _na(rule, "national and subdivision rows are not both available")
    return _result(rule, df.assign(observed=df["subs"].astype(str), expected=df["national"].astype(str),
                                   value=df["national"].astype(str)))


def _units_listed_in_reference(spec: SourceSpec) -> bool:
    """Whether the subdivisions of the reference population table are units this source should report.
    Not for a report that covers chosen subdivisions only (``national_from_subdivisions: false``, e.g. a
    CEAD export for one region) nor for record-level files (one row per event: a unit without records had
    no recorded events, it did not fail to report - e.g. a Colombian municipality without homicides)."""
    return spec.derives_national and not spec.counts_records


def check_coverage_rate(rule, table, ctx, con):
    """Reporting units / expected units per year. Expected = the subdivisions of the country in the
    reference population table plus every subdivision the file itself reports in some year: a unit
    present in other years but missing in one (a gap in the panel) is always reported; a year whose
    coverage falls below ``min_rate`` is reported with all its missing units."""
    if not con.execute("select count(*) from t where subdivision_code is not null").fetchall()[0][0]:
        return _na(rule, "no subdivisions in this file")
    country = con.execute("select any_value(country_iso3) from t").fetchall()[0][0]
    in_file = {r[0] for r in con.execute("select distinct subdivision_code from t where subdivision_code is not null")
               .fetchall()}
    expected = set(in_file)
    if ctx.population_subnational is not None and (ctx.spec is None or _units_listed_in_reference(ctx.spec)):
        ps = ctx.population_subnational
        expected |= set(ps.loc[ps["country_iso3"] == country, "subdivision_code"].unique())
    con.register("expected_units", pd.DataFrame({"subdivision_code": sorted(expected),
                                                 "in_file": [c in in_file for c in sorted(expected)]}))
    minr = float(rule.params.get("min_rate", 0.95))
    df = _fetch(con, """
        with y as (select distinct year from t),
             rep as (select year, subdivision_code from t where value is not null
                     and subdivision_code is not null group by all),
             rate as (select y.year, (select count(*) from rep r where r.year = y.year)::double
                                     / (select count(*) from expected_units) as rate from y)
        select y.year, e.subdivision_code, e.in_file, rate.rate, (select any_value(file_name) from t) as file_name,
               ? as country_iso3
        from y cross join expected_units e join rate using (year)
        where not exists (select 1 from rep r where r.year = y.year and r.subdivision_code = e.subdivision_code)
        order by y.year, e.subdivision_code
    """, [country])
    bad = df[(df["rate"] < minr) | df["in_file"]]
    notes = []
    if len(bad):
        gaps = bad.groupby("subdivision_code")["year"].agg(["min", "max", "count"])
        notes = [f"{u}: missing {int(r['count'])} year(s) between {int(r['min'])} and {int(r['max'])}"
                 for u, r in gaps.iterrows()][:20]
    return _result(rule, bad.assign(observed=bad["rate"].round(3).astype(str), expected=f">= {minr}",
                                    column_name="subdivision_code", subdivision_code=bad["subdivision_code"],
                                    value=bad["subdivision_code"]), notes=notes)


def _period_end(year: int, month) -> datetime:
    if month is None or (isinstance(month, float) and math.isnan(month)) or pd.isna(month):
        return datetime(int(year), 12, 31, tzinfo=timezone.utc)
    m = int(month)
    return datetime(int(year) + (m == 12), (m % 12) + 1, 1, tzinfo=timezone.utc)


def _latest_period(con):
    rows = con.execute("""select year, max(month) from t where value is not null and
                          year = (select max(year) from t where value is not null) group by year""").fetchall()
    return rows[0] if rows else None


def check_time_lag(rule, table, ctx, con):
    lp = _latest_period(con)
    if not lp:
        return _na(rule, "no values")
    end = _period_end(lp[0], lp[1])
    recv = ctx.received_at or datetime.now(timezone.utc)
    months = (recv - end).days / 30.44
    monthly = lp[1] is not None
    limit = float(rule.params.get("max_months_monthly" if monthly else "max_months_annual", 18))
    obs = f"{months:.1f} months after the end of the latest period ({lp[0]}{'-%02d' % lp[1] if monthly else ''})"
    if months > limit:
        return _result(rule, pd.DataFrame([{"observed": f"{months:.1f}", "expected": f"<= {limit:g}", "year": lp[0]}]),
                       observed=obs)
    return RuleResult(rule, "pass", observed=obs)


def check_punctuality(rule, table, ctx, con):
    """Late when received after the due date of the newest period the file brings: that period's end +
    expected_lag_days + grace_days (pipelines.quality.timeliness, the same due date as source freshness)."""
    from pipelines.quality.timeliness import CADENCE_MONTHS, due_date

    cadence = ctx.spec.cadence if ctx.spec else None
    if cadence not in CADENCE_MONTHS:
        return _na(rule, "the source declares no publication cadence")
    lp = _latest_period(con)
    if not lp:
        return _na(rule, "no values")
    due = due_date(lp[0], None if lp[1] is None or pd.isna(lp[1]) else int(lp[1]), cadence=cadence, spec=ctx.spec,
                   grace_days=rule.params["grace_days"])
    recv = (ctx.received_at or datetime.now(timezone.utc)).date()
    late = (recv - due.date).days
    obs = f"received {recv.isoformat()}; {due.explain()}; cadence {cadence}"
    if late > 0:
        return _result(rule, pd.DataFrame([{"observed": f"{late}", "expected": due.date.isoformat(),
                                            "year": lp[0]}]), observed=obs)
    return RuleResult(rule, "pass", observed=obs)


def _revisions(con, ctx) -> pd.DataFrame | None:
    if ctx.previous is None or ctx.previous.empty:
        return None
    con.register("prev", ctx.previous[[c for c in ("country_iso3", "subdivision_code", "year", "month",
                                                   "national_code", "measure", "unit", "sex", "age",
                                                   "relationship", "value") if c in ctx.previous.columns]])
    # like with like: only the previous cells in the vintage units this file covers (its scope: country x
    # level x the spec's scope dimensions) can be revised or removed; the rest is outside its scope
    by = scope_by(ctx.spec)
    parts = ["country_iso3", "cast(subdivision_code is null as varchar)"] + \
        [{"year": "cast(year as varchar)", "subdivision_code": "coalesce(subdivision_code, '')",
          "national_code": "national_code"}[b] for b in by]
    ukey = "concat_ws('|', " + ", ".join(parts) + ")"
    con.execute("create or replace temp view prev_in_scope as select * from prev where " + ukey
                + " in (select distinct " + ukey + " from t where unit = 'count')")
    return _fetch(con, """
        select coalesce(n.country_iso3, p.country_iso3) as country_iso3,
               coalesce(n.subdivision_code, p.subdivision_code) as subdivision_code,
               coalesce(n.year, p.year) as year, coalesce(n.month, p.month) as month,
               coalesce(n.national_code, p.national_code) as national_code, n.file_name, n.line, n.column_name,
               n.value as new_value, p.value as old_value,
               case when p.value is null and n.value is not null then 'added'
                    when n.value is null and p.value is not null then 'removed'
                    when n.value = p.value then 'stable' when n.value is null then 'stable' else 'revised' end as kind
        from (select * from t where unit = 'count') n
        full join (select * from prev_in_scope where unit = 'count') p
          on n.country_iso3 = p.country_iso3 and n.subdivision_code is not distinct from p.subdivision_code
         and n.year = p.year and n.month is not distinct from p.month and n.national_code = p.national_code
         and n.measure = p.measure and n.sex = p.sex and n.age = p.age and n.relationship = p.relationship
    """)


def check_revision_size(rule, table, ctx, con):
    rv = _revisions(con, ctx)
    if rv is None:
        return _na(rule, "no previous vintage of this source")
    counts = rv["kind"].value_counts().to_dict()
    maxy = int(rv["year"].max())
    back = int(rule.params.get("min_years_back", 2))
    mx = float(rule.params.get("max_rel", 0.05))
    r = rv[(rv["kind"] == "revised") & (rv["year"] <= maxy - back)].copy()
    r["rel"] = (r["new_value"] - r["old_value"]).abs() / r["old_value"].abs().replace(0, np.nan)
    bad = r[(r["rel"] > mx) | (r["old_value"] == 0)]
    bad = pd.concat([bad, rv[(rv["kind"] == "removed") & (rv["year"] <= maxy - back)]])
    notes = [", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))]
    return _result(rule, bad.assign(observed=bad["new_value"].astype(str), expected=bad["old_value"].astype(str),
                                    value=bad["new_value"].astype(str)), notes=notes)


def check_mean_absolute_revision(rule, table, ctx, con):
    rv = _revisions(con, ctx)
    if rv is None:
        return _na(rule, "no previous vintage of this source")
    both = rv[rv["new_value"].notna() & rv["old_value"].notna()]
    if both.empty:
        return _na(rule, "no common cells with the previous vintage")
    d = both["new_value"] - both["old_value"]
    obs = f"MAR {d.abs().mean():.3f}, MR {d.mean():.3f}, MaxAR {d.abs().max():.0f} over {len(both)} cells"
    return RuleResult(rule, "pass", observed=obs, notes=[obs])


def check_metadata_present(rule, table, ctx, con):
    missing = [f for f in rule.params.get("fields", []) if not getattr(ctx.spec, f, None)]
    if missing:
        return _result(rule, pd.DataFrame([{"file_name": f"sources/{ctx.source_id}.yaml", "column_name": f,
                                            "observed": "missing", "expected": "a value"} for f in missing]))
    return RuleResult(rule, "pass")


# ---- harmonised-layer rules (table = harmonised indicators) -----------------------------------------
_NAT = ("subdivision_code is null and month is null and sex = '_T' and age = '_T' and relationship = '_T'")


def check_measure_ratio(rule, table, ctx, con):
    p = rule.params
    df = _fetch(con, "with x as (select source_id, country_iso3, year, "
                "max(value) filter (where measure = ?) as num, max(value) filter (where measure = ?) as den "
                "from t where iccs_code = ? and " + _NAT + " group by all) "
                "select *, num / den as ratio from x where num is not null and den > 0",
                [p.get("numerator", "victims"), p.get("denominator", "offences"), p.get("iccs_code", "0101")])
    if df.empty:
        return _na(rule, "no country-year with both measures")
    bad = df[(df["ratio"] < float(p.get("min", 0))) | (df["ratio"] > float(p.get("max", 1e9)))]
    return _result(rule, bad.assign(observed=bad["ratio"].round(3).astype(str),
                                    expected=f"{p.get('min')}–{p.get('max')}", national_code=p.get("iccs_code")))


def check_rate_range(rule, table, ctx, con):
    """Rates above ``max`` are reported (rare, please confirm); rates above ``hard_max`` are reported as
    above the hard limit, with a note: a unit, population or decimal error is far more likely than a real
    rate. Both are findings of the rule's severity (warn: the harmonised layer blocks nothing, and whole
    subdivisions do reach such rates); the scorecard row's ``observed`` and ``notes`` count the hard ones."""
    p = rule.params
    df = _fetch(con, "select source_id, country_iso3, subdivision_code, year, rate_per_100k from t "
                "where iccs_code = ? and measure = 'offences' and month is null and sex = '_T' and age = '_T' "
                "and relationship = '_T' and rate_per_100k > ?", [p.get("iccs_code", "0101"), float(p.get("max", 100))])
    hard_max = p.get("hard_max")
    hard = df["rate_per_100k"] > float(hard_max) if hard_max is not None else pd.Series(False, index=df.index)
    rate = df["rate_per_100k"].round(1).astype(str)
    df = df.assign(observed=rate.where(~hard, rate + f" (above the hard limit {hard_max})"),
                   expected=f"<= {p.get('max')}", national_code=p.get("iccs_code"))
    df.loc[hard, "expected"] = f"<= {hard_max} (hard limit: a unit, population or decimal error is likely)"
    above_hard = df[hard]
    notes, observed = [], None
    if len(above_hard):
        observed = f"{len(above_hard)} of {len(df)} rate(s) above {p.get('max')} are above the hard limit {hard_max}"
        notes.append(f"{len(above_hard)} rate(s) above the hard limit {hard_max} per 100,000 (check the unit, the "
                     "population and the decimal mark): " + ", ".join(
                         f"{r.country_iso3}{'/' + r.subdivision_code if isinstance(r.subdivision_code, str) else ''} "
                         f"{r.year} {r.source_id} {r.rate_per_100k:.1f}" for r in above_hard.head(10).itertuples()))
    return _result(rule, pd.concat([above_hard, df[~hard]]), notes=notes, observed=observed)  # likely errors first


def check_two_source_ratio(rule, table, ctx, con):
    p = rule.params
    if ctx.comparison is None or ctx.comparison.empty:
        return _na(rule, "no comparison series (public-health / international) available")
    con.register("cmp", ctx.comparison[["country_iso3", "year", "rate", "source_id"]])
    df = _fetch(con, "select t.source_id, t.country_iso3, t.year, t.months_reported, "
                "t.rate_per_100k as national_rate, "
                "c.rate as comparison_rate, c.source_id as comparison_source, t.rate_per_100k / c.rate as ratio "
                "from t join cmp c on c.country_iso3 = t.country_iso3 and c.year = t.year "
                "where t.iccs_code = ? and t.measure = 'offences' and " + _NAT.replace("subdivision_code", "t.subdivision_code")
                .replace("month", "t.month").replace("sex", "t.sex").replace("age", "t.age")
                .replace("relationship", "t.relationship") + " and t.rate_per_100k is not null and c.rate > 0 "
                "and t.comparability = 'national' order by t.country_iso3, t.year",
                [p.get("iccs_code", "0101")])
    # the comparison series are annual rates: a national year with fewer than 12 months reported (a
    # provisional year) is never compared with them; it is named in the notes instead
    partial = df[df["months_reported"].notna() & (df["months_reported"] < 12)]
    df = df.drop(partial.index).reset_index(drop=True)
    partial_notes = [f"{r.country_iso3} {r.year} ({r.source_id}): {int(r.months_reported)} of 12 months reported, "
                     f"not compared with the annual {r.comparison_source} rate"
                     for r in partial.drop_duplicates(["source_id", "country_iso3", "year"]).itertuples()]
    if df.empty:
        res = _na(rule, "no overlapping country-year between the national series and the comparison series")
        res.notes += partial_notes
        return res
    bad = df[(df["ratio"] < float(p.get("min", 0.8))) | (df["ratio"] > float(p.get("max", 1.25)))]
    close = df[(df["ratio"] >= float(p.get("info_min", 0.9))) & (df["ratio"] <= float(p.get("info_max", 1.1)))]
    notes = [f"{len(close)} of {len(df)} country-years agree within "
             f"{p.get('info_min', 0.9)}–{p.get('info_max', 1.1)}"]
    apart = df[~df.index.isin(close.index)]
    notes += [f"{r.country_iso3} {r.year}: ratio {r.ratio:.2f} ({r.source_id} {r.national_rate:.1f} vs "
              f"{r.comparison_source} {r.comparison_rate:.1f} per 100,000)" for r in apart.head(30).itertuples()]
    notes += partial_notes
    res = _result(rule, bad.assign(observed=bad["ratio"].round(2).astype(str),
                                   value=bad["national_rate"].round(1).astype(str) + " vs "
                                   + bad["comparison_rate"].round(1).astype(str) + " (" + bad["comparison_source"] + ")",
                                   expected=f"{p.get('min')}–{p.get('max')}", national_code=p.get("iccs_code")),
                  notes=notes)
    for (src, ctry), g in df.groupby(["source_id", "country_iso3"]):
        res.series.append({"label": f"{ctry} {src} vs {g['comparison_source'].iloc[0]} (rate per 100k)",
                           "points": [(int(y), float(v)) for y, v in zip(g.year, g.national_rate)],
                           "points2": [(int(y), float(v)) for y, v in zip(g.year, g.comparison_rate)],
                           "flagged": [int(y) for y in bad[(bad.country_iso3 == ctry)].year]})
    return res


def check_multi_institution_ratio(rule, table, ctx, con):
    p = rule.params
    df = _fetch(con, "with x as (select country_iso3, year, source_id, value from t where iccs_code = ? and "
                "measure = 'offences' and comparability = 'national' and coalesce(months_reported, 12) = 12 and "
                + _NAT + ") "
                "select a.country_iso3, a.year, a.source_id as a_source, b.source_id as b_source, a.value as a_value, "
                "b.value as b_value, abs(a.value - b.value) / greatest(a.value, b.value) as rel "
                "from x a join x b on a.country_iso3 = b.country_iso3 and a.year = b.year and a.source_id < b.source_id",
                [p.get("iccs_code", "0101")])
    if df.empty:
        return _na(rule, "no country-year with two national institutions")
    bad = df[df["rel"] > float(p.get("max_rel_diff", 0.1))]
    return _result(rule, bad.assign(value=bad["a_source"] + " " + bad["a_value"].astype(str) + " vs " + bad["b_source"]
                                    + " " + bad["b_value"].astype(str), observed=(bad["rel"] * 100).round(1).astype(str)
                                    + "%", expected=f"within {p.get('max_rel_diff')}"))


def check_completeness_rate(rule, table, ctx, con):
    core = [str(c) for c in rule.params.get("core_iccs", [])]
    df = _fetch(con, "select source_id, country_iso3, year, count(distinct iccs_code) filter "
                "(where list_contains(?, iccs_code) and value is not null) / ?::double as rate from t where "
                "measure = 'offences' and " + _NAT + " group by all", [core, len(core)])
    if df.empty:
        return _na(rule, "no national annual rows")
    target = float(rule.params.get("target", 0.9))
    bad = df[df["rate"] < target]
    obs = f"median completeness {df['rate'].median():.0%} of {len(core)} core ICCS codes"
    return _result(rule, bad.assign(observed=bad["rate"].round(2).astype(str), expected=f">= {target}"), observed=obs)


CHECKS = {
    "months_complete": check_months_complete, "crosswalk_covers": check_crosswalk_covers,
    "iccs_code_valid": check_iccs_code_valid, "in_codelist": check_in_codelist, "unique_key": check_unique_key,
    "value_range": check_value_range, "obs_status_valid": check_obs_status_valid,
    "breakdown_sums_to_total": check_breakdown_sums_to_total,
    "hierarchy_child_le_parent": check_hierarchy_child_le_parent,
    "reported_rate_matches": check_reported_rate_matches, "yoy_change": check_yoy_change,
    "robust_zscore": check_robust_zscore, "break_to_zero": check_break_to_zero, "share_range": check_share_range,
    "national_equals_subdivisions": check_national_equals_subdivisions, "coverage_rate": check_coverage_rate,
    "time_lag": check_time_lag, "punctuality": check_punctuality, "revision_size": check_revision_size,
    "mean_absolute_revision": check_mean_absolute_revision, "metadata_present": check_metadata_present,
    "measure_ratio": check_measure_ratio, "rate_range": check_rate_range, "two_source_ratio": check_two_source_ratio,
    "multi_institution_ratio": check_multi_institution_ratio, "completeness_rate": check_completeness_rate,
}
PROBLEM_CHECKS = {"file_parses": check_file_parses, "encoding_declared": check_encoding_declared}


def evaluate(table: pd.DataFrame | str | Path | None, rules: list[Rule], ctx: QualityContext,
             layer: str | None = None, problems: list | None = None) -> list[RuleResult]:
    """Run every enabled rule (of ``layer`` if given) on ``table``; never raises for a rule's finding, nor
    for a rule that breaks: each rule runs in its own ``try``, and one that raises is reported as
    ``error_in_rule`` (``error_result``) while the others still run."""
    out: list[RuleResult] = []
    con = _con(table) if table is not None else None
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
            con.close()
    return out


def _evaluate_one(rule: Rule, table, ctx: QualityContext, con, problems) -> RuleResult:
    if rule.check in PROBLEM_CHECKS:
        return PROBLEM_CHECKS[rule.check](rule, table, ctx, problems)
    if con is None:
        return _na(rule, "no table (the file did not parse)")
    fn = CHECKS.get(rule.check)
    if fn is None:
        raise NotImplementedError(f"rule {rule.id}: check {rule.check!r} has no implementation")
    tbl = table if isinstance(table, pd.DataFrame) else None
    if tbl is None and rule.check == "in_codelist":  # only the columns the check needs
        import pyarrow.parquet as pq

        have = set(pq.read_schema(table).names)
        want = [c for c in list((rule.params.get("columns") or {})) + ["file_name", "line", "year", "month",
                "national_code", "country_iso3", "subdivision_code", "column_name"] if c in have]
        tbl = pd.read_parquet(table, columns=list(dict.fromkeys(want)))
    return fn(rule, tbl, ctx, con)


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
