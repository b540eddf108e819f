"""The JSON API with curl, as a data office's script would use it: a bearer token, `-F file=@...`,
a JSON verdict back; then a reviewer acknowledges and approves through the API, and the values appear
in published.indicators. A passing submission nobody approved stays out of the release. These run against a
real server (`hemistat serve`) over HTTP; the revision test runs the same calls against the app in this
process."""

from __future__ import annotations

import json
import subprocess

import duckdb

from tests.service.conftest import bad_file, good_file
from pipelines.storage.release import connect as release_connect


def curl(url: str, token: str, *args: str) -> tuple[int, dict]:
    out = subprocess.run(["curl", "-s", "-H", f"Authorization: Bearer {token}", *args, "-w", "\n%{http_code}", url],
                         capture_output=True, text=True, timeout=180)
    body, code = out.stdout.rsplit("\n", 1)
    return int(code), json.loads(body)


def test_curl_upload_returns_json_verdict_and_approval_publishes(http_portal, tmp_path):
    portal = http_portal
    portal.user("api.arg", "office", "ARG")
    portal.user("api.rev", "reviewer")
    office, reviewer = portal.token("api.arg"), portal.token("api.rev")
    url = portal.url + "/api/submissions"

    # the exact command of the issue: no source given; the office's only matching source is found
    code, v = curl(url, office, "-F", f"file=@{good_file(tmp_path)}")
    assert code == 201, v
    assert v["created"] is True and v["source_id"] == "ar_snic" and v["country_iso3"] == "ARG"
    assert v["verdict"] == "review" and v["status"] == "awaiting_review"
    assert {f["rule_id"] for f in v["failures"]} >= {"I1"}           # warnings with their rows
    sid = v["submission_id"]
    stored = portal.data_dir / "landing" / sid
    assert json.loads((stored / "manifest.json").read_text())["sha256"] == v["sha256"]

    # the same bytes again: the same submission, not stored twice
    code, again = curl(url, office, "-F", f"file=@{good_file(tmp_path)}", "-F", "source=ar_snic")
    assert code == 200 and again["created"] is False and again["submission_id"] == sid

    # a defective file: which rows broke which rule, in Spanish when asked
    code, bad = curl(url, office, "-H", "Accept-Language: es", "-F", f"file=@{bad_file(tmp_path)}",
                     "-F", "source=ar_snic")
    assert code == 201 and bad["verdict"] == "rejected" and bad["status"] == "rejected"
    rows = {(f["rule_id"], f["line"], f["column_name"]) for f in bad["failures"]}
    assert ("S1", 21, "cantidad_hechos") in rows and ("S1", 10, "cantidad_hechos") in rows
    assert any(f["line"] == 21 and "No se puede leer el archivo" in f["message"] for f in bad["failures"])

    # another passing file that nobody approves
    code, other = curl(url, office, "-F", f"file=@{good_file(tmp_path, 'snic-v3.csv', extra_blank_lines=2)}",
                       "-F", "source=ar_snic")
    assert code == 201 and other["status"] == "awaiting_review"

    # the reviewer: approving with warnings pending is refused, then acknowledge + approve
    code, r = curl(url + f"/{sid}/decision", reviewer, "-H", "content-type: application/json",
                   "-d", json.dumps({"decision": "approve", "comment": "ok"}))
    assert code == 409 and r["error"] == "err_pending_warnings"
    rules = sorted({f["rule_id"] for f in v["failures"] if f["severity"] == "warn"})
    code, r = curl(url + f"/{sid}/acknowledge", reviewer, "-H", "content-type: application/json",
                   "-d", json.dumps({"rules": rules, "reason": "known SNIC sex-breakdown and rate rounding"}))
    assert code == 200 and r["status"] == "awaiting_review"          # still held for approval
    code, r = curl(url + f"/{sid}/decision", reviewer, "-H", "content-type: application/json",
                   "-d", json.dumps({"decision": "approve", "comment": "figures match the SNIC release"}))
    assert code == 200 and r["status"] == "published" and r["published"], r

    con = release_connect(portal.data_dir / "hemistat.duckdb")
    try:
        got = con.execute("select year, value from published.indicators where submission_id = ? and iccs_code = '0101' "
                          "and measure = 'offences' and sex = '_T' and subdivision_code is null and month is null "
                          "order by year", [sid]).fetchall()
        held = con.execute("select count(*) from published.indicators where submission_id = ?",
                           [other["submission_id"]]).fetchone()[0]
        st = dict(con.execute("select submission_id, status from published.submissions").fetchall())
    finally:
        con.close()
    assert got == [(2000, 2653.0), (2001, 3053.0)]
    assert held == 0 and st[other["submission_id"]] == "awaiting_review"
    assert st[bad["submission_id"]] == "rejected"

    actions = [e.action for e in portal.db.audit_events(200, submission_id=sid)]
    for a in ("upload", "verdict", "acknowledge", "approve", "publish"):
        assert a in actions, (a, actions)

    # downloads of the release: an analyst gets every country, an office only its own; text cells that
    # look like formulas would be neutralised (tests/service/test_upload_checks.py)
    import csv
    import io

    import httpx
    from openpyxl import load_workbook

    from tests.service.conftest import WebClient

    portal.user("api.analyst", "analyst")
    ana = WebClient(portal)
    ana.login("api.analyst")
    rows = list(csv.DictReader(io.StringIO(ana.c.get("/downloads/indicators.csv").content.decode("utf-8-sig"))))
    assert rows and {r["country_iso3"] for r in rows} == {"ARG"}
    assert any(r["iccs_code"] == "0101" and r["year"] == "2000" and r["value"] == "2653.0" for r in rows)
    wb = load_workbook(io.BytesIO(ana.c.get("/downloads/indicators.xlsx?country=ARG").content))
    assert wb.active.max_row == len(rows) + 1
    portal.user("api.mex", "office", "MEX")
    mex = WebClient(portal)
    mex.login("api.mex")
    mine = mex.c.get("/downloads/indicators.csv?country=ARG").content.decode("utf-8-sig").splitlines()
    assert len(mine) == 1                                            # header only: MEX has nothing published
    assert httpx.get(portal.url + "/downloads/indicators.csv").status_code in (200, 303)
    assert portal.db.audit_events(10, action="download_published", actor="api.analyst")

    # the reviewer rejects the other one: a comment is required; the decision is final
    osid = other["submission_id"]
    code, r = curl(url + f"/{osid}/decision", reviewer, "-H", "content-type: application/json",
                   "-d", json.dumps({"decision": "reject", "comment": "  "}))
    assert code == 400 and r["error"] == "err_comment_required"
    code, r = curl(url + f"/{osid}/decision", reviewer, "-H", "content-type: application/json",
                   "-d", json.dumps({"decision": "reject", "comment": "duplicate of the approved delivery"}))
    assert code == 200 and r["status"] == "rejected"
    code, r = curl(url + f"/{osid}/decision", reviewer, "-H", "content-type: application/json",
                   "-d", json.dumps({"decision": "approve", "comment": "changed my mind"}))
    assert code == 409 and r["error"] == "err_not_reviewable"
    code, r = curl(url + f"/{osid}", office)
    assert r["status"] == "rejected" and "duplicate of the approved delivery" in r["events"][-1]["detail"]


