"""Tabular writing shared by the exports (``publication.exports``) and the portal's whole downloads
(``service.exports``): formula neutralisation, DuckDB-written CSV and Parquet, and the Excel workbook whose
rows continue on further sheets past a sheet's 1,048,576 rows.

* A text cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR and their
  full-width forms) gets a leading apostrophe (OWASP CSV injection): ``neutralise`` in Python, and
  ``neutralised_columns`` as SQL for DuckDB's own CSV writer. Numbers stay numbers.
* XLSX holds at most ``XLSX_SHEET_ROWS`` data rows a sheet; the rows continue on ``<table>_2``,
  ``<table>_3`` … each with its header, frozen; above ``XLSX_MAX_ROWS`` in total the workbook is refused
  (``TooLargeForXlsx``) before anything is written, pointing to CSV or Parquet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator, Sequence

import duckdb

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# the same characters as a regular expression over the first character of a text cell (DuckDB's RE2)
_FORMULA_RE = "^[=+\\-@\\t\\r\uff1d\uff0b\uff0d\uff20]"
XLSX_SHEET_ROWS = 1_048_575          # a sheet's 1,048,576 rows, less the header
XLSX_MAX_ROWS = 5_000_000            # beyond this an XLSX is refused: use CSV or Parquet
BATCH_ROWS = 50_000


class TooLargeForXlsx(ValueError):
    def __init__(self, rows: int, limit: int):
        super().__init__(f"{rows} rows: more than {limit} for XLSX; use CSV or Parquet")
        self.rows, self.limit = rows, limit


def neutralise(value):
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def cell(v):
    """A value as a spreadsheet cell: None for NULL and NaN, a list joined with '; ', text neutralised."""
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        return neutralise("; ".join("" if x is None else str(x) for x in v))
    if isinstance(v, dict):
        return neutralise(str(v))
    if isinstance(v, float) and v != v:   # NaN
        return None
    return neutralise(v)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def select_list(con: duckdb.DuckDBPyConnection, relation_sql: str, params: list, *, neutralised: bool = True,
                flat: bool = True) -> str:
    """A select list over ``relation_sql``'s columns: text neutralised (``neutralised``), lists joined with
    '; ' and other nested values as text (``flat``: for CSV and spreadsheets). The column names come from
    DuckDB's description of the relation, never from a user."""
    out = []
    for name, typ in describe(con, relation_sql, params):
        q = quote_ident(name)
        t = str(typ).upper()
        expr = q
        if flat and t.endswith("[]"):
            expr, t = f"array_to_string({q}, '; ')", "VARCHAR"
        elif flat and t.startswith(("STRUCT", "MAP", "UNION")):
            expr, t = f"cast({q} as varchar)", "VARCHAR"
        if neutralised and t in ("VARCHAR", "STRING"):
            expr = f"case when regexp_matches({expr}, '{_FORMULA_RE}') then '''' || {expr} else {expr} end"
        out.append(expr if expr == q else f"{expr} as {q}")
    return ", ".join(out)


def neutralised_columns(con: duckdb.DuckDBPyConnection, relation_sql: str, params: list) -> str:
    return select_list(con, relation_sql, params)


def copy_csv(con: duckdb.DuckDBPyConnection, relation_sql: str, params: list, path: Path,
             *, prefix: str = "") -> int:
    """``relation_sql`` (parameters bound) as CSV: UTF-8, header, text cells neutralised; ``prefix``: SQL select
    items put before the columns (e.g. a row key). Returns the rows written."""
    cols = prefix + neutralised_columns(con, relation_sql, params)
    return copy_out(con, f"select {cols} from ({relation_sql})", params, path, "csv")


def copy_parquet(con: duckdb.DuckDBPyConnection, relation_sql: str, params: list, path: Path,
                 kv_metadata: dict[str, str] | None = None) -> int:
    """``relation_sql`` (parameters bound) as Parquet (zstd), with key-value metadata in the footer (the release
    id, the citations). Returns the rows written."""
    return copy_out(con, relation_sql, params, path, "parquet", kv_metadata)


#: the COPY statement of each export format: fixed text, the path (and a Parquet file's key-value metadata)
#: bound as parameters
_COPY = {"csv": "copy (select * from export_rows) to $path (format csv, header true)",
         "parquet": "copy (select * from export_rows) to $path (format parquet, compression zstd)",
         "parquet_kv": "copy (select * from export_rows) to $path (format parquet, compression zstd, kv_metadata $kv)"}


