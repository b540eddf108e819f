"""pandera contracts for each layer's table.

``raw`` is the *standard long table* every adapter emits: one row per published cell, with
``file_name``/``line``/``column_name`` pointing back into the file exactly as received.
``harmonised`` is the ICCS-coded indicator table that ``published.indicators`` exposes.
"""

from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

MEASURES = ["offences", "victims", "population_share"]  # population_share: survey indicators (e.g. ENVIPE)
UNITS = ["count", "rate_per_100k", "percent"]
SEXES = ["_T", "F", "M", "_U"]
# SDMX CL_OBS_STATUS subset used here: A normal, B break, D definition differs, E estimated,
# M missing, P provisional, I imputed, U low reliability.
OBS_STATUS = ["A", "B", "D", "E", "M", "P", "I", "U"]
ICCS_PATTERN = r"^\d{2}(\d{2}(\d(\d)?)?)?$"

# the columns of the standard long table a quality rule may name (the only identifiers placed in rule SQL)
STD_COLUMNS = frozenset({"country_iso3", "subdivision_code", "year", "month", "national_code", "measure", "unit",
                         "sex", "age", "relationship", "obs_status", "value", "line", "file_name", "column_name"})

RAW_COLUMNS = [
    "submission_id", "source_id", "file_name", "line", "column_name", "country_iso3",
    "subdivision_code", "subdivision_name", "year", "month", "national_code", "national_label",
    "measure", "unit", "sex", "age", "relationship", "value", "value_raw", "obs_status",
    "obs_note", "source_note",
]

_str = pa.Column(str, nullable=False)
_ostr = pa.Column(str, nullable=True)

RawSchema = pa.DataFrameSchema(
    {
        "submission_id": _str,
        "source_id": _str,
        "file_name": _str,
        "line": pa.Column("int64", pa.Check.ge(1)),
        "column_name": _str,
        "country_iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "subdivision_code": _ostr,
        "subdivision_name": _ostr,
        "year": pa.Column("int64", pa.Check.in_range(1900, 2100)),
        "month": pa.Column("Int64", pa.Check.in_range(1, 12), nullable=True),
        "national_code": _str,
        "national_label": _ostr,
        "measure": pa.Column(str, pa.Check.isin(MEASURES)),
        "unit": pa.Column(str, pa.Check.isin(UNITS)),
        "sex": pa.Column(str, pa.Check.isin(SEXES)),
        "age": _str,
        "relationship": _str,
        "value": pa.Column("float64", pa.Check.ge(0), nullable=True),
        "value_raw": _ostr,
        "obs_status": pa.Column(str, pa.Check.isin(OBS_STATUS)),
        "obs_note": _ostr,
        "source_note": _ostr,
    },
    strict=True,
    ordered=False,
    name="raw",
)

HARMONISED_COLUMNS = [
    "indicator_id", "country_iso3", "subdivision_code", "subdivision_name", "year", "month",
    "iccs_code", "iccs_level", "measure", "sex", "age", "relationship", "value", "population",
    "population_source", "rate_per_100k", "rate_note", "obs_status", "obs_note", "source_id",
    "submission_id", "n_submissions", "n_cells", "n_cells_reported", "months_reported", "derivation",
    "comparability",
]

