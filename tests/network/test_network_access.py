"""No private space is readable by someone outside it (issue 17, Must show): a non-member (signed out, and a
signed-in portal user who never applied), an unapproved applicant and a member of another working group each
fail to read a closed working group's space — its page, thread, attachment, Atom feed and JSON API all answer
404, as for a space that does not exist — while its own working group reads all of them (the positive
control). The members-only space refuses the outsiders the same way. On SQLite and on PostgreSQL."""

from __future__ import annotations

import re

import pytest

from pipelines.network.rules import Viewer
from pipelines.service import network_store as store
from tests.network.conftest import person
from tests.service.conftest import PASSWORD, App, WebClient

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request, tmp_path):
    url = None if request.param == "sqlite" else request.getfixturevalue("pg_fresh_url")
    app = App(tmp_path / "data", url)
    db = app.db
    sec = Viewer(0, "secretariat", "admin")
    person(db, "alice.wg", password=PASSWORD, display_name="Alice WG", iccs=["0201"])
    person(db, "bob.other", password=PASSWORD, display_name="Bob Other", country_iso3="JAM", languages=["en"])
    person(db, "carol.applicant", password=PASSWORD, status="applied", display_name="Carol Applicant")
    app.user("dora.office", "office", "ARG")                      # a portal user who never applied
    store.create_space(db, "wg-youth", "Youth violence working group", "closed", "", actor=sec)
    store.create_space(db, "wg-other", "Another working group", "closed", "", actor=sec)
    store.create_space(db, "members-hall", "Members' hall", "members", "", actor=sec)
    store.add_to_group(db, "wg-youth", "alice.wg", actor=sec)
    store.add_to_group(db, "wg-other", "bob.other", actor=sec)
    # alice opens a thread with an attachment in the closed space, and one in the members' space
    c = WebClient(app)
    c.login("alice.wg")
    tok = c.csrf("/network/spaces/wg-youth")
    r = c.c.post("/network/spaces/wg-youth/threads", data={"csrf": tok, "title": "Datos de pandillas", "lang": "es",
                                                            "body": "Comparto el informe."},
                 files={"files": ("informe.pdf", PDF, "application/pdf")})
    assert r.status_code == 200, r.text[:400]
    closed_tid = int(re.search(r"/network/threads/(\d+)", str(r.url)).group(1))
    aid = int(re.search(r"/network/attachments/(\d+)", r.text).group(1))
    tok = c.csrf("/network/spaces/members-hall")
    r = c.c.post("/network/spaces/members-hall/threads", data={"csrf": tok, "title": "Hola", "lang": "es", "body": "Hola a todos"})
    members_tid = int(re.search(r"/network/threads/(\d+)", str(r.url)).group(1))
    c.close()
    yield app, closed_tid, aid, members_tid
    app.stop()


def _paths(slug: str, tid: int, aid: int | None):
    out = [f"/network/spaces/{slug}", f"/network/threads/{tid}", f"/network/spaces/{slug}/feed.atom"]
    if aid is not None:
        out.append(f"/network/attachments/{aid}")
    return out


def _api_paths(slug: str, tid: int):
    return [f"/api/network/spaces/{slug}/threads", f"/api/network/threads/{tid}"]


def test_outsiders_cannot_read_a_closed_working_group(world):
    app, tid, aid, _ = world
    tried = 0
    # signed out: pages, attachment, feed; the API wants a token (401)
    for p in _paths("wg-youth", tid, aid):
        r = app.get(p)
        assert r.status_code == 404, (p, r.status_code)
        assert "Datos de pandillas" not in r.text and "Comparto" not in r.text and b"%PDF" not in r.content
        tried += 1
    for p in _api_paths("wg-youth", tid):
        r = app.get(p)
        assert r.status_code == 401, p
        tried += 1
    for who in ("dora.office", "carol.applicant", "bob.other"):
        c = WebClient(app)
        c.login(who)
        for p in _paths("wg-youth", tid, aid):
            r = c.c.get(p)
            assert r.status_code == 404, (who, p, r.status_code)
            assert "Comparto" not in r.text and b"%PDF" not in r.content
            tried += 1
        # a reply, a report, a hide or a proposal into it are refused too
        tok = c.csrf("/network")
        for p, data in ((f"/network/threads/{tid}/reply", {"body": "x", "lang": "en"}),
                        (f"/network/threads/{tid}/propose", {"kind": "practice", "title": "x y"})):
            r = c.c.post(p, data={"csrf": tok, **data})
            assert r.status_code == 404, (who, p, r.status_code)
            tried += 1
        # the space is not even listed
        assert "wg-youth" not in c.c.get("/network").text
        c.close()
        token = app.token(who)
        for p in _api_paths("wg-youth", tid):
            status, body = app.api(token, "GET", p)
            assert status == 404 and body["error"] == "network.err.not_found", (who, p, status, body)
            assert "Comparto" not in str(body)
            tried += 1
        status, body = app.api(token, "GET", "/api/network/spaces")
        assert status == 200 and "wg-youth" not in {s["slug"] for s in body["spaces"]}
    assert tried == 6 + 3 * (4 + 2 + 2)
    # every refusal of a known closed space was written to the audit log
    denied = app.db.audit_events(500, action="network_access_denied")
    assert {e.actor for e in denied} >= {None, "dora.office", "carol.applicant", "bob.other"}


def test_the_working_group_reads_its_space(world):
    app, tid, aid, _ = world
    c = WebClient(app)
    c.login("alice.wg")
    for p in _paths("wg-youth", tid, aid)[:2]:
        assert c.c.get(p).status_code == 200
    r = c.c.get(f"/network/attachments/{aid}")
    assert r.status_code == 200 and r.content == PDF and r.headers["content-type"] == "application/pdf"
    assert "attachment" in r.headers["content-disposition"]
    assert c.c.get("/network/spaces/wg-youth/feed.atom").status_code == 404    # feeds are for public spaces only
    c.close()
    status, body = app.api(app.token("alice.wg"), "GET", f"/api/network/threads/{tid}")
    assert status == 200 and body["posts"][0]["body"] == "Comparto el informe." and body["posts"][0]["lang"] == "es"


def test_outsiders_cannot_read_the_members_space(world):
    app, _, _, tid = world
    assert app.get("/network/spaces/members-hall").status_code == 404
    assert app.get(f"/network/threads/{tid}").status_code == 404
    for who, code in (("dora.office", 404), ("carol.applicant", 404), ("bob.other", 200)):
        c = WebClient(app)
        c.login(who)
        assert c.c.get(f"/network/threads/{tid}").status_code == code, who
        c.close()
        status, _ = app.api(app.token(who), "GET", f"/api/network/threads/{tid}")
        assert status == code, who


def test_a_form_without_its_csrf_token_is_refused(world):
    app, tid, _, _ = world
    c = WebClient(app)
    c.login("alice.wg")
    r = c.c.post(f"/network/threads/{tid}/reply", data={"body": "sin token", "lang": "es"})
    assert r.status_code == 403
    r = c.c.post(f"/network/threads/{tid}/reply", data={"csrf": "0" * 64, "body": "token falso", "lang": "es"})
    assert r.status_code == 403
    c.close()
    status, body = app.api(app.token("alice.wg"), "GET", f"/api/network/threads/{tid}")
    assert [p["body"] for p in body["posts"]] == ["Comparto el informe."]
