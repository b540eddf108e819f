"""A Spanish page of the portal shows Spanish-formatted numbers (Babel filters in the templates), an
English page English ones. The portal runs in this process (tests/service/conftest.py's App)."""

from __future__ import annotations

import re

import pytest

from tests.service.conftest import App, WebClient, good_file


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    a = App(tmp_path_factory.mktemp("portal") / "data")
    yield a
    a.stop()


def test_submission_page_size_in_the_page_language(portal, tmp_path):
    portal.user("ofi_es", "office", "ARG", lang="es")
    portal.user("ofi_en", "office", "ARG", lang="en")
    f = good_file(tmp_path)
    size = f.stat().st_size
    assert size >= 1000
    es = WebClient(portal, lang="es")
    es.login("ofi_es")
    r = es.upload(f)
    assert r.status_code == 200, r.text[:300]
    sid = re.search(r"/submissions/([A-Za-z0-9_-]+)", str(r.url)).group(1)
    page = es.c.get(f"/submissions/{sid}").text
    assert f"{size:,}".replace(",", ".") + " bytes" in page          # 4.321 bytes
    en = WebClient(portal, lang="en")
    en.login("ofi_en")
    assert f"{size:,} bytes" in en.c.get(f"/submissions/{sid}").text   # 4,321 bytes
    es.close()
    en.close()
