"""Issue 13 item 3: each verdict starts with what the file does to the warehouse (DHIS2's import summary) —
values new, changed (the largest changes: key, old, new, difference), unchanged and withdrawn against the
published vintage of the same source and country — and the page shows the current status, not the verdict on
receipt, once a reviewer and a release have acted."""

from __future__ import annotations

import json

from tests.conftest import real


def _approve(srv, office, reviewer, path):
    url = srv.url + "/api/submissions"
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
    return sid, v


def test_resubmission_with_one_value_changed_shows_exactly_that_value(app_factory, tmp_path):
    from tests.service.conftest import WebClient

    srv = app_factory()
    srv.user("imp.arg", "office", "ARG", lang="es")
    srv.user("imp.rev", "reviewer")
    office, reviewer = srv.token("imp.arg"), srv.token("imp.rev")

    lines = real("ar_snic/snic-pais.csv").read_bytes().split(b"\r\n")
    first_file = tmp_path / "snic-pais.csv"
    first_file.write_bytes(b"\r\n".join(lines))
    first, v1 = _approve(srv, office, reviewer, first_file)
    c1 = v1["impact"]["counts"]
    assert c1["new"] > 3000 and c1["changed"] == c1["unchanged"] == c1["withdrawn"] == 0
    assert v1["impact"]["against"] == []

    # the same file with one value revised: 2000, code 1 (homicides), cantidad_hechos 2653 -> 2700
    f = lines[1].split(b";")
    assert f[0] == b"2000" and f[1] == b"1" and f[3] == b"2653"
    f[3] = b"2700"
    lines[1] = b";".join(f)
    rev = tmp_path / "snic-pais-rev.csv"
    rev.write_bytes(b"\r\n".join(lines))
    code, v2 = srv.curl(srv.url + "/api/submissions", office, "-F", f"file=@{rev}", "-F", "source=ar_snic")
    assert code == 201, v2
    imp = v2["impact"]
    assert imp["counts"]["changed"] == 1, imp["counts"]
    assert imp["counts"]["new"] == 0 and imp["counts"]["withdrawn"] == 0
    assert imp["counts"]["unchanged"] == c1["new"] - 1
    assert imp["against"] == [first]
    [ch] = imp["largest_changes"]
    assert (ch["year"], ch["national_code"], ch["measure"], ch["sex"], ch["subdivision_code"]) == \
        (2000, "1", "offences", "_T", None)
    assert (ch["old_value"], ch["new_value"], ch["difference"], ch["line"]) == (2653.0, 2700.0, 47.0, 2)

    web = WebClient(srv, lang="es")
    assert web.login("imp.arg").status_code == 200
    page = web.c.get(f"/submissions/{v2['submission_id']}").text
    # the summary comes first, before the rules, in Spanish with Spanish numbers
    assert page.index('id="import-summary"') < page.index('id="rule-')
    assert "Lo que este archivo cambia en el almacén" in page
    assert 'id="impact-changed" data-n="1"' in page
    assert f'{c1["new"] - 1:,}'.replace(",", ".") in page
    assert 'data-old="2653.0" data-new="2700.0"' in page and "2.653" in page and "2.700" in page and "+47" in page
    # the first submission, approved and published, says so — not "REQUIERE REVISIÓN"
    page1 = web.c.get(f"/submissions/{first}").text
    web.close()
    headline = page1[page1.index('id="headline"'):]
    headline = headline[:headline.index("</h2>")]
    assert "PUBLICADO" in headline and "REQUIERE" not in headline, headline
    assert "Dictamen de calidad al recibir el archivo: REQUIERE REVISIÓN" in page1
