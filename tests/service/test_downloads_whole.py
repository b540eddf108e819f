"""Issue 13, item 4: downloads are whole or refused. A warehouse larger than the old cuts (200,000 CSV rows,
100,000 XLSX rows) is downloaded whole in CSV, XLSX (rows continuing on further sheets) and Parquet; an XLSX
beyond its limit is refused with a message naming CSV and Parquet; an office gets its own country only."""

from __future__ import annotations

import csv
import io
import json

import duckdb
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from pipelines.service import exports
from tests.service.conftest import WebClient
from pipelines.storage.release import connect as release_connect

ROWS = 250_000   # more than the old CSV cut
ARG_ROWS = 1_000


def _warehouse(path):
    """A published.indicators of ROWS rows (ARG_ROWS of them Argentine), with a text cell that reads as a
    formula in a spreadsheet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute("create schema published")
    con.execute("""
        create table published.indicators as
        select case when i < ? then 'ARG' else 'MEX' end as country_iso3, null::varchar as subdivision_code,
               case when i = 0 then '=cmd()' else null end as subdivision_name,
               2000 + (i % 20) as year, null::bigint as month, lpad(cast(i % 9999 as varchar), 4, '0') as iccs_code,
               'offences' as measure, '_T' as sex, '_T' as age, cast(i as double) as value,
               null::double as rate_per_100k, 'A' as obs_status, 'src' as source_id, 'sub' as submission_id
        from range(?) t(i)""", [ARG_ROWS, ROWS])
    con.close()


@pytest.fixture(scope="module")
def published(portal):
    _warehouse(portal.data_dir / "hemistat.duckdb")
    portal.user("dl.analyst", "analyst")
    portal.user("dl.office", "office", "ARG")
    web = WebClient(portal)
    web.login("dl.analyst")
    yield portal, web
    web.close()


def test_csv_has_every_row(published):
    portal, web = published
    r = web.c.get("/downloads/indicators.csv")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    con = release_connect(portal.data_dir / "hemistat.duckdb")
    assert len(rows) == con.execute("select count(*) from published.indicators").fetchone()[0] == ROWS
    con.close()
    assert rows[0]["subdivision_name"] == "'=cmd()"          # neutralised, not a formula
    ev = portal.db.audit_events(5, action="download_published", actor="dl.analyst")[0]
    assert json.loads(ev.detail)["rows"] == ROWS                   # the audit log records the whole count


def test_parquet_has_every_row(published):
    _, web = published
    r = web.c.get("/downloads/indicators.parquet")
    assert r.status_code == 200
    assert pq.read_table(io.BytesIO(r.content)).num_rows == ROWS


def test_xlsx_continues_on_further_sheets_and_is_refused_beyond_its_limit(published, monkeypatch):
    """The same logic as at 1,048,575 rows a sheet, on small sheets (400 rows) so that the test stays fast:
    ARG's 1,000 rows on three sheets, each with the header; above the XLSX limit, a refusal naming CSV/Parquet."""
    _, web = published
    monkeypatch.setattr(exports, "XLSX_SHEET_ROWS", 400)
    wb = load_workbook(io.BytesIO(web.c.get("/downloads/indicators.xlsx?country=ARG").content), read_only=True)
    assert wb.sheetnames == ["indicators", "indicators_2", "indicators_3"]
    sheets = [list(ws.iter_rows(values_only=True)) for ws in wb.worksheets]
    assert [len(rows) - 1 for rows in sheets] == [400, 400, 200]          # every row, each sheet with its header
    assert all(rows[0][0] == "country_iso3" for rows in sheets)
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", ARG_ROWS - 1)
    r = web.c.get("/downloads/indicators.xlsx?country=ARG")
    assert r.status_code == 413 and "CSV or Parquet" in r.text


def test_an_office_downloads_its_own_country_whole(published):
    portal, _ = published
    office = WebClient(portal)
    office.login("dl.office")
    rows = list(csv.DictReader(io.StringIO(
        office.c.get("/downloads/indicators.csv?country=MEX").content.decode("utf-8-sig"))))
    assert len(rows) == ARG_ROWS and {r["country_iso3"] for r in rows} == {"ARG"}
    office.close()
