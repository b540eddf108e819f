"""Security of the portal (in this process, through FastAPI's TestClient; SQLite): country isolation
(403/404, never 500), revoked tokens, path traversal, oversized uploads, CSRF, sign-in rate limiting, no
secret in clear, formula neutralisation of what the portal writes back, cookie flags. What only a real
server shows (curl, a body refused from its Content-Length) is in test_portal_api.py."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3

import pytest
from openpyxl import load_workbook

from tests.service.conftest import PASSWORD, WebClient, bad_file, good_file

MB = 1024 * 1024



@pytest.fixture(scope="module")
def offices(portal):
    """An Argentine and a Mexican data office, a reviewer and an analyst on the shared portal; the
    Argentine office has uploaded the good SNIC file."""
    portal.user("sec.arg", "office", "ARG")
    portal.user("sec.mex", "office", "MEX")
    portal.user("sec.rev", "reviewer")
    portal.user("sec.ana", "analyst")
    arg = WebClient(portal)
    assert arg.login("sec.arg").status_code == 200
    return {"arg": arg, "arg_token": portal.token("sec.arg"), "mex_token": portal.token("sec.mex")}


@pytest.fixture(scope="module")
def arg_sid(portal, offices, tmp_path_factory):
    r = offices["arg"].upload(good_file(tmp_path_factory.mktemp("sec")))
    assert r.status_code == 200, r.text[:500]
    sid = re.search(r"/submissions/([a-z0-9_]+)\?new=", str(r.url)).group(1)
    return sid


def _bearer(token):
    return {"authorization": f"Bearer {token}"}


def test_office_cannot_upload_for_another_country(portal, offices, tmp_path):
    f = good_file(tmp_path)
    with open(f, "rb") as fh:
        r = portal.post("/api/submissions", headers=_bearer(offices["mex_token"]),
                       data={"source": "ar_snic"}, files={"file": ("snic.csv", fh)})
    assert r.status_code == 403
    assert r.json()["error"] == "err_source_other_country" and "ar_snic" in r.json()["message"]
    mex = WebClient(portal, lang="es")
    mex.login("sec.mex")
    r = mex.upload(f, source="ar_snic")
    assert r.status_code == 403 and "pertenece a otro país" in r.text
    landed = [d.name for d in (portal.data_dir / "landing").iterdir() if d.name.startswith("ar_snic__")]
    assert all(json.loads((portal.data_dir / "landing" / d / "manifest.json").read_text())["uploaded_by"] != "sec.mex"
               for d in landed)


def test_office_cannot_list_or_download_another_countrys_submissions(portal, offices, arg_sid):
    mex = WebClient(portal)
    mex.login("sec.mex")
    assert arg_sid not in mex.c.get("/submissions").text
    for path in (f"/submissions/{arg_sid}", f"/submissions/{arg_sid}/original", f"/submissions/{arg_sid}/report",
                 f"/submissions/{arg_sid}/failures.csv", f"/submissions/{arg_sid}/failures.xlsx"):
        r = mex.c.get(path)
        assert r.status_code == 404, (path, r.status_code)
    api = portal.client(headers=_bearer(offices["mex_token"]))
    assert arg_sid not in api.get("/api/submissions").text
    for path in (f"/api/submissions/{arg_sid}", f"/api/submissions/{arg_sid}/original",
                 f"/api/submissions/{arg_sid}/report"):
        r = api.get(path)
        assert r.status_code == 404 and r.json()["error"] == "err_not_found", path
    # the office that sent it, the reviewer and the analyst can
    own = portal.get(f"/api/submissions/{arg_sid}/original", headers=_bearer(offices["arg_token"]))
    assert own.status_code == 200 and own.headers["x-content-sha256"]
    assert own.content == good_file(portal.data_dir.parent).read_bytes()   # byte for byte
    ana = WebClient(portal)
    ana.login("sec.ana")
    assert arg_sid in ana.c.get("/submissions").text
    assert ana.c.get(f"/submissions/{arg_sid}/original").status_code == 200
    assert ana.c.get("/upload").status_code == 403                          # analysts only read
    denied = portal.db.audit_events(50, action="access_denied", actor="sec.mex")
    assert denied and all(e.submission_id == arg_sid for e in denied)


def test_reviewer_only_actions(portal, offices, arg_sid):
    r = portal.post(f"/api/submissions/{arg_sid}/decision", headers=_bearer(offices["arg_token"]),
                   json={"decision": "approve", "comment": "self-approval"})
    assert r.status_code == 403
    r = offices["arg"].post_form(f"/submissions/{arg_sid}/decision", f"/submissions/{arg_sid}",
                                 decision="approve", comment="x")
    assert r.status_code == 403


def test_revoked_token_is_refused(portal, offices):
    web = WebClient(portal)
    web.login("sec.arg")
    r = web.post_form("/account/tokens", "/account", name="script")
    token = re.search(r'<pre id="new-token">([^<]+)</pre>', r.text).group(1)
    assert portal.get("/api/submissions", headers=_bearer(token)).status_code == 200
    tid = re.findall(r"/account/tokens/(\d+)/revoke", r.text)[-1]
    assert web.post_form(f"/account/tokens/{tid}/revoke", "/account").status_code == 200
    r = portal.get("/api/submissions", headers=_bearer(token))
    assert r.status_code == 401 and r.json()["error"] == "err_token" and r.headers["www-authenticate"] == "Bearer"
    assert portal.get("/api/submissions").status_code == 401
    assert portal.get("/api/submissions", headers=_bearer("hst_" + "x" * 43)).status_code == 401
    assert portal.db.audit_events(5, action="token_revoke", actor="sec.arg")


def test_path_traversal_refused(portal, offices, tmp_path):
    f = good_file(tmp_path)
    for evil in ("../../../../tmp/evil.csv", "..\\..\\evil.csv", "/etc/passwd"):
        with open(f, "rb") as fh:
            r = portal.post("/api/submissions", headers=_bearer(offices["arg_token"]),
                           data={"source": "ar_snic"}, files={"file": (evil, fh)})
        assert r.status_code == 400, (evil, r.text)
        assert r.json()["error"] == "err_file_name_path" and "path traversal" in r.json()["message"]
    r = offices["arg"].upload(f, name="../../x.csv")
    assert r.status_code == 400 and "path traversal refused" in r.text
    # submission ids in URLs are never paths either
    for path in ("/submissions/..%2F..%2Fetc%2Fpasswd/original", "/submissions/%2e%2e/original",
                 "/api/submissions/..%2F..%2Fportal%2Fsecret.key/original", "/submissions/ar_snic__2026__x/original"):
        r = offices["arg"].c.get(path)
        assert r.status_code == 404, (path, r.status_code)
    assert not list((tmp_path.parent).glob("evil.csv"))
    refused = portal.db.audit_events(20, action="upload_refused", actor="sec.arg")
    assert any(json.loads(e.detail)["reason"] == "err_file_name_path" for e in refused)


def test_oversized_upload_refused_with_clear_message(portal, offices, tmp_path):
    # just over the 1 MB limit: read, measured, refused by the portal
    big = tmp_path / "big.csv"
    big.write_bytes(b"\r\n".join(good_file(tmp_path).read_bytes().split(b"\r\n")[:1]) + b"\r\n"
                    + b"2000;1;x;1;1;1;1;1;1;1;1;1\r\n" * (MB // 28 + 2000))
    assert MB < big.stat().st_size < 2 * MB
    with open(big, "rb") as fh:
        r = portal.post("/api/submissions", headers={**_bearer(offices["arg_token"]),
                                                                 "accept-language": "fr"},
                       data={"source": "ar_snic"}, files={"file": ("big.csv", fh)})
    assert r.status_code == 413 and r.json()["message"] == "Le fichier dépasse la limite de 1 Mo."
    r = offices["arg"].upload(big)
    assert r.status_code == 413 and "larger than the limit of 1 MB" in r.text
    # far over: refused from Content-Length before the body is read (over HTTP with curl: test_portal_api)
    huge = tmp_path / "huge.csv"
    huge.write_bytes(b"a;b\r\n" + b"1;2\r\n" * (5 * MB // 5))
    code, body = portal.curl("/api/submissions", offices["arg_token"], "-F", f"file=@{huge}", "-F", "source=ar_snic")
    assert code == 413 and body["message"] == "The file is larger than the limit of 1 MB."


def test_csrf_required_on_forms(portal, offices, tmp_path):
    web = offices["arg"]
    with open(good_file(tmp_path), "rb") as fh:
        r = web.c.post("/upload", data={"source": "ar_snic"}, files={"file": ("a.csv", fh)})
    assert r.status_code == 403 and "did not come from this site" in r.text
    r = web.c.post("/account/tokens", data={"name": "x", "csrf": "0" * 64})
    assert r.status_code == 403
    # sign-in form too (login CSRF): a token from another browser's pre-session does not work
    other = WebClient(portal)
    tok = other.csrf("/login")
    fresh = portal.client()
    r = fresh.post("/login", data={"username": "sec.arg", "password": PASSWORD, "csrf": tok})
    assert r.status_code == 403


def test_sign_in_rate_limited(portal):
    portal.user("sec.victim", "office", "ARG")
    web = WebClient(portal, lang="es")
    for _ in range(5):
        r = web.login("sec.victim", "wrong password 123")
        assert r.status_code == 401 and "incorrectos" in r.text
    r = web.login("sec.victim")                       # even the right password, while locked
    assert r.status_code == 429 and "Demasiados intentos" in r.text
    assert portal.db.audit_events(5, action="sign_in_blocked", actor="sec.victim")
    assert len(portal.db.audit_events(10, action="sign_in_failed", actor="sec.victim")) == 5


def test_no_password_or_token_stored_in_clear(portal, offices):
    token = offices["arg_token"]
    dbfile = portal.data_dir / "portal" / "portal.sqlite3"
    con = sqlite3.connect(dbfile)
    try:
        con.execute("PRAGMA wal_checkpoint(FULL)")
        hashes = [h for (h,) in con.execute("select password_hash from users")]
        assert hashes and all(h.startswith("$argon2id$") for h in hashes)
        dump = "\n".join(con.iterdump())
    finally:
        con.close()
    blob = dbfile.read_bytes() + b"".join(p.read_bytes() for p in dbfile.parent.glob("portal.sqlite3-*"))
    for secret in (PASSWORD, token, token[10:]):
        assert secret not in dump
        assert secret.encode() not in blob
    # the audit log and the landing folder hold no secret either
    landing = b"".join(p.read_bytes() for p in (portal.data_dir / "landing").rglob("*.json"))
    assert PASSWORD.encode() not in landing and token.encode() not in landing


def test_formula_cells_neutralised_in_what_the_portal_writes(portal, offices, tmp_path):
    lines = good_file(tmp_path).read_bytes().split(b"\r\n")
    lines[5] = b'2000;5;=HYPERLINK("http://evil","x");=1+1;;;;;;;;'   # a formula where a count belongs
    f = tmp_path / "=formulas.csv"
    f.write_bytes(b"\r\n".join(lines))
    r = offices["arg"].upload(f)
    assert r.status_code == 200 and "REJECTED" in r.text
    sid = re.search(r"/submissions/([a-z0-9_]+)\?new=", str(r.url)).group(1)
    csv_text = offices["arg"].c.get(f"/submissions/{sid}/failures.csv").content.decode("utf-8-sig")
    assert "'=1+1" in csv_text and ",=1+1" not in csv_text
    wb = load_workbook(io.BytesIO(offices["arg"].c.get(f"/submissions/{sid}/failures.xlsx").content))
    values = [c.value for row in wb.active.iter_rows() for c in row if isinstance(c.value, str)]
    assert "'=1+1" in values and not any(v.startswith(("=", "+", "@")) for v in values)
    listing = offices["arg"].c.get("/submissions.csv").content.decode("utf-8-sig")
    cells = [c for row in csv.reader(listing.splitlines()) for c in row]
    assert "_formulas.csv" in cells            # the landing keeps user file names as inert text
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    # the original is returned byte for byte, as an attachment that no browser renders
    orig = offices["arg"].c.get(f"/submissions/{sid}/original")
    assert orig.content == f.read_bytes()
    assert orig.headers["content-type"] == "application/octet-stream" and "attachment" in orig.headers[
        "content-disposition"]
    assert orig.headers["x-content-type-options"] == "nosniff"


@pytest.mark.filterwarnings("ignore:Using `httpx`")
def test_security_headers_and_cookie_flags(tmp_path, monkeypatch):
    """With the default configuration the session cookie is Secure, HttpOnly and SameSite."""
    from fastapi.testclient import TestClient

    from pipelines.service import create_app
    from pipelines.service.auth import create_user
    from pipelines.settings import get_settings

    monkeypatch.setenv("HEMISTAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("HEMISTAT_COOKIE_SECURE", raising=False)
    monkeypatch.delenv("HEMISTAT_DB_URL", raising=False)
    app = create_app(get_settings())
    create_user(app.state.db, "cookie.user", PASSWORD, "analyst")
    c = TestClient(app, base_url="https://testserver")
    r = c.get("/login")
    assert "content-security-policy" in r.headers and r.headers["x-frame-options"] == "DENY"
    pre = r.headers["set-cookie"]
    assert "Secure" in pre and "HttpOnly" in pre and "samesite=strict" in pre.lower()
    tok = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
    r = c.post("/login", data={"username": "cookie.user", "password": PASSWORD, "csrf": tok}, follow_redirects=False)
    assert r.status_code == 303
    sc = r.headers["set-cookie"]
    assert sc.startswith("hemistat_session=") and "Secure" in sc and "HttpOnly" in sc and "samesite=lax" in sc.lower()
    app.state.db.dispose()


def test_bad_input_never_500(portal, offices):
    api = portal.client(headers=_bearer(offices["arg_token"]))
    assert api.post("/api/submissions").status_code in (400, 422)
    assert api.post("/api/submissions", content=b"garbage", headers={"content-type": "multipart/form-data; "
                                                                                       "boundary=xyz"}).status_code < 500
    r = api.post("/api/submissions", data={"source": "no_such_source"}, files={"file": ("a.csv", b"a;b\n1;2\n")})
    assert r.status_code == 400 and r.json()["error"] == "err_unknown_source"
    r = api.post("/api/submissions", files={"file": ("a.png", b"\x89PNG\r\n\x1a\n" + bytes(50))})
    assert r.status_code == 400 and r.json()["error"] in ("err_type_binary", "err_choose_source")
    assert api.get("/api/submissions/%00").status_code == 404
    web = offices["arg"]
    assert web.c.get("/submissions/" + "a" * 5000).status_code in (404, 414)


TEMPLATE = ("country_iso3,subdivision_code,subdivision_name,year,month,iccs_code,iccs_label,measure,sex,age,value,"
            "obs_status,comment\r\n"
            "{c},,,2023,,0101,Homicidio intencional,offences,_T,_T,210,A,test\r\n"
            "{c},,,2023,,0401,Robo,offences,_T,_T,6500,A,test\r\n")


def test_template_source_only_for_the_offices_own_country(portal, offices, tmp_path):
    """The ICCS template names the country in a column: an office may send it, with its own rows only."""
    from pipelines.adapters import load_all_specs
    from pipelines.settings import get_settings

    api = portal.client(headers=_bearer(offices["arg_token"]))
    if "iccs_template" not in load_all_specs(get_settings().reference_dir):   # no template source in reference/
        r = api.post("/api/submissions", data={"source": "iccs_template"}, files={"file": ("t.csv", b"a\n1\n")})
        assert r.status_code == 400
        return
    other = tmp_path / "hemistat_template_pry.csv"
    other.write_text(TEMPLATE.format(c="PRY"), "utf-8")
    with open(other, "rb") as fh:
        r = api.post("/api/submissions", data={"source": "iccs_template"}, files={"file": (other.name, fh)})
    body = r.json()
    assert r.status_code == 201 and body["status"] == "rejected" and body["country_iso3"] == "ARG", body
    assert body["failures"][0]["rule_id"] == "ACCESS" and body["failures"][0]["value"] == "PRY"
    page = offices["arg"].c.get(f"/submissions/{body['submission_id']}").text
    assert "may only submit rows of ARG" in page
    # a pipeline rerun (what Dagster's landing_sensor starts for every new submission) keeps it refused
    from pipelines import pipeline
    from pipelines.storage import submissions as subs

    s = get_settings().model_copy(update={"data_dir": portal.data_dir})
    pipeline.ingest(s, body["submission_id"])
    assert pipeline.validate(s, body["submission_id"]).stats["verdict"] != "rejected"   # the rules alone pass it
    assert subs.read_status(s.landing_dir, body["submission_id"])["status"] == "rejected"
    own = tmp_path / "hemistat_template_arg.csv"
    own.write_text(TEMPLATE.format(c="ARG"), "utf-8")
    with open(own, "rb") as fh:
        r = api.post("/api/submissions", data={"source": "iccs_template"}, files={"file": (own.name, fh)})
    body = r.json()
    assert r.status_code == 201 and body["status"] != "received" and not any(
        f["rule_id"] == "ACCESS" for f in body["failures"]), body


def test_dangerous_workbooks_refused_over_http(portal, offices, tmp_path):
    """The same checks as tests/service/test_upload_checks.py, through the running server, with the
    message in the user's language; nothing is stored."""
    from tests.service.test_upload_checks import _xlsx

    before = sorted(p.name for p in (portal.data_dir / "landing").iterdir())
    cases = {"err_xlsx_macros": _xlsx(tmp_path, "m.xlsx", {"xl/vbaProject.bin": b"\x00VBA" * 100}),
             "err_xlsx_external": _xlsx(tmp_path, "e.xlsx", {"xl/externalLinks/externalLink1.xml": "<x/>"}),
             "err_zip_bomb": _xlsx(tmp_path, "b.xlsx", {"xl/media/z.bin": b"\x00" * (40 * MB)}),
             "err_legacy_office": tmp_path / "old.xlsx"}
    cases["err_legacy_office"].write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    for key, path in cases.items():
        assert path.stat().st_size < MB
        with open(path, "rb") as fh:
            r = portal.post("/api/submissions", headers={**_bearer(offices["arg_token"]),
                                                                     "accept-language": "es"},
                           data={"source": "ar_snic"}, files={"file": (path.name, fh)})
        assert r.status_code == 400 and r.json()["error"] == key, (key, r.text)
    assert "macros" in portal.post("/api/submissions", headers=_bearer(offices["arg_token"]),
                                  data={"source": "ar_snic"},
                                  files={"file": ("m.xlsx", cases["err_xlsx_macros"].read_bytes())}).json()["message"]
    assert sorted(p.name for p in (portal.data_dir / "landing").iterdir()) == before


