"""The portal offers every export format (issue 15 item 2): signed-in users at /downloads/export/<format> (an
office: its own country only), the public at /public/downloads/<format> without signing in; a zip of the files
``hemistat export`` writes. Formats are allow-listed, bad filters are a 400 naming the problem, and a file name
sent by a user never becomes a path."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from tests.publication.conftest import build
from tests.service.conftest import WebClient


@pytest.fixture(scope="module")
def published(portal, tmp_path_factory):
    rel = build(portal.data_dir, tmp_path_factory.mktemp("views"))
    portal.user("ex.analyst", "analyst")
    portal.user("ex.office", "office", "BRA")
    yield portal, rel


def _zip(r) -> zipfile.ZipFile:
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(r.content))


def test_the_public_downloads_any_format_without_signing_in(published):
    portal, rel = published
    c = portal.client()
    z = _zip(c.get("/public/downloads/datapackage?country=MEX&iccs=0101&from=2020"))
    assert sorted(z.namelist()) == ["comparable.csv", "datapackage.json", "indicators.csv", "sources.csv"]
    dp = json.loads(z.read("datapackage.json"))
    assert dp["hemistat"]["release_id"] == rel["current"]
    rows = list(csv.DictReader(io.StringIO(z.read("indicators.csv").decode())))
    assert {r["country_iso3"] for r in rows} == {"MEX"} and {r["iccs_code"] for r in rows} == {"0101"}
    assert min(int(r["year"]) for r in rows) == 2020
    z = _zip(c.get("/public/downloads/sdmx-ml?release=" + rel["first"]))
    assert "indicators.sdmx.xml" in z.namelist() and "comparable.sdmx.xml" not in z.namelist()


@pytest.mark.parametrize("path, status", [
    ("/public/downloads/exe", 404), ("/public/downloads/..%2F..%2Fetc%2Fpasswd", 404),
    ("/public/downloads/csv?release=..%2F..%2Fhemistat.duckdb", 400), ("/public/downloads/csv?country=ZZZ", 400),
    ("/public/downloads/csv?from=abc", 400),
])
def test_formats_are_allow_listed_and_bad_filters_refused(published, path, status):
    portal, _ = published
    r = portal.client().get(path)
    assert r.status_code == status
    if status == 400:
        assert any(w in r.text for w in ("unknown release", "unknown country", "export cannot be made"))


def test_a_refusal_is_in_the_readers_language(published):
    portal, _ = published
    r = portal.client(headers={"accept-language": "es"}).get("/public/downloads/csv?country=ZZZ")
    assert r.status_code == 400
    assert "país desconocido &#39;ZZZ&#39;" in r.text or "país desconocido 'ZZZ'" in r.text
    r = portal.client(headers={"accept-language": "fr"}).get("/public/downloads/csv?iccs=77")
    assert r.status_code == 400 and "code ICCS inconnu" in r.text


def test_an_office_gets_its_own_country_in_every_format(published):
    portal, rel = published
    office = WebClient(portal)
    office.login("ex.office")
    z = _zip(office.c.get("/downloads/export/csv?country=MEX"))
    rows = list(csv.DictReader(io.StringIO(z.read("indicators.csv").decode())))
    assert {r["country_iso3"] for r in rows} == {"BRA"} and {r["release_id"] for r in rows} == {rel["current"]}
    ev = portal.db.audit_events(5, action="download_export", actor="ex.office")[0]
    assert json.loads(ev.detail)["format"] == "csv"
    office.close()


def test_signed_in_xlsx_and_the_downloads_page_links_every_format(published):
    from openpyxl import load_workbook

    portal, _ = published
    web = WebClient(portal)
    web.login("ex.analyst")
    page = web.c.get("/downloads").text
    assert all(f'/downloads/export/{f}"' in page for f in ("csv", "parquet", "xlsx", "sdmx-csv", "sdmx-ml",
                                                           "datapackage"))
    z = _zip(web.c.get("/downloads/export/xlsx?country=ARG"))
    [name] = z.namelist()
    wb = load_workbook(io.BytesIO(z.read(name)))
    assert wb.sheetnames[-1] == "notes"
    web.close()
