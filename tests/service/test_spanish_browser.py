"""Issue 13 item 6, must show, in a real browser: the Spanish upload-to-approval flow in headless Chromium. A data
office whose browser asks for Spanish uploads the real Argentine national file; a reviewer who chose Spanish
acknowledges the warnings and approves; every page of the way, as the browser renders it (the text a reader sees),
shows none of the English words the issue found leaking and no number in English format (1,284,936).
The leak list and the number pattern are those of the TestClient walk (tests/service/test_spanish_flow.py)."""

from __future__ import annotations

import re

from tests.service.conftest import PASSWORD, good_file
from tests.service.test_portal_browser import chrome
from tests.service.test_spanish_flow import ENGLISH_NUMBER, LEAKS


def _no_english(name: str, text: str) -> None:
    found = [w for w in LEAKS if re.search(w, text)]
    assert not found, (name, found, [text[max(0, m.start() - 80):m.end() + 80]
                                     for w in found for m in [re.search(w, text)]][:3])
    m = ENGLISH_NUMBER.search(text)
    assert not m, (name, m.group(0) if m else None)


def test_spanish_upload_to_approval_in_chromium(server_factory, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait

    srv = server_factory()
    srv.user("oficina.arg", "office", "ARG")             # no saved language: the browser's Spanish decides
    srv.user("revisor.es", "reviewer", lang="es")         # his own choice: Spanish
    good = good_file(tmp_path)
    d = chrome("es")
    wait = WebDriverWait(d, 180)
    pages: dict[str, str] = {}

    def body() -> str:
        return d.find_element(By.TAG_NAME, "body").text

    def sign_in(user):
        d.get(srv.url + "/")
        wait.until(EC.presence_of_element_located((By.ID, "username"))).send_keys(user)
        d.find_element(By.ID, "password").send_keys(PASSWORD)
        d.find_element(By.ID, "sign-in").click()
        wait.until(EC.url_contains("/submissions"))

    try:
        sign_in("oficina.arg")
        d.get(srv.url + "/upload")
        Select(wait.until(EC.presence_of_element_located((By.ID, "source")))).select_by_value("ar_snic")
        pages["upload"] = body()
        d.find_element(By.ID, "file").send_keys(str(good))
        d.find_element(By.ID, "upload").click()
        verdict = wait.until(EC.presence_of_element_located((By.ID, "verdict")))
        assert verdict.get_attribute("data-verdict") == "review"
        sid = d.current_url.split("/submissions/")[1].split("?")[0]
        pages["verdict"] = body()
        d.get(srv.url + "/submissions")
        wait.until(EC.presence_of_element_located((By.ID, "submissions")))
        pages["list"] = body()
        d.find_element(By.ID, "sign-out").click()
        wait.until(EC.presence_of_element_located((By.ID, "username")))

        sign_in("revisor.es")
        d.get(srv.url + "/review")
        queue = wait.until(EC.presence_of_element_located((By.ID, "review-queue")))
        pages["review_queue"] = body()
        queue.find_element(By.LINK_TEXT, sid).click()
        wait.until(EC.presence_of_element_located((By.ID, "ack-form")))
        pages["review"] = body()
        d.find_element(By.ID, "ack-reason").send_keys("Advertencias conocidas del SNIC; revisadas.")
        d.find_element(By.ID, "acknowledge").click()
        wait.until(EC.presence_of_element_located((By.ID, "flash")))
        pages["acknowledged"] = body()
        d.find_element(By.ID, "comment").send_keys("Coincide con la publicación nacional del SNIC.")
        d.find_element(By.ID, "approve").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "verdict"), "PUBLICADO"))
        pages["approved"] = body()
        d.find_element(By.ID, "sign-out").click()
        wait.until(EC.presence_of_element_located((By.ID, "username")))

        sign_in("oficina.arg")
        d.get(srv.url + f"/submissions/{sid}")
        wait.until(EC.presence_of_element_located((By.ID, "verdict")))
        pages["published"] = body()
    finally:
        d.quit()

    for name, text in pages.items():
        assert text.strip(), name
        _no_english(name, text)
    # numbers written the Spanish way where the page has large ones (the import summary, rule messages)
    assert re.search(r"\d{1,3}(?:\.\d{3})+", pages["verdict"]), pages["verdict"][:1500]
    assert "Estado actual: PUBLICADO" in pages["published"]
