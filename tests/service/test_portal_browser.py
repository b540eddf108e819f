"""The real pages in headless Chromium (Selenium + Debian's chromium/chromium-driver): a data office
signs in, uploads a real file and sees the verdict in Spanish (its browser asks for Spanish); uploads a
defective file and sees which rows broke which rule; a reviewer (who chose English) acknowledges the
warnings and approves, and the values appear in published.indicators. Screenshots of the main pages are
taken on every run (in the test's temporary folder); `make screenshots` (HEMISTAT_REFRESH_SCREENSHOTS=1)
writes them to docs/screenshots/, linked from docs/PORTAL.md."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.service.conftest import PASSWORD, bad_file, good_file
from pipelines.storage.release import connect as release_connect

REPO = Path(__file__).resolve().parents[2]
DOC_SHOTS = REPO / "docs" / "screenshots"


def shots_dir(tmp_path: Path) -> Path:
    return DOC_SHOTS if os.environ.get("HEMISTAT_REFRESH_SCREENSHOTS") == "1" else tmp_path / "screenshots"


def chrome(lang: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or "/usr/bin/chromium"
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not (Path(binary).exists() and Path(driver).exists()):
        pytest.fail("headless Chromium is missing: apt-get install -y chromium chromium-driver (.ci/run does)")
    o = webdriver.ChromeOptions()
    o.binary_location = binary
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--lang={lang}",
              "--window-size=1280,1000", "--hide-scrollbars", "--force-device-scale-factor=1"):
        o.add_argument(a)
    o.add_experimental_option("prefs", {"intl.accept_languages": lang})
    d = webdriver.Chrome(options=o, service=Service(driver))   # Debian's driver: nothing is downloaded
    d.set_page_load_timeout(180)
    return d


def test_office_uploads_reviewer_approves_in_chromium(server_factory, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait

    srv = server_factory()
    srv.user("oficina.arg", "office", "ARG")          # no saved language: the browser's Accept-Language decides
    srv.user("revisora", "reviewer", lang="en")        # her own choice: English
    good, bad = good_file(tmp_path), bad_file(tmp_path)
    SHOTS = shots_dir(tmp_path)
    SHOTS.mkdir(parents=True, exist_ok=True)
    d = chrome("es")
    wait = WebDriverWait(d, 180)

    def shot(name):
        h = d.execute_script("return document.documentElement.scrollHeight")
        d.set_window_size(1280, max(700, min(h + 40, 2400)))
        d.save_screenshot(str(SHOTS / f"{name}.png"))
        d.set_window_size(1280, 1000)

    def sign_in(user):
        d.get(srv.url + "/")
        wait.until(EC.presence_of_element_located((By.ID, "username"))).send_keys(user)
        d.find_element(By.ID, "password").send_keys(PASSWORD)
        d.find_element(By.ID, "sign-in").click()
        wait.until(EC.url_contains("/submissions"))

    def upload(path, released_on=None):
        d.get(srv.url + "/upload")
        Select(wait.until(EC.presence_of_element_located((By.ID, "source")))).select_by_value("ar_snic")
        d.find_element(By.ID, "file").send_keys(str(path))
        if released_on:
            d.find_element(By.ID, "released_on").send_keys(released_on)
        d.find_element(By.ID, "upload").click()
        return wait.until(EC.presence_of_element_located((By.ID, "verdict")))

    try:
        # --- the data office, in Spanish -------------------------------------------------------------
        sign_in("oficina.arg")
        assert "Envíos" in d.find_element(By.TAG_NAME, "h1").text
        d.get(srv.url + "/upload")
        Select(wait.until(EC.presence_of_element_located((By.ID, "source")))).select_by_value("ar_snic")
        assert "Cargar un archivo" in d.find_element(By.TAG_NAME, "h1").text
        shot("upload")

        verdict = upload(good, released_on="2024-03-01")
        assert verdict.get_attribute("data-verdict") == "review"
        assert d.find_element(By.ID, "release-date").text == "1 mar 2024 — declarada al subir el archivo"
        assert "Dictamen: REQUIERE REVISIÓN" in verdict.text
        assert "advertencias por reconocer" in verdict.text
        assert "Archivo guardado" in d.find_element(By.ID, "stored").text
        sid = d.current_url.split("/submissions/")[1].split("?")[0]
        i1 = d.find_element(By.ID, "rule-I1")
        assert "advertencia" in i1.text.lower() and "Línea" in i1.text       # the warning rows, in Spanish
        shot("verdict")

        verdict = upload(bad)
        assert verdict.get_attribute("data-verdict") == "rejected" and "RECHAZADO" in verdict.text
        s1 = d.find_element(By.ID, "rule-S1")
        rows = {r.get_attribute("data-line"): r.text for r in s1.find_elements(By.CSS_SELECTOR, "tbody tr")}
        assert set(rows) >= {"10", "21"}
        assert "cantidad_hechos" in rows["21"] and "12 34" in rows["21"] and "No se puede leer el archivo" in rows["21"] \
            and "no es un número" in rows["21"] and "not a number" not in rows["21"]   # the adapter's text too
        assert "-372" in rows["10"] and "línea 10" in rows["10"]
        bad_sid = d.current_url.split("/submissions/")[1].split("?")[0]
        shot("verdict_rejected")

        d.get(srv.url + "/submissions")
        table = wait.until(EC.presence_of_element_located((By.ID, "submissions")))
        status = {r.get_attribute("data-sid"): r.get_attribute("data-status")
                  for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")}
        assert status == {sid: "awaiting_review", bad_sid: "rejected"}
        assert "en espera de revisión" in table.text and "rechazado" in table.text
        shot("submissions")
        d.find_element(By.ID, "sign-out").click()
        wait.until(EC.presence_of_element_located((By.ID, "username")))

        # --- the reviewer, in English (her saved choice beats the browser's Spanish) ------------------
        sign_in("revisora")
        assert "Submissions" in d.find_element(By.TAG_NAME, "h1").text
        d.get(srv.url + "/review")
        queue = wait.until(EC.presence_of_element_located((By.ID, "review-queue")))
        assert sid in queue.text and bad_sid not in queue.text
        shot("review")
        queue.find_element(By.LINK_TEXT, sid).click()
        wait.until(EC.presence_of_element_located((By.ID, "ack-form")))
        assert d.find_element(By.ID, "approve").get_attribute("disabled") is not None   # warnings first
        d.find_element(By.ID, "ack-reason").send_keys("Known SNIC breakdown gaps and rate rounding; checked.")
        d.find_element(By.ID, "acknowledge").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "flash"), "Warnings acknowledged"))
        d.find_element(By.ID, "comment").send_keys("Figures match the SNIC 2000-2001 national release.")
        shot("review_submission")
        d.find_element(By.ID, "approve").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "flash"), "Publication approved"))
        assert "published" in d.find_element(By.ID, "verdict").text
        assert "revisora" in d.find_element(By.ID, "history").text
        shot("approved")

        con = release_connect(srv.data_dir / "hemistat.duckdb")
        try:
            got = con.execute("select year, value from published.indicators where submission_id = ? and "
                              "iccs_code = '0101' and measure = 'offences' and sex = '_T' and subdivision_code is null "
                              "and month is null order by year", [sid]).fetchall()
            n_bad = con.execute("select count(*) from published.indicators where submission_id = ?",
                                [bad_sid]).fetchone()
        finally:
            con.close()
        assert got == [(2000, 2653.0), (2001, 3053.0)]
        assert n_bad == (0,)

        # --- a correction: the reviewer withdraws it from publication, with a reason ---------------------
        d.find_element(By.ID, "withdraw-reason").send_keys("SNIC announced a revision of 2000-2001.")
        d.find_element(By.ID, "withdraw").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "flash"), "Withdrawn from publication"))
        assert "withdrawn from publication: SNIC announced a revision" in d.find_element(By.ID, "verdict").text
        # nothing else is accepted: an empty release is published, and the page says so
        assert "republished" in d.find_element(By.ID, "publish-note").text
        assert not d.find_elements(By.ID, "withdraw")
        shot("withdrawn")
        d.get(srv.url + f"/submissions/{sid}?lang=es")
        assert "retirado de la publicación: SNIC announced" in \
            wait.until(EC.presence_of_element_located((By.ID, "withdrawn-reason"))).text
    finally:
        d.quit()

    acts = {e.action for e in srv.db.audit_events(200, submission_id=sid)}
    assert {"upload", "verdict", "acknowledge", "approve", "publish", "withdraw"} <= acts
    for name in ("upload", "verdict", "verdict_rejected", "submissions", "review", "review_submission", "approved",
                 "withdrawn"):
        assert (SHOTS / f"{name}.png").stat().st_size > 5000