def test_oversized_upload_refused_over_http(http_portal, tmp_path):
    """Far over the limit (1 MB here): refused from Content-Length before the body is read (curl, as an
    office would), with the message in JSON."""
    huge = tmp_path / "huge.csv"
    huge.write_bytes(b"a;b\r\n" + b"1;2\r\n" * (5 * 1024 * 1024 // 5))
    http_portal.user("big.arg", "office", "ARG")
    code, body = curl(http_portal.url + "/api/submissions", http_portal.token("big.arg"), "-F", f"file=@{huge}",
                      "-F", "source=ar_snic")
    assert code == 413 and body["message"] == "The file is larger than the limit of 1 MB."


def test_a_revised_file_supersedes_the_old_one(app_factory, tmp_path):
    """The office sends a revision of every row; once approved, the first submission is `superseded`
    (its page says by which one, in the office's language) and published.indicators has the new value."""
    from tests.service.conftest import WebClient, snic_lines

    srv = app_factory()
    srv.user("sup.arg", "office", "ARG", lang="es")
    srv.user("sup.rev", "reviewer")
    office, reviewer = srv.token("sup.arg"), srv.token("sup.rev")
    url = srv.url + "/api/submissions"

    def send_and_approve(path):
        code, v = srv.curl(url, office, "-F", f"file=@{path}", "-F", "source=ar_snic")
        assert code == 201, v
        sid = v["submission_id"]
        warns = sorted({f["rule_id"] for f in v["failures"] if f["severity"] == "warn"})
        if warns:
            code, r = srv.curl(url + f"/{sid}/acknowledge", reviewer, "-H", "content-type: application/json",
                           "-d", json.dumps({"rules": warns, "reason": "known SNIC warnings"}))
            assert code == 200, r
        code, r = srv.curl(url + f"/{sid}/decision", reviewer, "-H", "content-type: application/json",
                       "-d", json.dumps({"decision": "approve", "comment": "ok"}))
        assert code == 200 and r["status"] == "published", r
        return sid

    first = send_and_approve(good_file(tmp_path))
    lines = list(snic_lines()[:63])
    f = lines[1].split(b";")
    assert f[0] == b"2000" and f[3] == b"2653"        # 2000, homicides, as in the raw file
    f[3] = b"2700"
    lines[1] = b";".join(f)
    rev = tmp_path / "snic-pais-rev.csv"
    rev.write_bytes(b"\r\n".join(lines) + b"\r\n")
    second = send_and_approve(rev)

    code, s1 = srv.curl(url + f"/{first}", office)
    assert code == 200 and s1["status"] == "superseded", s1
    web = WebClient(srv, lang="es")
    assert web.login("sup.arg").status_code == 200
    page = web.c.get(f"/submissions/{first}").text
    web.close()
    assert f"reemplazado por un envío más reciente: {second}" in page
    con = release_connect(srv.data_dir / "hemistat.duckdb")
    try:
        got = con.execute("select value, submission_id from published.indicators where iccs_code = '0101' and "
                          "year = 2000 and measure = 'offences' and sex = '_T' and subdivision_code is null "
                          "and month is null and source_id = 'ar_snic'").fetchall()
    finally:
        con.close()
    assert got == [(2700.0, second)]
