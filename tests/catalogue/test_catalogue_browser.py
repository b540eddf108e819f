"""The catalogue's pages in headless Chromium: a reader in Spanish opens the gap report (the chart is drawn, its
table is there) and the catalogue; Guatemala's data office signs in, fills the demand survey and records an answer,
which the gap report then shows. Screenshots in the test's temporary folder, or docs/screenshots/ with
HEMISTAT_REFRESH_SCREENSHOTS=1 (``catalogue_*.png``)."""

from __future__ import annotations

from tests.service.conftest import PASSWORD, Server
from tests.service.test_portal_browser import chrome, shots_dir


def test_reader_and_data_office_in_chromium(tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait

    srv = Server(tmp_path / "data")
    d = None
    try:
        srv.user("gt.oficina", "office", "GTM", lang="es")
        shots = shots_dir(tmp_path)
        shots.mkdir(parents=True, exist_ok=True)
        d = chrome("es")
        wait = WebDriverWait(d, 180)

        def shot(name):
            h = d.execute_script("return document.documentElement.scrollHeight")
            d.set_window_size(1280, max(700, min(h + 40, 2400)))
            d.save_screenshot(str(shots / f"{name}.png"))
            d.set_window_size(1280, 1000)

        d.get(srv.url + "/catalogue/gaps")
        chart = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#gap-chart svg")))
        assert chart.size["width"] > 300 and "Demanda de capacitación sin oferta" in chart.get_attribute("innerHTML")
        assert d.find_element(By.CSS_SELECTOR, "#gaps caption").text.startswith("Demandas por país y tema")
        rows = d.find_elements(By.CSS_SELECTOR, '#gaps tr[data-status="unmet"]')
        assert [r.get_attribute("data-country") for r in rows] == ["TTO"]
        shot("catalogue_gaps")
        d.get(srv.url + "/catalogue")
        assert len(d.find_elements(By.CSS_SELECTOR, "#courses tr[data-course]")) == 14
        shot("catalogue_list")

        d.get(srv.url + "/login")
        wait.until(EC.presence_of_element_located((By.ID, "username"))).send_keys("gt.oficina")
        d.find_element(By.ID, "password").send_keys(PASSWORD)
        d.find_element(By.ID, "sign-in").click()
        wait.until(EC.url_contains("/submissions"))
        d.get(srv.url + "/catalogue/survey")
        Select(wait.until(EC.presence_of_element_located((By.ID, "q-kind")))).select_by_value("demand")
        d.find_element(By.ID, "q-institution").send_keys("Ministerio de Gobernación")
        Select(d.find_element(By.ID, "q-topic")).select_by_value("prevention.situational")
        Select(d.find_element(By.ID, "q-audience")).select_by_value("municipal_staff")
        d.find_element(By.ID, "q-people").send_keys("35")
        d.find_element(By.ID, "q-priority").send_keys("5")
        Select(d.find_element(By.ID, "q-modality")).select_by_value("onsite")
        Select(d.find_element(By.ID, "q-language")).select_by_value("es")
        Select(d.find_element(By.ID, "q-language_mandatory")).select_by_value("true")
        shot("catalogue_survey")
        d.find_element(By.ID, "survey-submit").click()
        saved = wait.until(EC.presence_of_element_located((By.ID, "saved")))
        assert "registrada" in saved.text
        assert [e.action for e in srv.db.audit_events(5, actor="gt.oficina")][0] == "survey_answer"
        d.get(srv.url + "/catalogue/gaps")
        row = wait.until(EC.presence_of_element_located(
            (By.CSS_SELECTOR, '#gaps tr[data-country="GTM"][data-topic="prevention.situational"]')))
        assert row.get_attribute("data-status") == "partly"       # no situational-prevention offer: same pillar only
        assert not d.find_elements(By.ID, "sample-note")          # a real answer: the sample survey is gone
    finally:
        if d is not None:
            d.quit()
        srv.stop()