HarmonisedSchema = pa.DataFrameSchema(
    {
        "indicator_id": _str,
        "country_iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "subdivision_code": _ostr,
        "subdivision_name": _ostr,
        "year": pa.Column("int64", pa.Check.in_range(1900, 2100)),
        "month": pa.Column("Int64", pa.Check.in_range(1, 12), nullable=True),
        "iccs_code": pa.Column(str, pa.Check.str_matches(ICCS_PATTERN)),
        "iccs_level": pa.Column("int64", pa.Check.isin([1, 2, 3, 4])),
        "measure": pa.Column(str, pa.Check.isin(MEASURES)),
        "sex": pa.Column(str, pa.Check.isin(SEXES)),
        "age": _str,
        "relationship": _str,
        "value": pa.Column("float64", pa.Check.ge(0), nullable=True),
        "population": pa.Column("float64", pa.Check.gt(0), nullable=True),
        "population_source": _ostr,
        "rate_per_100k": pa.Column("float64", pa.Check.ge(0), nullable=True),
        "rate_note": _ostr,
        "obs_status": pa.Column(str, pa.Check.isin(OBS_STATUS)),
        "obs_note": _ostr,
        "source_id": _str,
        "submission_id": _str,
        "n_submissions": pa.Column("int64", pa.Check.ge(1)),
        "n_cells": pa.Column("int64", pa.Check.ge(0)),
        "n_cells_reported": pa.Column("int64", pa.Check.ge(0)),
        "months_reported": pa.Column("Int64", pa.Check.in_range(0, 12), nullable=True),
        "derivation": _str,
        "comparability": _ostr,
    },
    strict=True,
    ordered=False,
    unique=["country_iso3", "subdivision_code", "year", "month", "iccs_code", "measure", "sex",
            "age", "relationship", "source_id"],
    name="harmonised",
)


class ContractError(ValueError):
    """A layer's table broke its contract; ``failures`` is a DataFrame of failure cases."""

    def __init__(self, layer: str, failures: pd.DataFrame):
        self.layer = layer
        self.failures = failures
        head = failures.head(10).to_string(index=False) if len(failures) else ""
        super().__init__(f"{layer} table breaks its contract ({len(failures)} failure cases):\n{head}")


