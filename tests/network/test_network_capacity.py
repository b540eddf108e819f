"""A forum's capacity holds when members register at the same moment: 8 approved members register at once for an
event with 3 seats; exactly 3 are registered, the other 5 are told it is full (never an error, never a 4th seat).
On SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from pipelines.network.rules import NetworkError, Viewer
from pipelines.service import auth
from pipelines.service import network_store as store
from pipelines.service.db import Database
from tests.network.conftest import person
from tests.service.conftest import PASSWORD


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'p.sqlite3'}" if request.param == "sqlite" else request.getfixturevalue("pg_fresh_url")
    d = Database(url)
    yield d
    d.dispose()


def test_concurrent_registrations_respect_the_capacity(db):
    sec = Viewer(0, "sec", "admin")
    e = store.create_event(db, {"slug": "foro-3", "title": "Three seats", "kind": "virtual",
                                "starts_at": "2027-01-10T15:00", "capacity": "3"}, sec)
    viewers = []
    for i in range(8):
        uid = person(db, f"m{i}", password=PASSWORD, display_name=f"Member {i}")
        viewers.append(store.viewer(db, auth.Principal(uid, f"m{i}", "network", "CHL", "es")))
    barrier = threading.Barrier(len(viewers))
    outcome: dict[str, str] = {}

    def go(v):
        barrier.wait()
        try:
            store.register(db, e.id, v)
            outcome[v.username] = "registered"
        except NetworkError as exc:
            outcome[v.username] = exc.key
        except Exception as exc:  # noqa: BLE001 - what must not happen, recorded to be asserted
            outcome[v.username] = f"error: {exc!r}"

    threads = [threading.Thread(target=go, args=(v,)) for v in viewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(outcome.values()) == ["network.err.full"] * 5 + ["registered"] * 3, outcome
    assert len(store.event(db, e.id)["registrations"]) == 3
