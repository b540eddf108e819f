"""Issue 13 item 5: the member-state template as a data office meets it — downloadable from the upload page in
the four languages, instructions that describe the portal (not a command line), and the template sent back
unchanged (its fictitious EXAMPLE rows) refused with a clear message naming the rows."""

from __future__ import annotations

import io

import openpyxl
import pytest

from pipelines.i18n import LANGUAGES
from tests.conftest import REPO
from tests.service.conftest import WebClient

TPL = REPO / "reference" / "templates"


@pytest.fixture(scope="module")
def pry(portal):
    portal.user("tpl.pry", "office", "PRY", lang="es")
    web = WebClient(portal, lang="es")
    assert web.login("tpl.pry").status_code == 200
    yield web
    web.close()


def test_upload_page_offers_the_template_in_every_language(pry):
    page = pry.c.get("/upload").text
    assert 'id="template"' in page and "Descargar la plantilla (libro de Excel, en español)" in page
    assert 'href="/templates/hemistat_template_es.xlsx"' in page
    for lang in LANGUAGES:
        assert f'href="/templates/hemistat_template_{lang}.xlsx"' in page
    assert 'href="/templates/hemistat_template.csv"' in page and 'href="/templates/hemistat_template_sdmx.csv"' in page
    # the instructions are the portal's: no command line on the page
    assert "hemistat validate" not in page and "--source" not in page


@pytest.mark.parametrize("lang,words", [("en", "upload portal"), ("es", "portal de carga"),
                                        ("pt", "portal de envio"), ("fr", "portail de dépôt")])
def test_each_workbook_explains_the_portal_in_its_language(pry, lang, words):
    r = pry.c.get(f"/templates/hemistat_template_{lang}.xlsx")
    assert r.status_code == 200 and r.content == (TPL / f"hemistat_template_{lang}.xlsx").read_bytes()
    assert "attachment" in r.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    readme = "\n".join(str(c.value) for c in wb["README"]["A"] if c.value)
    assert words in readme and "iccs_template" in readme and "EXAMPLE" in readme
    assert "hemistat validate" not in readme and "--source" not in readme
    assert {"data", "codes"} <= set(wb.sheetnames)


def test_only_template_files_are_served(pry):
    assert pry.c.get("/templates/hemistat_template.csv").status_code == 200
    for name in ("hemistat_template.schema.json", "..%2Fsources%2Ficcs_template.yaml", "README.md",
                 "hemistat_template_de.xlsx"):
        assert pry.c.get(f"/templates/{name}").status_code == 404, name


def test_unchanged_template_is_refused_with_a_clear_message(pry):
    tok = pry.csrf("/upload")
    with open(TPL / "hemistat_template_es.xlsx", "rb") as fh:
        r = pry.c.post("/upload", data={"csrf": tok, "source": "iccs_template"},
                       files={"file": ("hemistat_template_es.xlsx", fh, "application/octet-stream")})
    assert r.status_code == 200
    page = r.text
    assert 'data-verdict="rejected"' in page
    assert "esta fila es una de las filas de EJEMPLO ficticias de la plantilla" in page
    assert "borre las filas de ejemplo" in page
    assert 'data-line="2"' in page and ">comment<" in page
