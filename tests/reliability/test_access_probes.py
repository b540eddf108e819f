"""Issue 14, the attack kept as the project's own suite: access-control probes on SQLite and on PostgreSQL (a private
server the test starts, tests/pg.py). Each probe is an attempt an attacker or a careless user would make —
another country's submission through every page and API path, a revoked or forged token, a deactivated user's
token, an office acting as a reviewer, a form without its CSRF token, traversal in ids and template names, a
session cookie that was signed out — and must be refused. The test counts attempts and successes (0) and prints them.

A template upload (no real file needed) is Argentina's submission the other offices probe."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO
from tests.service.conftest import App, WebClient

HEAD = (REPO / "reference" / "templates" / "hemistat_template.csv").read_text(encoding="utf-8").splitlines()[0]


def _bearer(token: str) -> dict:
    return {"authorization": f"Bearer {token}"}


def _template(tmp_path, iso3: str):
    f = tmp_path / f"plantilla_{iso3}.csv"
    f.write_text(HEAD + "\n" + "\n".join(f"{iso3},,,{y},,0101,Homicidio intencional,offences,_T,_T,{300 + y % 9},A,"
                                         for y in (2021, 2022, 2023)) + "\n", encoding="utf-8")
    return f


def _probe(app, tmp_path) -> tuple[int, list[str]]:
    app.user("p.arg", "office", "ARG")
    app.user("p.bra", "office", "BRA")
    app.user("p.rev", "reviewer")
    arg_token, bra_token = app.token("p.arg"), app.token("p.bra")
    code, body = app.upload(arg_token, _template(tmp_path, "ARG"), source="iccs_template")
    assert code in (200, 201) and body.get("submission_id"), body
    sid = body["submission_id"]
    attempts, successes = 0, []

    def attempt(name: str, ok: bool):
        nonlocal attempts
        attempts += 1
        if ok:
            successes.append(name)

    bra_api = app.client(headers=_bearer(bra_token))
    # another country's submission, every API path, and the list
    for path in (f"/api/submissions/{sid}", f"/api/submissions/{sid}/original", f"/api/submissions/{sid}/report"):
        r = bra_api.get(path)
        attempt(f"BRA reads {path}", r.status_code < 400)
    attempt("BRA lists ARG's submission", sid in bra_api.get("/api/submissions").text)
    # and through the pages
    bra = WebClient(app)
    assert bra.login("p.bra").status_code == 200
    for path in (f"/submissions/{sid}", f"/submissions/{sid}/original", f"/submissions/{sid}/report",
                 f"/submissions/{sid}/failures.csv", f"/submissions/{sid}/failures.xlsx"):
        attempt(f"BRA page {path}", bra.c.get(path).status_code < 400)
    # uploading for another country (its template rows, its national source)
    code, body = app.upload(bra_token, _template(tmp_path, "ARG"), source="iccs_template")
    attempt("BRA uploads ARG rows", code < 400 and body.get("status") not in ("rejected",))
    code, _ = app.upload(bra_token, _template(tmp_path, "ARG"), source="ar_snic")
    attempt("BRA uploads for ar_snic", code < 400)
    # an office acting as a reviewer: decide, acknowledge
    r = app.post(f"/api/submissions/{sid}/decision", headers=_bearer(arg_token), json={"decision": "approve"})
    attempt("office approves its own file (API)", r.status_code < 400)
    r = bra.c.post(f"/submissions/{sid}/decision", data={"decision": "approve", "comment": "x"})
    attempt("office decision without CSRF token (page)", r.status_code < 400)
    # forged, revoked and deactivated tokens
    for tok in ("hst_" + "x" * 43, "", "Bearer", arg_token[:-1] + ("A" if arg_token[-1] != "A" else "B")):
        attempt(f"forged token {tok[:8]!r}", app.get("/api/submissions", headers=_bearer(tok)).status_code < 400)
    web = WebClient(app)
    web.login("p.bra")
    page = web.post_form("/account/tokens", "/account", name="script").text
    token = re.search(r'<pre id="new-token">([^<]+)</pre>', page).group(1)
    tid = re.findall(r"/account/tokens/(\d+)/revoke", page)[-1]
    web.post_form(f"/account/tokens/{tid}/revoke", "/account")
    attempt("revoked token", app.get("/api/submissions", headers=_bearer(token)).status_code < 400)
    # a deactivated user's token, and the same user re-activated (tokens stay revoked)
    from pipelines.service import auth

    gone = app.user("p.gone", "office", "CHL")
    gone_token = app.token("p.gone")
    auth.update_user(app.db, gone.id, active=False, actor="probe", actor_role="admin")
    attempt("deactivated user's token", app.get("/api/submissions", headers=_bearer(gone_token)).status_code < 400)
    auth.update_user(app.db, gone.id, active=True, actor="probe", actor_role="admin")
    attempt("re-activated user's old token", app.get("/api/submissions", headers=_bearer(gone_token)).status_code < 400)
    # traversal in ids and names
    for path in ("/api/submissions/..%2f..%2fetc%2fpasswd", "/submissions/../../etc/passwd/original",
                 "/templates/..%2f..%2fpipelines%2fsettings.py", "/templates/../settings.py",
                 f"/api/submissions/{sid}%2f..%2f..%2fmanifest.json"):
        r = app.get(path, headers=_bearer(arg_token))
        attempt(f"traversal {path}", r.status_code < 400 and ("root:" in r.text or "def " in r.text))
    # a signed-out session cookie
    old = dict(bra.c.cookies)
    page = bra.c.get("/submissions").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    bra.c.post("/logout", data={"csrf": csrf.group(1) if csrf else ""})
    stale = app.client(cookies=old)
    r = stale.get(f"/submissions")
    attempt("signed-out session", r.status_code == 200 and "p.bra" in r.text and "sign-out" in r.text)
    return attempts, successes


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_access_probes_all_refused(db, tmp_path, request):
    url = request.getfixturevalue("pg_fresh_url") if db == "postgresql" else None
    app = App(tmp_path / "data", url)
    try:
        attempts, successes = _probe(app, tmp_path)
    finally:
        app.stop()
    print(f"\naccess probes on {db}: {attempts} attempts, {len(successes)} successes")
    assert attempts >= 20
    assert successes == [], successes