def copy_out(con: duckdb.DuckDBPyConnection, select_sql: str, params: list, path: Path, fmt: str,
             kv_metadata: dict[str, str] | None = None) -> int:
    """Write the rows of ``select_sql`` (read on ``con``, parameters bound) to ``path`` as ``fmt`` (``csv`` with a
    header, or ``parquet`` with zstd and ``kv_metadata`` in the footer); returns the rows written.

    The warehouse connection ``con`` is locked down and never writes a file: DuckDB shares one locked instance
    among a process's connections to the warehouse, so the folder a connection may write to cannot be chosen per
    export (the portal's reader may have locked it first). The rows stream as Arrow batches into a private
    in-memory DuckDB that only this function uses; its COPY statement is fixed text with the path and the
    metadata bound: memory bounded by a batch, DuckDB's own CSV and Parquet writers."""
    bound: dict = {"path": str(Path(path))}
    if fmt == "parquet" and kv_metadata:   # bound as a struct, which DuckDB needs to be non-empty
        fmt, bound["kv"] = "parquet_kv", {str(k): str(v) for k, v in kv_metadata.items()}
    sql = _COPY[fmt]
    reader = con.sql(select_sql, params=params).to_arrow_reader(BATCH_ROWS)
    writer = duckdb.connect(":memory:")
    try:
        writer.register("export_rows", reader)
        return writer.execute(sql, bound).fetchone()[0]   # COPY answers the rows it wrote
    finally:
        writer.close()


def describe(con: duckdb.DuckDBPyConnection, relation_sql: str, params: list) -> list[tuple[str, str]]:
    """The columns and types of ``relation_sql`` (a relation: parameters bound, nothing run)."""
    rel = con.sql(relation_sql, params=params)
    return list(zip(rel.columns, map(str, rel.types)))


def count_rows(con: duckdb.DuckDBPyConnection, relation_sql: str, params: list) -> int:
    """How many rows ``relation_sql`` has (parameters bound; counted through the relational API, no SQL text)."""
    return con.sql(relation_sql, params=params).count("*").fetchall()[0][0]


def distinct_values(con: duckdb.DuckDBPyConnection, relation_sql: str, params: list, column: str) -> set:
    """The distinct non-null values of one of ``relation_sql``'s columns (named by hemistat, never by a user)."""
    rel = con.sql(relation_sql, params=params).select(duckdb.ColumnExpression(column)).distinct()
    return {r[0] for r in rel.fetchall() if r[0] is not None}


def arrow_batches(con: duckdb.DuckDBPyConnection, relation_sql: str, params: list,
                  batch_rows: int = BATCH_ROWS) -> Iterator[list[tuple]]:
    """Rows of ``relation_sql`` in batches (memory bounded by one batch)."""
    reader = con.sql(relation_sql, params=params).to_arrow_reader(batch_rows)
    for batch in reader:
        cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        yield list(zip(*cols))


class Sheet:
    """One table of a workbook: its name, header and rows (an iterable of row batches)."""

    def __init__(self, name: str, columns: Sequence[str], batches: Iterable[list[tuple]], rows: int):
        self.name, self.columns, self.batches, self.rows = name, list(columns), batches, rows


def write_xlsx(path: Path, sheets: Sequence[Sheet], notes: Sequence[Sequence] | None = None,
               notes_sheet: str = "notes", sheet_rows: int | None = None,
               max_rows: int | None = None) -> dict[str, int]:
    """A workbook: each table on its own sheet (continued on ``<name>_2`` … past ``sheet_rows``), header row
    frozen, then a notes sheet (first row frozen too). Returns {sheet name: data rows}. Refuses
    (``TooLargeForXlsx``) when all tables together exceed ``max_rows``, before writing anything."""
    from openpyxl import Workbook

    sheet_rows = sheet_rows or XLSX_SHEET_ROWS
    max_rows = max_rows or XLSX_MAX_ROWS
    total = sum(s.rows for s in sheets)
    if total > max_rows:
        raise TooLargeForXlsx(total, max_rows)
    wb = Workbook(write_only=True)
    written: dict[str, int] = {}

    def new_sheet(name, header):
        ws = wb.create_sheet(name[:31])
        ws.freeze_panes = "A2"
        ws.append([neutralise(str(c)) for c in header])
        written[ws.title] = 0
        return ws

    for s in sheets:
        ws, n_sheets, in_sheet = None, 0, sheet_rows
        for rows in s.batches:
            for r in rows:
                if in_sheet >= sheet_rows:
                    n_sheets += 1
                    ws = new_sheet(s.name if n_sheets == 1 else f"{s.name}_{n_sheets}", s.columns)
                    in_sheet = 0
                ws.append(list(map(cell, r)))
                in_sheet += 1
                written[ws.title] += 1
        if ws is None:
            new_sheet(s.name, s.columns)
    if notes is not None:
        ws = wb.create_sheet(notes_sheet)
        ws.freeze_panes = "A2"
        for r in notes:
            ws.append(list(map(cell, r)))
    wb.save(str(path))
    return written
