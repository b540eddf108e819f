"""Practices in the portal, in process: anonymous search, an office submits (checked by the practice rules in its
language), a reviewer starts the review, returns with a reason, the office sends it again, the reviewer publishes;
the record file is written, the practice is in the search, every step is in the audit log; roles and CSRF hold."""

from __future__ import annotations

import json
import re

from tests.knowledge.conftest import TEST_FORM
from tests.service.conftest import WebClient


def _sub_id(resp) -> int:
    m = re.search(r"/practices/submissions/(\d+)", str(resp.url))
    assert m, (resp.status_code, str(resp.url), resp.text[:300])
    return int(m.group(1))


def test_anonymous_reader_searches_in_spanish(app_factory):
    app = app_factory()
    r = app.get("/practices", params={"q": "violencia juvenil", "country": "BRA"}, headers={"accept-language": "es"})
    assert r.status_code == 200
    assert "Buenas prácticas de prevención" in r.text
    ids = re.findall(r'data-practice="([^"]+)"', r.text)
    assert ids[:2] == ["bra-fica-vivo", "bra-bolsa-familia-crime"]
    page = app.get("/practices/p/bra-fica-vivo", headers={"accept-language": "es"})
    assert page.status_code == 200 and "Revista de Saúde Pública" in page.text and "studies[0].authors" in page.text
    assert app.get("/practices/p/..%2Fetc").status_code == 404
    assert app.get("/practices/p/zzz-unknown-practice").status_code == 404
    # filters are checked, never pasted: an injection attempt is just no filter
    r = app.get("/practices", params={"q": "homicidio", "country": "BRA' or 1=1 --", "min_evidence": "9"})
    assert r.status_code == 200 and len(re.findall(r'data-practice="', r.text)) > 3


def test_submit_return_resubmit_publish_with_audit(app_factory):
    app = app_factory()
    app.user("oficina.jam", "office", "JAM", lang="es")
    app.user("oficina.col", "office", "COL")
    app.user("revisora", "reviewer", lang="en")
    office = WebClient(app, "es")
    office.login("oficina.jam")
    # a submission missing its ICCS code and its study URL: refused, in Spanish, naming field and rule
    bad = {**TEST_FORM, "iccs_codes": "9999", "study_url": ""}
    r = office.post_form("/practices/submit", "/practices/submit", **bad)
    assert r.status_code == 400
    assert "La práctica no se guardó" in r.text
    assert 'data-field="iccs_codes[0]"' in r.text and "PR2" in r.text and "no es un código conocido" in r.text
    assert 'data-field="studies[0].url"' in r.text
    anon = app.get("/practices/review")                        # anonymous: sent to sign in
    assert anon.status_code in (302, 303, 307) and "/login" in anon.headers["location"]
    # the valid one is stored as submitted
    r = office.post_form("/practices/submit", "/practices/submit", **TEST_FORM)
    assert r.status_code == 200, r.text[:500]
    sid = _sub_id(r)
    assert 'data-status="submitted"' in r.text
    # another country's office cannot see it; an anonymous reader is sent to sign in
    other = WebClient(app, "en")
    other.login("oficina.col")
    assert other.c.get(f"/practices/submissions/{sid}").status_code == 404
    assert f'data-sub="{sid}"' not in other.c.get("/practices/review").text
    # the reviewer: start review, return without reason (refused), with reason
    rev = WebClient(app, "en")
    rev.login("revisora")
    page = f"/practices/submissions/{sid}"
    assert f'data-sub="{sid}"' in rev.c.get("/practices/review").text
    r = rev.post_form(f"{page}/decision", page, action="publish")
    assert r.status_code == 409                                   # not under review yet
    r = rev.post_form(f"{page}/decision", page, action="start_review")
    assert 'data-status="under_review"' in r.text
    r = rev.post_form(f"{page}/decision", page, action="return", reason="")
    assert r.status_code == 400
    r = rev.post_form(f"{page}/decision", page, action="return", reason="Cite the published evaluation, not a draft.")
    assert 'data-status="returned"' in r.text
    # an office cannot decide; a form without CSRF is refused
    assert office.post_form(f"{page}/decision", page, action="publish").status_code == 403
    assert rev.c.post(f"{page}/decision", data={"action": "publish"}).status_code == 403
    # the office sees the reason and sends it again
    r = office.c.get(page)
    assert "Cite the published evaluation, not a draft." in r.text
    r = office.post_form(f"{page}/resubmit", page, **{**TEST_FORM, "study_journal": "Test journal (published)"})
    assert 'data-status="submitted"' in r.text
    rev.post_form(f"{page}/decision", page, action="start_review")
    r = rev.post_form(f"{page}/decision", page, action="publish")
    assert 'data-status="published"' in r.text
    # the record file, with its history; the search finds it at once
    files = list((app.data_dir / "practices" / "records").glob("*.yaml"))
    assert len(files) == 1
    import yaml

    rec = yaml.safe_load(files[0].read_text("utf-8"))
    assert rec["review"]["status"] == "published" and rec["review"]["reviewer"] == "revisora"
    assert [h["status"] for h in rec["review"]["history"]] == ["submitted", "under_review", "returned", "submitted",
                                                               "under_review", "published"]
    assert rec["review"]["history"][2]["reason"] == "Cite the published evaluation, not a draft."
    r = app.get("/practices", params={"q": "mediacion escolar"})
    assert f'data-practice="{rec["practice_id"]}"' in r.text
    events = [e for e in app.db.audit_events() if e.action.startswith("practice_")]
    assert [e.action for e in reversed(events)] == ["practice_submit", "practice_start_review", "practice_return",
                                                    "practice_resubmit", "practice_start_review", "practice_publish"]
    ret = next(e for e in events if e.action == "practice_return")
    assert ret.actor == "revisora" and json.loads(ret.detail)["reason"].startswith("Cite the published")
    assert all(e.country_iso3 == "JAM" for e in events)


def test_migration_0003_keeps_users_tokens_and_audit(tmp_path):
    from sqlalchemy import inspect, text

    from pipelines.service.db import Database, make_engine
    from pipelines.service.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'portal.db'}"
    engine = make_engine(url)
    upgrade(engine, "0002_revoke_inactive_tokens")            # the database of the previous release
    assert "practice_submissions" not in inspect(engine).get_table_names()
    db = Database(url, upgrade=False)
    from pipelines.service.auth import create_token, create_user

    u = create_user(db, "antes", "correct horse battery staple", "office", country_iso3="ARG")
    create_token(db, u.id, "t")
    db.audit("login", actor="antes")
    with engine.connect() as con:
        before = {t: con.execute(text(f"select count(*) from {t}")).scalar() for t in ("users", "api_tokens", "audit_log")}
    out = upgrade(engine)
    from pipelines.service.migrate import head

    assert out["after"] == head() and out["before"] == "0002_revoke_inactive_tokens"
    assert "practice_submissions" in inspect(engine).get_table_names()
    with engine.connect() as con:
        after = {t: con.execute(text(f"select count(*) from {t}")).scalar() for t in ("users", "api_tokens", "audit_log")}
    assert after == before and before["users"] == 1
    engine.dispose()
    db.dispose()
