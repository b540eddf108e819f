"""Whole downloads of the published indicators: every row, or a clear refusal — never a silent cut.

* CSV streams from DuckDB in Arrow batches (memory bounded by one batch whatever the size).
* XLSX holds at most 1,048,576 rows per sheet: the rows continue on ``indicators_2``, ``indicators_3`` …
  (written by openpyxl's write-only mode to a temporary file, then streamed); above ``XLSX_MAX_ROWS`` in
  total the XLSX is refused with a pointer to CSV or Parquet.
* Parquet is written by DuckDB (the fastest and smallest whole copy).

Text cells that a spreadsheet would read as a formula are neutralised in CSV and XLSX. The neutralisation, the
batches and the continued sheets are ``pipelines.publication.tabular`` (shared with ``hemistat export`` and the
portal's other formats, ``pipelines.publication.exports``). The SQL is fixed; the only user input, the country,
is a bound parameter.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Iterator

import duckdb

from pipelines.publication import tabular
from pipelines.publication.tabular import TooLargeForXlsx, neutralise  # noqa: F401 - the portal's names

COLUMNS = ["country_iso3", "subdivision_code", "subdivision_name", "year", "month", "iccs_code", "measure", "sex",
           "age", "value", "rate_per_100k", "obs_status", "source_id", "submission_id"]
SQL = ("select " + ", ".join(COLUMNS) + " from published.indicators where (? is null or country_iso3 = ?) "
       "order by country_iso3, source_id, year, iccs_code, subdivision_code nulls first, month nulls first, measure, "
       "sex, age")
XLSX_SHEET_ROWS = tabular.XLSX_SHEET_ROWS     # read at call time: a test may lower them
XLSX_MAX_ROWS = tabular.XLSX_MAX_ROWS
BATCH_ROWS = tabular.BATCH_ROWS


def _connect(duckdb_path: Path) -> duckdb.DuckDBPyConnection:
    """Read-only and locked down (no file outside the published folder, no extension: storage/readonly.py); the
    views' relative file names resolve in the data folder."""
    from pipelines.storage.readonly import connect_readonly

    return connect_readonly(duckdb_path, duckdb_path.parent / "published")


def _params(country: str | None) -> list:
    c = country.upper()[:3] if country else None
    return [c, c]


def count_rows(duckdb_path: Path, country: str | None) -> int:
    con = _connect(duckdb_path)
    try:
        return con.execute("select count(*) from published.indicators where (? is null or country_iso3 = ?)",
                           _params(country)).fetchone()[0]
    finally:
        con.close()


def _batches(duckdb_path: Path, country: str | None) -> Iterator[list[tuple]]:
    con = _connect(duckdb_path)
    try:
        yield from tabular.arrow_batches(con, SQL, _params(country), BATCH_ROWS)
    finally:
        con.close()


_cell = tabular.cell


def csv_stream(duckdb_path: Path, country: str | None) -> Iterator[bytes]:
    """The CSV, UTF-8 with a BOM (spreadsheets), CRLF, one chunk per batch of rows."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([neutralise(c) for c in COLUMNS])
    yield buf.getvalue().encode("utf-8-sig")
    for rows in _batches(duckdb_path, country):
        buf.seek(0)
        buf.truncate()
        for r in rows:
            w.writerow(["" if v is None else v for v in map(_cell, r)])
        yield buf.getvalue().encode("utf-8")


def xlsx_file(duckdb_path: Path, country: str | None, sheet: str = "indicators",
              sheet_rows: int | None = None, max_rows: int | None = None) -> tuple[Path, int, int]:
    """The XLSX in a temporary file: (path, rows, sheets). Rows continue on further sheets past a sheet's
    limit; more than ``max_rows`` raises TooLargeForXlsx before anything is written."""
    total = count_rows(duckdb_path, country)
    fd, name = tempfile.mkstemp(prefix="hemistat-export-", suffix=".xlsx")
    os.close(fd)
    try:
        written = tabular.write_xlsx(Path(name), [tabular.Sheet(sheet, COLUMNS, _batches(duckdb_path, country), total)],
                                     sheet_rows=sheet_rows or XLSX_SHEET_ROWS, max_rows=max_rows or XLSX_MAX_ROWS)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name), sum(written.values()), len(written)


def parquet_file(duckdb_path: Path, country: str | None) -> tuple[Path, int]:
    """The Parquet file (zstd), written batch by batch from DuckDB's Arrow stream: (path, rows)."""
    import pyarrow.parquet as pq

    fd, name = tempfile.mkstemp(prefix="hemistat-export-", suffix=".parquet")
    os.close(fd)
    con = _connect(duckdb_path)
    n = 0
    try:
        reader = con.sql(SQL, params=_params(country)).to_arrow_reader(BATCH_ROWS)
        with pq.ParquetWriter(name, reader.schema, compression="zstd") as w:
            for batch in reader:
                w.write_batch(batch)
                n += batch.num_rows
    finally:
        con.close()
    return Path(name), n
