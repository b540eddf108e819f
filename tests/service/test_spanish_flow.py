"""Issue 13 item 6 (must show): the Spanish upload-to-approval flow reads in Spanish. An office (es) uploads the
real Argentine national file, a reviewer (es) acknowledges the warnings and approves, the release is made; every
page of the way — upload form, verdict, submission list, review queue, the reviewer's page, the approved and
published submission — shows none of the English words the issue found leaking (source titles, "sex",
"unknown", history lines, parameter names in rule messages) and numbers in Spanish format (1.284.936, not
1,284,936). The TestClient drives the same pages the browser test does (tests/service/test_portal_browser.py)."""

from __future__ import annotations

import html
import re

from tests.conftest import real
from tests.service.conftest import WebClient

# what the issue saw in Spanish pages, and what the rule messages used to carry
LEAKS = [r"\bsex\b", r"\bunknown\b", r"days after the period", r"provinces and national", r"warnings to acknowledge",
         r"\backnowledged\b", r"awaiting publication approval", r"\bin release\b", r"\bcells\b", r"robust z",
         r"z robusto", r"max_rel", r"tolerance_rel", r"warn_rel", r"max_abs_z", r"max_months", r"target=",
         r"NEEDS REVIEW", r"\bpublished\b(?!\.)", r"\bvalidated\b", r"\breceived\b", r"\bthe\b", r"\bof the\b",
         r"every cell replaced"]
ENGLISH_NUMBER = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3}){2,}(?![\d,])|(?<![\d.,])\d{1,3},\d{3}\.\d")


def visible(page: str) -> str:
    """The text a reader sees: no markup, styles, scripts, code (hashes) or attribute values."""
    page = re.sub(r"<(style|script|code)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<svg\b.*?</svg>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_spanish_upload_to_approval_has_no_english_and_spanish_numbers(app_factory, tmp_path):
    srv = app_factory()
    srv.user("ana.arg", "office", "ARG", lang="es")
    srv.user("rev.es", "reviewer", lang="es")
    office, reviewer = WebClient(srv, lang="es"), WebClient(srv, lang="es")
    assert office.login("ana.arg").status_code == 200 and reviewer.login("rev.es").status_code == 200
    f = tmp_path / "snic-pais.csv"
    f.write_bytes(real("ar_snic/snic-pais.csv").read_bytes())

    pages = {"upload": office.c.get("/upload").text}
    r = office.upload(f)
    assert r.status_code == 200
    sid = str(r.url).split("/submissions/")[1].split("?")[0]
    pages["verdict"] = r.text
    pages["list"] = office.c.get("/submissions").text
    pages["review_queue"] = reviewer.c.get("/review").text
    page = reviewer.c.get(f"/submissions/{sid}").text
    pages["review"] = page
    pending = re.findall(r'name="rules" value="([A-Z0-9]+)"', page)
    assert pending
    reviewer.post_form(f"/submissions/{sid}/acknowledge", f"/submissions/{sid}", rules=pending,
                       reason="advertencias conocidas del SNIC")
    r = reviewer.post_form(f"/submissions/{sid}/decision", f"/submissions/{sid}", decision="approve",
                           comment="aprobado")
    assert r.status_code == 200
    pages["approved"] = r.text
    pages["published"] = office.c.get(f"/submissions/{sid}").text
    pages["list_after"] = office.c.get("/submissions").text
    pages["report"] = office.c.get(f"/submissions/{sid}/report").text   # the full quality report
    office.close()
    reviewer.close()

    # the full report is also the details: its threshold column names the parameters (max_rel=0.3) and its Great
    # Expectations table names the table's columns (sex, country_iso3) — on purpose; everything else is Spanish
    details = {r"\bsex\b", r"max_rel", r"tolerance_rel", r"warn_rel", r"max_abs_z", r"max_months", r"target="}
    for name, page in pages.items():
        text = visible(page)
        found = [w for w in LEAKS if re.search(w, text) and not (name == "report" and w in details)]
        assert not found, (name, found, [text[max(0, m.start() - 80):m.end() + 80]
                                         for w in found for m in [re.search(w, text)]][:3])
        assert not ENGLISH_NUMBER.search(text), (name, ENGLISH_NUMBER.search(text).group(0))

    verdict, published = visible(pages["verdict"]), visible(pages["published"])
    # numbers in Spanish format: the import summary (4.011 new values), counts and values in rule messages
    assert re.search(r"valores nuevos\s+4\.011", verdict), verdict[:2000]
    assert "Sistema Nacional de Información Criminal (provincias y total nacional)" in verdict
    assert "el desglose por sexo suma" in verdict and "sexo = mujer" in verdict and "sexo no especificado" in verdict
    assert re.search(r"umbral 1 %|umbral 1\xa0%", verdict) and "(límite: 3,5)" in verdict
    assert "1.009" in verdict                     # I1: "el total es 1.009", not 1009.0
    # history lines and dates in Spanish; the headline is the current status
    assert "advertencias por reconocer" in published and "en la versión" in published
    assert re.search(r"\d{1,2} nov 2026|\d{1,2} [a-z]{3} \d{4}", published)
    assert "Estado actual: PUBLICADO" in published