def test_clean_workbook_goes_through_the_pipeline(portal, offices, tmp_path):
    """A plain .xlsx (the ICCS template's workbook layout) passes the content checks and is checked by
    the adapter like a CSV."""
    from openpyxl import Workbook

    from pipelines.adapters import load_all_specs
    from pipelines.settings import get_settings

    if "iccs_template" not in load_all_specs(get_settings().reference_dir):
        return
    wb = Workbook()
    ws = wb.active
    ws.title = "data"
    for i, line in enumerate(TEMPLATE.format(c="ARG").strip().split("\r\n")):
        cells = line.split(",")
        if i:   # year and value as numbers, codes as text ('0101')
            cells[3], cells[10] = int(cells[3]), int(cells[10])
        ws.append(cells)
    p = tmp_path / "hemistat_template_arg.xlsx"
    wb.save(p)
    with open(p, "rb") as fh:
        r = portal.post("/api/submissions", headers=_bearer(offices["arg_token"]),
                  data={"source": "iccs_template"}, files={"file": (p.name, fh)})
    body = r.json()
    assert r.status_code in (200, 201) and body["status"] in ("awaiting_review", "rejected"), body
    assert not any(f["rule_id"] in ("ACCESS", "S1") for f in body["failures"]), body["failures"][:3]
    man = json.loads((portal.data_dir / "landing" / body["submission_id"] / "manifest.json").read_text())
    assert man["stored_name"] == "original.xlsx" and man["country_iso3"] == "ARG"
