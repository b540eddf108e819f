"""Issue 17 item 5, from dialogue to knowledge: a thread proposed as a good practice and forwarded by the
secretariat reaches the practices review queue (issue 16), a data office turns it into a submission pre-filled
with the proposal, and the proposal is marked as in review, with the submission it became in the audit log."""

from __future__ import annotations

import json
import re

from pipelines.network.rules import Viewer
from pipelines.service import network_store as store
from tests.knowledge.conftest import TEST_FORM
from tests.network.conftest import person
from tests.service.conftest import PASSWORD, App, WebClient

SEC = Viewer(0, "secretariat", "admin")


def _client(app, who, lang="en"):
    c = WebClient(app, lang=lang)
    c.login(who)
    return c


def test_a_forwarded_thread_becomes_a_practice_submission(tmp_path):
    app = App(tmp_path / "data")
    try:
        db = app.db
        person(db, "ana.chl", password=PASSWORD, display_name="Ana", organisation="Uni (sample)")
        app.user("sec.one", "network")
        from pipelines.service import auth

        store.grant(db, auth.get_user(db, "sec.one").id, "secretariat", actor=None)
        store.create_space(db, "plaza", "Plaza pública", "public", "", actor=SEC)
        app.user("office.jam", "office", "JAM")
        ana = _client(app, "ana.chl")
        tok = ana.csrf("/network/spaces/plaza")
        r = ana.c.post("/network/spaces/plaza/threads", data={"csrf": tok, "title": "Mediación escolar en Kingston",
                                                              "body": "Cómo lo hicimos", "lang": "es"})
        tid = int(re.search(r"/network/threads/(\d+)", str(r.url)).group(1))
        r = ana.c.post(f"/network/threads/{tid}/propose", data={"csrf": ana.csrf(f"/network/threads/{tid}"),
                                                               "kind": "practice", "title": "Mediación escolar",
                                                               "summary": "Mediación entre pares en escuelas"})
        pid = int(re.search(r'<tr data-status="proposed"><td>(\d+)</td>', r.text).group(1))

        office = _client(app, "office.jam", lang="es")
        assert f'data-proposal="{pid}"' not in office.c.get("/practices/review").text      # not forwarded yet
        assert 'id="from-proposal"' not in office.c.get(f"/practices/submit?proposal={pid}").text
        sec = _client(app, "sec.one")
        sec.c.post("/network/secretariat", data={"csrf": sec.csrf("/network/secretariat"), "action": "proposal",
                                                 "proposal_id": pid, "status": "forwarded"})
        queue = office.c.get("/practices/review").text
        assert f'data-proposal="{pid}"' in queue and f'href="/practices/submit?proposal={pid}"' in queue
        form = office.c.get(f"/practices/submit?proposal={pid}").text
        assert 'id="from-proposal"' in form and 'value="Mediación escolar"' in form
        assert "Mediación entre pares en escuelas" in form
        assert office.c.get("/practices/submit?proposal=abc").status_code == 200      # malformed: an empty form
        r = office.post_form("/practices/submit", f"/practices/submit?proposal={pid}",
                             **{**TEST_FORM, "proposal_id": str(pid)})
        m = re.search(r"/practices/submissions/(\d+)", str(r.url))       # the new submission's page
        assert m, (r.status_code, str(r.url), re.findall(r'class="problem[^"]*">([^<]+)', r.text)[:5])
        sub = m.group(1)
        assert f'data-proposal="{pid}"' not in office.c.get("/practices/review").text   # taken: off the list
        with db.Session() as s:
            from pipelines.service.db import AuditEvent
            from pipelines.service.network_models import NetProposal

            assert s.get(NetProposal, pid).status == "accepted"
            ev = [json.loads(e.detail) for e in s.query(AuditEvent).filter_by(action="network_proposal_in_review")]
        assert ev == [{"proposal_id": pid, "submission": f"practice submission {sub}"}]
        for c in (ana, office, sec):
            c.close()
    finally:
        app.stop()


def test_a_forwarded_course_proposal_is_listed_for_catalogue_reviewers(tmp_path):
    """Course records are reviewed as files (issue 16); a course the secretariat forwarded is listed on the
    catalogue page for reviewers and admins — with its summary and the thread it comes from — and for nobody else."""
    app = App(tmp_path / "data")
    try:
        db = app.db
        person(db, "ana.chl", password=PASSWORD, display_name="Ana", organisation="Uni (sample)")
        app.user("sec.one", "network")
        from pipelines.service import auth

        store.grant(db, auth.get_user(db, "sec.one").id, "secretariat", actor=None)
        store.create_space(db, "plaza", "Plaza pública", "public", "", actor=SEC)
        app.user("rev.one", "reviewer")
        app.user("office.jam", "office", "JAM")
        ana = _client(app, "ana.chl")
        r = ana.c.post("/network/spaces/plaza/threads", data={"csrf": ana.csrf("/network/spaces/plaza"),
                                                              "title": "Taller de análisis delictual", "lang": "es",
                                                              "body": "¿Alguien lo ofrece?"})
        tid = int(re.search(r"/network/threads/(\d+)", str(r.url)).group(1))
        r = ana.c.post(f"/network/threads/{tid}/propose", data={"csrf": ana.csrf(f"/network/threads/{tid}"),
                                                               "kind": "course", "title": "Taller de análisis delictual",
                                                               "summary": "Dos semanas, en línea"})
        pid = int(re.search(r'<tr data-status="proposed"><td>(\d+)</td>', r.text).group(1))
        rev = _client(app, "rev.one")
        assert f'data-proposal="{pid}"' not in rev.c.get("/catalogue").text           # not forwarded yet
        sec = _client(app, "sec.one")
        sec.c.post("/network/secretariat", data={"csrf": sec.csrf("/network/secretariat"), "action": "proposal",
                                                 "proposal_id": pid, "status": "forwarded"})
        page = rev.c.get("/catalogue").text
        assert f'data-proposal="{pid}"' in page and "Dos semanas, en línea" in page
        assert f'href="/network/threads/{tid}"' in page
        office = _client(app, "office.jam")
        assert f'data-proposal="{pid}"' not in office.c.get("/catalogue").text
        assert f'data-proposal="{pid}"' not in app.get("/catalogue").text               # anonymous
        for c in (ana, rev, sec, office):
            c.close()
    finally:
        app.stop()
