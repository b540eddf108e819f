"""``hemistat serve`` shows the public site at ``/data/`` to anonymous readers: 503 (with Retry-After) until the
first build is done, then the static pages in the reader's language, nothing outside the build's folder, and a
new build when the warehouse commits a new release (tests/site/synthetic.py's warehouse, the portal in this
process)."""

from __future__ import annotations

import json
import sys
import time

import pytest

from tests.conftest import environ
from tests.site.synthetic import RELEASE

ENV = {"HEMISTAT_COOKIE_SECURE": "0", "HEMISTAT_SECRET_KEY": "test-secret-key-0123456789"}


@pytest.fixture
def portal(fallback_wh, monkeypatch):
    from fastapi.testclient import TestClient

    from pipelines.service import create_app
    from pipelines.settings import get_settings

    from pipelines.site.served import SiteKeeper

    with environ(ENV):
        app = create_app(get_settings())
    app.state.site_keeper = SiteKeeper(fallback_wh, langs=("en", "es"))   # a faster build for the test
    app.state.site_static = {}
    with TestClient(app, follow_redirects=False) as client:     # runs the lifespan: the build starts now
        yield app, client, fallback_wh


def test_anonymous_reader_gets_the_site_in_its_language(portal):
    app, client, settings = portal
    keeper = app.state.site_keeper
    first = client.get("/data/", headers={"accept-language": "es"})
    if keeper.current() is None:                                 # still building: 503 and when to come back
        assert first.status_code == 503 and first.headers["retry-after"] == "30"
        assert "se está generando" in first.text
    keeper.ensure_fresh(wait=True)
    assert keeper.last_error is None and keeper.built_release() == RELEASE
    r = client.get("/data/", headers={"accept-language": "es-AR,es;q=0.9,en;q=0.5"})
    assert r.status_code == 307 and r.headers["location"] == "/data/es/"
    r = client.get("/data/es/")
    assert r.status_code == 200 and '<html lang="es">' in r.text and "Homicidio intencional" in r.text
    assert "set-cookie" not in r.headers                         # anonymous: no session
    r = client.get("/data/en/country-ARG.html")
    assert r.status_code == 200 and "Argentina" in r.text and "<svg" in r.text
    assert client.get("/data/site.css").headers["content-type"].startswith("text/css")
    for bad in ("/data/../hemistat.duckdb", "/data/%2e%2e/hemistat.duckdb", "/data/..%2fhemistat.duckdb",
                "/data/en/../../CURRENT.json", "/data/nope.html"):
        assert client.get(bad).status_code == 404, bad


def test_a_new_release_is_rebuilt_and_served(portal):
    app, client, settings = portal
    keeper = app.state.site_keeper
    keeper.ensure_fresh(wait=True)
    first = keeper.current()
    assert not keeper.stale()
    # a publication commits a new release (same data here): the next request starts a new build
    new = "20260202T000000-fedcba"
    committed = settings.published_dir / "COMMITTED.json"
    committed.write_text(json.dumps({"current": new, "releases": [RELEASE, new]}))
    assert keeper.stale()
    assert client.get("/data/en/index.html").status_code == 200           # the previous build meanwhile
    keeper.ensure_fresh(wait=True)
    assert keeper.current() != first and keeper.current().is_dir() and not keeper.stale()
    pointer = json.loads((settings.data_dir / "site" / "CURRENT.json").read_text())
    assert pointer["for_release"] == new and pointer["release_id"] == RELEASE   # the database's own release id
    assert not first.exists() or len(list((settings.data_dir / "site" / "builds").iterdir())) <= 2


def test_nothing_published_yet_is_a_404_page(data_env):
    from fastapi.testclient import TestClient

    from pipelines.service import create_app
    from pipelines.settings import get_settings

    with environ(ENV):
        app = create_app(get_settings())
    with TestClient(app, follow_redirects=False) as client:
        r = client.get("/data/", headers={"accept-language": "fr"})
        assert r.status_code == 404 and "Rien n'est encore publié" in r.text


def test_a_build_still_running_is_ended_when_the_portal_stops(fallback_wh):
    from pipelines.site.served import SiteKeeper

    keeper = SiteKeeper(fallback_wh)
    real_command = keeper._command

    def slow_command(out):    # a build that is surely still running when the portal stops (a small warehouse
        cmd, env = real_command(out)          # builds in seconds, so a real build could finish first)
        return [sys.executable, "-c", "import time; time.sleep(120)"], env

    keeper._command = slow_command
    keeper.ensure_fresh()
    deadline = time.monotonic() + 30
    while keeper._proc is None and time.monotonic() < deadline:     # the child process has started
        time.sleep(0.05)
    keeper.stop()
    keeper._thread.join(timeout=30)
    assert keeper._proc.poll() is not None and not keeper.building
    assert keeper.current() is None and keeper.last_error and "exited with status" in keeper.last_error
    keeper.ensure_fresh()
    assert not keeper.building                                      # stopped: no new build
