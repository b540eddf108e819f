"""Corrections in the portal (issue 10 items 1 and 3): a reviewer has a stored submission read again with
the current spec and rules, or withdraws one from publication with a reason — in the pages (CSRF) and the
JSON API (bearer token); both are audited and the warehouse is republished as after an approval. An office
gets 403; an unknown or malformed id is 404. An upload may declare the publisher's release date
(yyyy-mm-dd, not in the future); a bad one is refused with a translated message and nothing is stored.
Files: the real SNIC national file (ar_snic/snic-pais.csv), as in the other portal tests. The portal runs in
this process; the API calls are the docs' curl command lines (`App.curl` sends them through the TestClient)."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb

from tests.service.conftest import WebClient, good_file, snic_lines
from pipelines.storage.release import connect as release_connect

REPO = Path(__file__).resolve().parents[2]
JSON = ("-H", "content-type: application/json")


def years_2002_2003(tmp: Path) -> Path:
    """Header + the years 2002-2003 of the real SNIC national file (other cells than good_file's)."""
    lines = snic_lines()
    assert lines[63].startswith(b"2002;") and lines[124].startswith(b"2003;") and lines[125].startswith(b"2004;")
    p = tmp / "snic-pais-2002-2003.csv"
    p.write_bytes(b"\r\n".join([lines[0], *lines[63:125]]) + b"\r\n")
    return p


def send(srv, url: str, office: str, path: Path, *args: str) -> dict:
    code, v = srv.curl(url, office, "-F", f"file=@{path}", "-F", "source=ar_snic", *args)
    assert code == 201, v
    return v


def approve(srv, url: str, reviewer: str, v: dict) -> None:
    sid = v["submission_id"]
    warns = sorted({f["rule_id"] for f in v["failures"] if f["severity"] == "warn"})
    if warns:
        code, r = srv.curl(f"{url}/{sid}/acknowledge", reviewer, *JSON,
                       "-d", json.dumps({"rules": warns, "reason": "known SNIC warnings"}))
        assert code == 200, r
    code, r = srv.curl(f"{url}/{sid}/decision", reviewer, *JSON, "-d", json.dumps({"decision": "approve", "comment": "ok"}))
    assert code == 200 and r["status"] == "published", r


def warehouse(srv, sql: str, params=()):
    con = release_connect(srv.data_dir / "hemistat.duckdb")
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_reviewer_withdraws_and_reprocesses_through_the_api(app_factory, tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "quality_rules", rules)            # changed below, before a reprocess
    srv = app_factory(HEMISTAT_RULES_DIR=rules)
    srv.user("cor.arg", "office", "ARG", lang="es")
    srv.user("cor.rev", "reviewer")
    office, reviewer = srv.token("cor.arg"), srv.token("cor.rev")
    url = srv.url + "/api/submissions"

    a = send(srv, url, office, good_file(tmp_path), "-F", "released_on=2024-03-01")
    b = send(srv, url, office, years_2002_2003(tmp_path))
    assert (a["released_on"], a["release_date"], a["release_date_from"]) == ("2024-03-01", "2024-03-01", "declared")
    assert b["released_on"] is None and b["release_date_from"] == "received"
    approve(srv, url, reviewer, a)
    approve(srv, url, reviewer, b)
    sa, sb = a["submission_id"], b["submission_id"]
    assert warehouse(srv, "select count(*) from published.indicators where submission_id = ?", [sb])[0][0] > 0

    # an office may do neither, not even on its own country's submission; nothing changes
    for action, body in (("withdraw", {"reason": "mine"}), ("reprocess", {})):
        code, r = srv.curl(f"{url}/{sb}/{action}", office, *JSON, "-d", json.dumps(body))
        assert code == 403 and r["error"] == "err_forbidden", (action, r)
    assert srv.curl(f"{url}/{sb}", office)[1]["status"] == "published"

    # unknown or malformed ids: 404, never a path
    for bad in ("ar_snic__20240101__deadbeef", "..%2F..%2Fportal", "ar_snic__x", "%2e%2e"):
        for action in ("withdraw", "reprocess"):
            code, r = srv.curl(f"{url}/{bad}/{action}", reviewer, *JSON, "-d", json.dumps({"reason": "x"}))
            assert code == 404, (bad, action, code, r)

    # a withdrawal needs a reason, said in the reader's language
    code, r = srv.curl(f"{url}/{sb}/withdraw", reviewer, "-H", "Accept-Language: es", *JSON,
                   "-d", json.dumps({"reason": "   "}))
    assert code == 400 and r["error"] == "err_withdraw_reason" and r["message"] == "Un retiro necesita un motivo."
    code, r = srv.curl(f"{url}/{sb}/withdraw", reviewer, "-X", "POST")          # no body at all
    assert code == 400 and r["error"] == "err_withdraw_reason"

    reason = "INDEC flagged 2002-2003 as provisional; withdrawn until the final release"
    code, r = srv.curl(f"{url}/{sb}/withdraw", reviewer, "-H", "Accept-Language: fr", *JSON,
                   "-d", json.dumps({"reason": reason}))
    assert code == 200, r
    assert r["status"] == "withdrawn" and r["previous_status"] == "published" and r["reason"] == reason
    assert r["publish"] == "published" and r["published"], r
    assert r["status_text"] == f"retiré de la publication : {reason}"
    assert r["publish_message"] == "L'entrepôt a été republié avec cette modification."

    # the release: the changelog names it with the reason; none of its cells is published; the other stays
    log = warehouse(srv, "select kind, detail from published.changelog where submission_id = ?", [sb])
    assert ("withdrawn", f"withdrawn by cor.rev: {reason}") in log, log
    assert warehouse(srv, "select count(*) from published.indicators where submission_id = ?", [sb])[0][0] == 0
    assert warehouse(srv, "select count(*) from published.indicators where submission_id = ?", [sa])[0][0] > 0
    assert dict(warehouse(srv, "select submission_id, status from published.submissions"))[sb] == "withdrawn"
    # the bytes stay
    assert (srv.data_dir / "landing" / sb / "manifest.json").exists()

    ev = srv.db.audit_events(50, action="withdraw", submission_id=sb)
    assert len(ev) == 1 and ev[0].actor == "cor.rev" and ev[0].role == "reviewer" and ev[0].at
    assert json.loads(ev[0].detail)["reason"] == reason
    pub = [json.loads(e.detail) for e in srv.db.audit_events(50, action="publish", submission_id=sb)]
    assert any(p.get("after") == "withdraw" and p["release_id"] == r["published"] for p in pub)

    # the office reads the status and the reason in its language (API and page)
    code, s = srv.curl(f"{url}/{sb}", office)                       # the office's own language: Spanish
    assert s["withdrawn"]["text"] == f"retirado de la publicación: {reason}"
    code, s = srv.curl(f"{url}/{sb}?lang=pt", office)
    assert s["status"] == "withdrawn" and s["withdrawn"]["reason"] == reason and s["withdrawn"]["by"] == "cor.rev"
    assert s["withdrawn"]["text"] == f"retirado da publicação: {reason}"
    web = WebClient(srv, lang="es")
    assert web.login("cor.arg").status_code == 200
    page = web.c.get(f"/submissions/{sb}").text
    assert f"retirado de la publicación: {reason}" in page and "st-withdrawn" in page
    assert 'id="withdraw"' not in page and 'id="reprocess"' not in page          # no actions for an office
    page = web.c.get(f"/submissions/{sa}").text
    assert "1 mar 2024 — declarada al subir el archivo" in page
    web.close()

    # once withdrawn: not withdrawn again, not read again
    code, r = srv.curl(f"{url}/{sb}/withdraw", reviewer, *JSON, "-d", json.dumps({"reason": "again"}))
    assert code == 409 and r["error"] == "err_already_withdrawn"
    code, r = srv.curl(f"{url}/{sb}/reprocess", reviewer, "-X", "POST")
    assert code == 409 and r["error"] == "err_withdrawn_no_reprocess"

    # reprocess: the published one is read again and keeps the reviewer's decision
    code, r = srv.curl(f"{url}/{sa}/reprocess", reviewer, "-X", "POST")
    assert code == 200, r
    # (its warnings stay acknowledged, so the new reading passes)
    assert r["status"] == "published" and r["verdict"] == "accepted" and r["publish"] == "published", r
    assert warehouse(srv, "select count(*) from published.indicators where submission_id = ?", [sa])[0][0] > 0

    # a held submission read again after a rule became blocking for this source: the new verdict and status
    c = send(srv, url, office, good_file(tmp_path, "snic-pais-c.csv", extra_blank_lines=3))
    assert c["verdict"] == "review" and c["status"] == "awaiting_review"
    override = rules / "sources" / "ar_snic.yaml"
    override.write_text(override.read_text("utf-8") + (
        "  - id: I1\n    severity: error\n"
        "    reason: test of a reprocess - the sex breakdown must add up exactly for this source\n"), "utf-8")
    code, r = srv.curl(f"{url}/{c['submission_id']}/reprocess", reviewer, "-X", "POST")
    assert code == 200, r
    assert (r["previous_status"], r["previous_verdict"]) == ("awaiting_review", "review")
    assert (r["status"], r["verdict"]) == ("rejected", "rejected"), r
    code, s = srv.curl(f"{url}/{c['submission_id']}", office)
    assert s["status"] == "rejected" and s["verdict"] == "rejected"
    assert any(f["rule_id"] == "I1" and f["severity"] == "error" for f in s["failures"])
    ev = srv.db.audit_events(50, action="reprocess", submission_id=c["submission_id"])
    assert len(ev) == 1 and ev[0].actor == "cor.rev"
    d = json.loads(ev[0].detail)
    assert (d["previous_verdict"], d["verdict"], d["status"]) == ("review", "rejected", "rejected")


def test_reviewer_pages_and_release_date_at_upload(app_factory, tmp_path):
    srv = app_factory()
    srv.user("rd.arg", "office", "ARG", lang="es")
    srv.user("rd.rev", "reviewer", lang="en")
    office = srv.token("rd.arg")
    url = srv.url + "/api/submissions"
    landing = srv.data_dir / "landing"

    def stored() -> list[str]:
        return sorted(p.name for p in landing.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if landing.exists() else []

    # bad release dates: refused with a translated message, nothing stored, the refusal audited
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    for value, key in (("2024-13-01", "err_release_date"), ("01/03/2024", "err_release_date"),
                       ("20240301", "err_release_date"), ("../../etc", "err_release_date"),
                       (tomorrow, "err_release_date_future")):
        code, r = srv.curl(url, office, "-H", "Accept-Language: es", "-F", f"file=@{good_file(tmp_path)}",
                       "-F", "source=ar_snic", "-F", f"released_on={value}")
        assert code == 400 and r["error"] == key, (value, r)
        assert value in r["message"] and "No se guardó nada" in r["message"], r
    assert stored() == []
    assert len(srv.db.audit_events(50, action="upload_refused", actor="rd.arg")) == 5

    # the upload form: a bad date is refused on the page, in Spanish, nothing stored
    web = WebClient(srv, lang="es")
    assert web.login("rd.arg").status_code == 200
    form = web.c.get("/upload").text
    assert 'name="released_on"' in form and "Fecha de publicación de este archivo" in form
    tok = web.csrf("/upload")
    with open(good_file(tmp_path), "rb") as fh:
        r = web.c.post("/upload", data={"csrf": tok, "source": "ar_snic", "released_on": tomorrow},
                       files={"file": ("snic-pais.csv", fh, "text/csv")})
    assert r.status_code == 400 and f"La fecha de publicación {tomorrow} está en el futuro" in r.text
    assert stored() == []
    # a good date: stored in the manifest, shown with where it comes from
    with open(good_file(tmp_path), "rb") as fh:
        r = web.c.post("/upload", data={"csrf": web.csrf("/upload"), "source": "ar_snic", "released_on": "2023-11-30"},
                       files={"file": ("snic-pais.csv", fh, "text/csv")})
    assert r.status_code == 200, r.text[:500]
    (sid,) = stored()
    assert json.loads((landing / sid / "manifest.json").read_text())["released_on"] == "2023-11-30"
    assert "30 nov 2023 — declarada al subir el archivo" in r.text
    web.close()

    # the reviewer's page: both actions with CSRF; reprocess shows the verdict again; withdraw needs a reason
    rev = WebClient(srv, lang="en")
    assert rev.login("rd.rev").status_code == 200
    page = rev.c.get(f"/submissions/{sid}").text
    assert "Read again with the current spec" in page and "Withdraw from publication" in page
    assert "Nov 30, 2023 — declared at upload" in page
    r = rev.c.post(f"/submissions/{sid}/withdraw", data={"reason": "no csrf"})
    assert r.status_code == 403
    r = rev.post_form(f"/submissions/{sid}/reprocess", f"/submissions/{sid}")
    assert r.status_code == 200 and 'id="flash"' in r.text and "the new verdict is below" in r.text
    assert 'data-verdict="review"' in r.text
    # nothing else is accepted (it awaits approval): the release made is empty, and the page says it was made
    assert "The warehouse was republished with this change." in r.text
    r = rev.post_form(f"/submissions/{sid}/withdraw", f"/submissions/{sid}", reason="")
    assert r.status_code == 400 and "A withdrawal needs a reason." in r.text
    r = rev.post_form(f"/submissions/{sid}/withdraw", f"/submissions/{sid}", reason="sent by mistake")
    assert r.status_code == 200 and "Withdrawn from publication." in r.text
    assert "withdrawn from publication: sent by mistake" in r.text and 'id="withdraw"' not in r.text
    assert [e.action for e in srv.db.audit_events(20, submission_id=sid)][:2] == ["publish", "withdraw"]
    rev.close()

    # an office posting the form itself: 403
    web = WebClient(srv, lang="es")
    web.login("rd.arg")
    r = web.post_form(f"/submissions/{sid}/reprocess", "/upload")
    assert r.status_code == 403
    web.close()


def test_withdrawal_left_to_dagster_says_so(app_factory, tmp_path):
    """HEMISTAT_PUBLISH_ON_APPROVAL=0: the portal never publishes; the answer says the change waits for the
    next publish run."""
    srv = app_factory(HEMISTAT_PUBLISH_ON_APPROVAL="0")
    srv.user("dg.arg", "office", "ARG")
    srv.user("dg.rev", "reviewer")
    office, reviewer = srv.token("dg.arg"), srv.token("dg.rev")
    url = srv.url + "/api/submissions"
    v = send(srv, url, office, good_file(tmp_path))
    code, r = srv.curl(f"{url}/{v['submission_id']}/withdraw", reviewer, *JSON,
                   "-d", json.dumps({"reason": "duplicate delivery"}))
    assert code == 200 and r["status"] == "withdrawn" and r["publish"] == "deferred" and r["published"] is None
    assert "left to Dagster" in r["publish_message"]
    assert not (srv.data_dir / "hemistat.duckdb").exists()


def test_a_pipeline_rerun_never_undoes_a_withdrawal(tmp_path, monkeypatch):
    """A reviewer may withdraw a web upload before Dagster's landing_sensor has run its ingest; that run
    (the same two steps) must leave it withdrawn, not put it back in the review queue."""
    from pipelines import pipeline
    from pipelines.settings import get_settings
    from pipelines.storage import submissions as subs

    monkeypatch.setenv("HEMISTAT_DATA_DIR", str(tmp_path / "data"))
    s = get_settings()
    man, _ = pipeline.submit(s, good_file(tmp_path), "ar_snic", channel="web", uploaded_by="office")
    pipeline.withdraw(s, man.submission_id, reason="sent by mistake", by="reviewer")
    pipeline.ingest(s, man.submission_id)
    pipeline.validate(s, man.submission_id)
    st = subs.read_status(s.landing_dir, man.submission_id)
    assert st["status"] == "withdrawn" and st["withdrawn"]["reason"] == "sent by mistake"
    assert pipeline.accepted_submissions(s).empty
