"""The Network's pages end to end in the portal (in process): the public directory shows only what each member
chose; moderation (report, lock) is in the audit log; attachments are refused like uploads; a forum's capacity,
attendance, minutes and outcomes linked to a practice; proposals from a thread and from an outcome, with their
status; the Atom feed of a public space; the digest; every page in the four languages."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from pipelines.network.rules import Viewer
from pipelines.service import network_store as store
from tests.network.conftest import build_warehouse, person
from tests.service.conftest import PASSWORD, App, WebClient

SEC = Viewer(0, "secretariat", "admin")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    app = App(tmp_path_factory.mktemp("net") / "data")
    build_warehouse(app.settings.duckdb_path)
    db = app.db
    person(db, "ana.chl", password=PASSWORD, display_name="Ana Visible", organisation="Uni Visible (sample)",
           visible=["organisation", "name", "country", "sector", "topics"])
    person(db, "hidden.one", password=PASSWORD, display_name="Hidden Person", organisation="Hidden Org (sample)",
           visible=[])
    person(db, "semi.one", password=PASSWORD, display_name="Semi Person", organisation="Semi Org (sample)",
           visible=["organisation"], country_iso3="JAM", languages=["en"])
    person(db, "pending.one", password=PASSWORD, status="applied", display_name="Pending Person",
           organisation="Pending Org (sample)", visible=["organisation", "name"])
    mod = person(db, "mod.one", password=PASSWORD, display_name="Mod", organisation="Mod Org (sample)")
    store.grant(db, mod, "moderator", actor=None)
    app.user("sec.one", "network")
    from pipelines.service import auth

    store.grant(db, auth.get_user(db, "sec.one").id, "secretariat", actor=None)
    store.create_space(db, "plaza", "Plaza pública", "public", "", actor=SEC)
    yield app
    app.stop()


def _client(app, who, lang="en"):
    c = WebClient(app, lang=lang)
    c.login(who)
    return c


def test_the_directory_shows_only_what_members_chose(world):
    html = world.get("/network/directory").text
    assert "Uni Visible (sample)" in html and "Ana Visible" in html
    row = re.search(r"<tr><td>Semi Org \(sample\)</td>(.*?)</tr>", html, re.S).group(1)
    assert "JAM" not in row and "Semi Person" not in row                    # organisation only
    assert "Hidden Org" not in html and "Hidden Person" not in html         # unlisted
    assert "Pending Org" not in html                                        # not approved


def test_posting_reporting_locking_and_the_feed(world):
    ana = _client(world, "ana.chl", "es")
    tok = ana.csrf("/network/spaces/plaza")
    r = ana.c.post("/network/spaces/plaza/threads", data={"csrf": tok, "title": "Alumbrado & <escuelas>", "lang": "es",
                                                           "body": "Primer mensaje <b>sin</b> HTML"})
    tid = int(re.search(r"/network/threads/(\d+)", str(r.url)).group(1))
    assert "&lt;b&gt;sin&lt;/b&gt;" in r.text and "<b>sin</b>" not in r.text      # escaped on the page
    # attachments refused like uploads: a path for a name, an executable, a name that lies about the content
    for name, data, key in (("../../x.txt", b"hola", "no folders"), ("tool.exe", b"MZ\x90\x00", "only PDF"),
                            ("foto.png", b"%PDF-1.4", "only PDF")):
        r = ana.c.post(f"/network/threads/{tid}/reply", data={"csrf": tok, "body": "adjunto", "lang": "es"},
                       files={"files": (name, data, "application/octet-stream")}, headers={"accept-language": "en"})
        assert r.status_code in (400, 413), name
    semi = _client(world, "semi.one")
    tok2 = semi.csrf(f"/network/threads/{tid}")
    post_id = int(re.findall(r'id="post-(\d+)"', semi.c.get(f"/network/threads/{tid}").text)[0])
    r = semi.c.post(f"/network/posts/{post_id}/report", data={"csrf": tok2, "reason": "off topic"})
    assert r.status_code == 200
    r = semi.c.post(f"/network/posts/{post_id}/hide", data={"csrf": tok2, "reason": "I am no moderator"})
    assert r.status_code == 403
    sec0 = _client(world, "sec.one")
    assert "off topic" in sec0.c.get("/network/secretariat").text          # the open report, for the secretariat
    sec0.close()
    mod = _client(world, "mod.one")
    tok3 = mod.csrf(f"/network/threads/{tid}")
    assert mod.c.post(f"/network/threads/{tid}/lock", data={"csrf": tok3, "locked": "1"}).status_code == 200
    r = ana.c.post(f"/network/threads/{tid}/reply", data={"csrf": tok, "body": "¿sigue abierto?", "lang": "es"})
    assert r.status_code == 409
    acts = {e.action: json.loads(e.detail) for e in world.db.audit_events(200) if e.action.startswith("network_")}
    assert acts["network_report"]["reason"] == "off topic" and acts["network_lock"]["thread_id"] == tid
    world.user("adm.audit", "admin")
    adm = _client(world, "adm.audit")
    audit = adm.c.get("/audit").text                                          # the portal's own audit page
    assert "network_lock" in audit and "network_report" in audit and "off topic" in audit
    adm.close()
    # the Atom feed of the public space, read without a session
    feed = world.get("/network/spaces/plaza/feed.atom")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert [e.find("a:title", ns).text for e in entries] == ["Alumbrado & <escuelas>"]
    assert entries[0].find("a:content", ns).text == "Primer mensaje <b>sin</b> HTML"
    assert entries[0].get("{http://www.w3.org/XML/1998/namespace}lang") == "es"
    # a proposal from the thread, its status set by the secretariat
    r = ana.c.post(f"/network/threads/{tid}/propose", data={"csrf": tok, "kind": "practice", "title": "Alumbrado escolar",
                                                           "summary": "resumen"})
    assert r.status_code == 200 and "Alumbrado escolar" in r.text
    pid = int(re.search(r'<tr data-status="proposed"><td>(\d+)</td>', r.text).group(1))
    sec = _client(world, "sec.one")
    r = sec.c.post("/network/secretariat", data={"csrf": sec.csrf("/network/secretariat"), "action": "proposal",
                                                 "proposal_id": pid, "status": "forwarded"})
    assert r.status_code == 200
    assert 'data-status="forwarded"' in ana.c.get("/network/proposals").text
    # the digest of another member lists the new thread
    assert "Alumbrado &amp; &lt;escuelas&gt;" in semi.c.get("/network/digest").text
    for c in (ana, semi, mod, sec):
        c.close()


def test_a_forum_capacity_attendance_minutes_outcomes_and_proposal(world):
    sec = _client(world, "sec.one")
    tok = sec.csrf("/network/events")
    r = sec.c.post("/network/events", data={"csrf": tok, "slug": "foro-2027", "title": "Forum 2027", "kind": "hybrid",
                                            "starts_at": "2027-03-01T15:00", "ends_at": "2027-03-01T13:00"})
    assert r.status_code == 400                                                       # ends before it starts
    r = sec.c.post("/network/events", data={"csrf": tok, "slug": "foro-2027", "title": "Forum 2027", "kind": "hybrid",
                                            "starts_at": "2027-03-01T15:00", "capacity": "1", "location": "Washington, D.C."})
    eid = int(str(r.url).rsplit("/", 1)[1])
    ana, semi = _client(world, "ana.chl"), _client(world, "semi.one")
    pending = _client(world, "pending.one")
    assert ana.c.post(f"/network/events/{eid}/register", data={"csrf": ana.csrf(f"/network/events/{eid}")}).status_code == 200
    r = semi.c.post(f"/network/events/{eid}/register", data={"csrf": semi.csrf(f"/network/events/{eid}")})
    assert r.status_code == 409 and "full" in r.text                                  # capacity 1
    r = pending.c.post(f"/network/events/{eid}/register", data={"csrf": pending.csrf("/network")})
    assert r.status_code == 403                                                       # not yet a member
    reg_id = store.event(world.db, eid)["registrations"][0]["reg"].id
    tok = sec.csrf(f"/network/events/{eid}")
    sec.c.post(f"/network/events/{eid}/record", data={"csrf": tok, "attendance": "1", "attended": str(reg_id),
                                                      "minutes": "Acta: se presentaron dos experiencias.", "status": "held"})
    sec.c.post(f"/network/events/{eid}/record", data={"csrf": tok, "outcome": "Adapt the school programme",
                                                      "link_kind": "practice", "link_ref": "sample-pr-1"})
    ev = store.event(world.db, eid)
    assert ev["event"].status == "held" and ev["registrations"][0]["reg"].attended
    assert [(o.link_kind, o.link_ref) for o in ev["outcomes"]] == [("practice", "sample-pr-1")]
    page = ana.c.get(f"/network/events/{eid}").text
    assert "Acta: se presentaron dos experiencias." in page and "sample-pr-1" in page
    r = ana.c.post(f"/network/events/{eid}/propose", data={"csrf": ana.csrf(f"/network/events/{eid}"), "kind": "course",
                                                          "outcome_id": ev["outcomes"][0].id, "title": "Course on it"})
    assert r.status_code == 200 and "Course on it" in r.text
    assert world.get(f"/network/events/{eid}.ics").headers["content-type"].startswith("text/calendar")
    # the seeded first forum has a window, no date: no calendar file, shown as unverified with its source
    forum = [e for e in store.events(world.db) if e.slug == "first-virtual-forum-2016"][0]
    assert world.get(f"/network/events/{forum.id}.ics").status_code == 404
    page = world.get(f"/network/events/{forum.id}", headers={"accept-language": "es"}).text
    assert "Primer foro virtual" in page and "sin verificar" in page and "MISPA-V" in page
    for c in (ana, semi, pending, sec):
        c.close()


@pytest.mark.parametrize("lang", ["en", "es", "pt", "fr"])
def test_every_page_in_four_languages(world, lang):
    c = _client(world, "sec.one", lang)
    pages = ["/network", "/network/apply", "/network/directory", "/network/events", "/network/digest",
             "/network/proposals", "/network/secretariat", "/network/spaces/plaza"]
    for p in pages:
        r = c.c.get(p)
        assert r.status_code == 200, (p, r.status_code)
        raw = re.findall(r"network\.[a-z_]+\.[a-z_.]+", re.sub(r"<[^>]+>", " ", r.text))
        assert not raw, (lang, p, raw[:5])                                     # no untranslated key
        assert f'<html lang="{lang}">' in r.text
    c.close()
    a = _client(world, "ana.chl", lang)
    r = a.c.get("/network/suggestions")
    assert r.status_code == 200 and 'data-ref="sample-pr-1"' in r.text
    a.close()


def test_the_apply_form_makes_accounts_at_a_limited_rate(tmp_path):
    from pipelines.service.routers.network import MAX_APPLICATIONS_PER_HOUR

    app = App(tmp_path / "data")
    try:
        c = WebClient(app, lang="es")
        codes = []
        for i in range(MAX_APPLICATIONS_PER_HOUR + 1):
            c.c.cookies.clear()
            tok = c.csrf("/network/apply")
            r = c.c.post("/network/apply", data={"csrf": tok, "username": f"spam{i}", "password": PASSWORD,
                                                 "display_name": f"Spam {i}", "organisation": "Spam Org",
                                                 "sector": "civil_society", "country_iso3": "CHL", "iccs": "02",
                                                 "languages": "es"})
            codes.append(r.status_code)
        assert codes == [200] * MAX_APPLICATIONS_PER_HOUR + [429]
        assert "Demasiadas solicitudes" in r.text
        from pipelines.service import auth

        assert auth.get_user(app.db, f"spam{MAX_APPLICATIONS_PER_HOUR}") is None
        # a form without its CSRF token (bound to the pre-session cookie) makes nothing
        c.c.cookies.clear()
        r = c.c.post("/network/apply", data={"username": "nocsrf", "password": PASSWORD})
        assert r.status_code == 403 and auth.get_user(app.db, "nocsrf") is None
        c.close()
    finally:
        app.stop()


def test_a_focal_point_is_led_to_the_demand_survey_and_may_answer_it(tmp_path):
    """The hook between the Network and the catalogue's demand survey (reference/network/hooks.yaml
    `demand_survey_path`): the Network's home page links a national focal point to the survey, which lets her answer
    for her own country only; a member who is not a focal point gets no link and no survey."""
    import yaml

    app = App(tmp_path / "data")
    try:
        path = yaml.safe_load((app.settings.reference_dir / "network" / "hooks.yaml").read_text())["demand_survey_path"]
        assert path == "/catalogue/survey"
        fp = person(app.db, "fp.jam", password=PASSWORD, display_name="Focal JAM", country_iso3="JAM", languages=["en"])
        store.grant(app.db, fp, "focal_point", actor=None, country_iso3="JAM")
        person(app.db, "plain.member", password=PASSWORD, display_name="Plain")
        c = _client(app, "fp.jam")
        page = c.c.get("/network").text
        assert f'<a href="{path}">' in page and 'id="demand-survey"' in page
        survey = c.c.get(path)
        assert survey.status_code == 200
        assert 'value="JAM"' in survey.text and 'value="TTO"' not in survey.text   # her country only
        c.close()
        m = _client(app, "plain.member")
        assert 'id="demand-survey"' not in m.c.get("/network").text
        assert m.c.get(path).status_code == 403
        m.close()
    finally:
        app.stop()


def test_malformed_ids_in_forms_are_refused_not_errors(world):
    sec = _client(world, "sec.one")
    tok = sec.csrf("/network/secretariat")
    for data in ({"action": "decide", "member_id": "1e23", "decision": "approve"},
                 {"action": "decide", "member_id": str(10**30), "decision": "approve"},
                 {"action": "proposal", "proposal_id": "abc", "status": "accepted"},
                 {"action": "decide", "member_id": "999999", "decision": "approve"},
                 {"action": "nonsense"}):
        r = sec.c.post("/network/secretariat", data={"csrf": tok, **data})
        assert r.status_code in (400, 404), (data, r.status_code)
    ev = [e for e in store.events(world.db) if e.slug == "first-virtual-forum-2016"][0]
    r = sec.c.post(f"/network/events/{ev.id}/propose", data={"csrf": tok, "kind": "course", "outcome_id": "-1",
                                                             "title": "x y"})
    assert r.status_code == 404
    assert sec.c.get("/network/threads/99999999999").status_code == 422            # over the id range: 422, not 500
    sec.close()


def test_a_suggested_practice_links_to_the_practices_page_when_there_is_one(world):
    from fastapi.responses import PlainTextResponse

    a = _client(world, "ana.chl")
    assert 'href="/practices/p/sample-pr-1"' not in a.c.get("/network/suggestions").text     # no practices pages yet
    world.app.add_api_route("/practices/p/{practice_id}", lambda practice_id: PlainTextResponse(practice_id),
                            methods=["GET"])
    assert 'href="/practices/p/sample-pr-1"' in a.c.get("/network/suggestions").text
    a.close()