def validate_layer(df: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Validate lazily (collect every failure) and raise ContractError with the failure cases."""
    try:
        return schema.validate(df, lazy=True)
    except SchemaErrors as exc:
        raise ContractError(schema.name or "table", exc.failure_cases) from exc


def arrow_to_pandas(table) -> pd.DataFrame:
    """An Arrow table as pandas, integer columns with missing values as nullable ``Int64`` (not float),
    whatever wrote the file (DuckDB writes no pandas metadata)."""
    import pyarrow as pa_

    nullable = {f.name for f in table.schema if pa_.types.is_integer(f.type) and table.column(f.name).null_count}
    df = table.to_pandas()
    as_int64 = {pa_.int64(): pd.Int64Dtype()}.get
    for c in nullable:   # straight from Arrow (exact, no float; 7x faster than through Python lists)
        df[c] = table.column(c).cast(pa_.int64()).to_pandas(types_mapper=as_int64).array if len(df) \
            else df[c].astype("Int64")
    return df


def read_table(path, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet file as pandas with ``arrow_to_pandas``'s types."""
    import pyarrow.parquet as pq

    return arrow_to_pandas(pq.read_table(path, columns=columns))


def _with_rows(fc: pd.DataFrame, df: pd.DataFrame) -> pd.DataFrame:
    """Failure cases of one batch with what the failing rows say of themselves while the batch is in memory:
    ``row_line`` (the file line) and ``row_column_name`` (the file column), so that a problem names its
    line and column without the table (``pipelines.pipeline.validate.contract_problems``)."""
    fc = fc.copy()
    fc["failure_case"] = fc["failure_case"].astype(object)  # batches concatenated keep each value's type
    idx = pd.to_numeric(fc["index"], errors="coerce")
    ok = idx.notna() & idx.isin(df.index)
    for src, dst in (("line", "row_line"), ("column_name", "row_column_name")):
        vals = pd.Series([None] * len(fc), index=fc.index, dtype="object")
        if src in df.columns and ok.any():
            vals[ok] = df[src].reindex(idx[ok].astype("int64").to_numpy()).to_numpy()
        fc[dst] = vals
    return fc


#: the Parquet (DuckDB) type a contract's column type must have for the SQL screen to judge it; any other
#: pair is left to pandera
_SQL_TYPES = {"int64": "BIGINT", "Int64": "BIGINT", "float64": "DOUBLE", "str": "VARCHAR",
              "string[pyarrow]": "VARCHAR", "string[python]": "VARCHAR"}


#: the column names a contract may place in SQL (an allow-list: quoted as well, never a value)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _ident(name: str) -> str | None:
    """A contract's column name as a quoted SQL identifier, or None for a name outside ``_IDENT``."""
    return '"' + name + '"' if isinstance(name, str) and _IDENT.match(name) else None


def _screen_sql(con, path: str, schema: pa.DataFrameSchema) -> tuple[bool, int] | None:
    """Judge a Parquet file against a contract's column checks in one DuckDB pass, without pandas.

    Returns ``(clean, rows)``, or None where the contract has something this screen does not translate (a
    check other than ``ge``/``gt``/``in_range``/``isin``/``str_matches`` with their defaults, a column type
    outside ``_SQL_TYPES``, coercion, regex columns, table-wide checks): pandera judges those files.
    ``clean`` False means *some* check may fail: pandera then judges the file, so every failure case is
    pandera's, in pandera's words. The screen is never more lenient than pandera: nulls and NaN are what pandera
    calls missing, checks skip them as pandera does (``ignore_na``), and a regex is searched with a leading
    ``^`` (pandera's ``re.match``) by RE2, whose ``$`` is stricter than Python's."""
    if schema.checks or schema.index is not None or schema.coerce:
        return None
    types = {row[0]: row[1] for row in con.execute("describe select * from read_parquet(?)", [path]).fetchall()}
    if schema.strict and set(types) != set(schema.columns):
        return False, 0
    conds: list[str] = []
    params: list = []
    for name, col in schema.columns.items():
        if col.coerce or col.regex or col.unique or name not in types:
            return (False, 0) if name not in types and col.required else None
        want = _SQL_TYPES.get(str(col.dtype))
        if want is None:
            return None
        if types[name] == '"NULL"' and want == "VARCHAR" and col.nullable:
            continue   # a column with no value at all (Arrow's null type): pandera passes it as text
        if types[name] != want:
            return False, 0
        ident = _ident(name)
        if ident is None:
            return None   # a name outside the allow-list: pandera judges the file
        missing = f"({ident} is null or isnan({ident}))" if want == "DOUBLE" else f"{ident} is null"
        if not col.nullable:
            conds.append(missing)
        for chk in col.checks:
            st = chk.statistics or {}
            if not chk.ignore_na or chk.groupby is not None or chk.element_wise:
                return None
            if chk.name == "greater_than_or_equal_to" and set(st) == {"min_value"}:
                test, args = f"{ident} >= ?", [st["min_value"]]
            elif chk.name == "greater_than" and set(st) == {"min_value"}:
                test, args = f"{ident} > ?", [st["min_value"]]
            elif chk.name == "in_range" and set(st) == {"min_value", "max_value", "include_min", "include_max"}:
                test = (f"{ident} {'>=' if st['include_min'] else '>'} ? and "
                        f"{ident} {'<=' if st['include_max'] else '<'} ?")
                args = [st["min_value"], st["max_value"]]
            elif chk.name == "isin" and set(st) == {"allowed_values"} and want != "DOUBLE" and all(
                    isinstance(v, str) if want == "VARCHAR" else (isinstance(v, int) and not isinstance(v, bool))
                    for v in st["allowed_values"]) and st["allowed_values"]:
                test, args = f"list_contains(?, {ident})", [list(st["allowed_values"])]
            elif chk.name == "str_matches" and set(st) == {"pattern"} and want == "VARCHAR" \
                    and isinstance(st["pattern"], str):
                pattern = st["pattern"] if st["pattern"].startswith("^") else "^(?:" + st["pattern"] + ")"
                test, args = f"regexp_matches({ident}, ?)", [pattern]
            else:
                return None
            if any(isinstance(a, float) and a != a for a in args):
                return None
            conds.append(f"not ({missing} or ({test}))")
            params += args
    count = "count(*)" + "".join(f", count(*) filter (where {c})" for c in conds)
    try:
        got = con.execute(f"select {count} from read_parquet(?)", [*params, path]).fetchall()[0]
    except Exception:   # noqa: BLE001 — a pattern RE2 refuses, say: pandera judges the file
        return None
    return (not any(got[1:]), int(got[0]))


def _unique_failures(con, path: str, schema: pa.DataFrameSchema, raise_: bool = False) -> pd.DataFrame | None:
    """The table-wide unique key of a contract, in DuckDB: the repeated keys as failure cases (None: none);
    ``raise_``: raise ContractError with them instead."""
    cols = list(schema.unique)
    idents = [_ident(c) for c in cols]
    if None in idents:
        raise ValueError(f"contract {schema.name}: a unique-key column name outside {_IDENT.pattern}: {cols}")
    key = ", ".join(idents)
    # first a count of distinct key hashes (a third of the grouping's time); only where some hash
    # repeats — a repeated key, or two keys that hash alike — the keys themselves are grouped
    repeats = con.execute(f"select count(*) - count(distinct hash({key})) from read_parquet(?)", [path]).fetchall()[0][0]
    if not repeats:
        return None
    dup = con.execute(f"select {key}, count(*) as n from read_parquet(?) group by all having count(*) > 1 "
                      f"limit 1000", [path]).df()
    if not len(dup):
        return None
    fc = pd.DataFrame({
        "schema_context": "DataFrameSchema", "column": None, "check": f"unique ({', '.join(cols)})",
        "check_number": None, "index": None,
        "failure_case": [str(tuple(r)) + f" x{n}" for r, n in zip(dup[cols].itertuples(index=False), dup["n"])]})
    if raise_:
        raise ContractError(schema.name or "table", fc)
    return fc


def validate_parquet(path, schema: pa.DataFrameSchema, batch_rows: int = 100_000) -> int:
    """Validate a Parquet file against a layer contract in bounded memory: the column checks batch by batch
    (pandera, lazily; failure indexes are rows of the file, and ``row_line``/``row_column_name`` give the
    failing row's ``line`` and ``column_name`` when the table has them), the table-wide unique key in DuckDB.
    Raises ContractError with every failure case; returns the number of rows.

    A file first goes through ``_screen_sql``, one DuckDB pass over the same checks: a file it finds clean (almost
    every file) is not read into pandas at all (12 M raw rows: about 3 s instead of about a minute of pandera);
    a file where a check may fail, or a contract it cannot translate, is judged by pandera as before."""
    import copy

    import duckdb
    import pyarrow.parquet as pq

    from pipelines.settings import get_settings

    con = duckdb.connect(config=get_settings().duckdb_config())
    try:
        screened = _screen_sql(con, str(path), schema)
        if screened is not None and screened[0]:
            if schema.unique and screened[1]:
                _unique_failures(con, str(path), schema, raise_=True)
            return screened[1]
    finally:
        con.close()
    per_batch = copy.copy(schema)
    per_batch.unique = None
    failures, offset = [], 0
    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(batch_size=batch_rows):
        import pyarrow as pa_

        df = arrow_to_pandas(pa_.Table.from_batches([batch]))
        for c, col in schema.columns.items():  # a file without pandas metadata: a batch with no empty month
            if str(col.dtype) == "Int64" and c in df.columns and str(df[c].dtype) == "int64":
                df[c] = df[c].astype("Int64")
        df.index = pd.RangeIndex(offset, offset + len(df))
        try:
            per_batch.validate(df, lazy=True)
        except SchemaErrors as exc:
            failures.append(_with_rows(exc.failure_cases, df))
        offset += len(df)
    if schema.unique and offset:
        # bounded like every other connection of the pipeline: the key's hash table over the harmonised indicators
        # (millions of rows, eleven key columns) took gigabytes under DuckDB's default limit (80 % of the machine)
        con = duckdb.connect(config=get_settings().duckdb_config())
        try:
            dup = _unique_failures(con, str(path), schema)
        finally:
            con.close()
        if dup is not None:
            failures.append(dup)
    if failures:
        fc = pd.concat(failures, ignore_index=True)
        # a failure of the whole table (a column missing or extra, a wrong type: no row) is found in every
        # batch: reported once, as when the table is validated whole
        whole = fc["index"].isna()
        key = fc[["column", "check", "failure_case"]].astype(str)
        fc = fc[~(whole & key.duplicated())].reset_index(drop=True)
        raise ContractError(schema.name or "table", fc)
    return offset
