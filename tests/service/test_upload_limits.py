"""Issue 14 items 7 and 10 through the portal: a hostile upload (100,000 columns, a workbook with a DTD, a
compression bomb) is refused in seconds with the file and the limit named — before it is stored and without
taking the pipeline lock — while a normal upload sent at the same time gets its verdict."""

from __future__ import annotations

import threading
import time

import pytest

from pipelines.samples.synthetic import _snic
from pipelines.storage import submissions as subs
from tests.adapters.test_guards import LAUGHS, XXE, wide_csv, workbook


@pytest.fixture(scope="module")
def office(portal):
    portal.user("lim.arg", "office", "ARG")
    return portal.token("lim.arg")


def normal_file(tmp_path):
    """63 lines of the synthetic SNIC national file (';'-separated, like the real one)."""
    p = tmp_path / "snic-pais.csv"
    p.write_bytes(b"\r\n".join(_snic(20260101)[1].split(b"\r\n")[:63]) + b"\r\n")
    return p


def test_a_100000_column_upload_is_refused_in_seconds_and_nothing_is_stored(portal, office, tmp_path):
    p = wide_csv(tmp_path / "wide.csv")
    t = time.perf_counter()
    status, body = portal.upload(office, p, source="ar_snic")
    took = time.perf_counter() - t
    assert status == 413 and body["error"] == "err_file_refused", body
    assert "wide.csv" in body["message"] and "2,000 columns" in body["message"], body
    assert took < 5, took
    assert not [m for m in subs.list_submissions(portal.data_dir / "landing") if m["original_name"] == "wide.csv"]
    ev = portal.db.audit_events(20, action="upload_refused", actor="lim.arg")
    assert ev and "err_file_refused" in ev[0].detail


@pytest.mark.parametrize("member,prolog", [("xl/worksheets/sheet1.xml", LAUGHS), ("xl/workbook.xml", XXE)])
def test_workbooks_with_a_dtd_are_refused_clearly(portal, office, tmp_path, member, prolog):
    p = workbook(tmp_path / "dtd.xlsx", prolog={member: prolog})
    status, body = portal.upload(office, p, source="iccs_template", lang="es")
    assert status == 413 and "dtd.xlsx" in body["message"] and "DTD" in body["message"], body
    assert body["message"].startswith("El archivo no puede aceptarse — se rechaza dtd.xlsx: la parte"), body


def test_a_normal_upload_gets_its_verdict_while_a_hostile_one_is_refused(portal, office, tmp_path):
    hostile, normal = wide_csv(tmp_path / "hostile.csv"), normal_file(tmp_path)
    results = {}

    def send(key, path):
        t = time.perf_counter()
        results[key] = (*portal.upload(office, path, source="ar_snic"), time.perf_counter() - t)

    threads = [threading.Thread(target=send, args=("hostile", hostile)),
               threading.Thread(target=send, args=("normal", normal))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    h_status, h_body, h_took = results["hostile"]
    n_status, n_body, n_took = results["normal"]
    print(f"hostile refused in {h_took:.2f} s, normal verdict in {n_took:.2f} s")
    assert h_status == 413 and "hostile.csv" in h_body["message"] and h_took < 5
    assert n_status == 201 and n_body["verdict"] in ("accepted", "review"), n_body


def test_the_upload_page_shows_the_refusal_in_the_users_language(portal, tmp_path):
    from tests.service.conftest import WebClient

    portal.user("lim.web", "office", "ARG", lang="es")
    web = WebClient(portal, lang="es")
    web.login("lim.web")
    r = web.upload(wide_csv(tmp_path / "ancho.csv"), source="ar_snic")
    assert r.status_code == 413, r.status_code
    assert "El archivo no puede aceptarse" in r.text and "se rechaza ancho.csv: un registro tiene 100,000 campos" in r.text
