"""Practices in headless Chromium (Selenium + Debian's chromium/chromium-driver), against a served portal:
a civil-society reader (not signed in, Spanish browser) searches the practices in Spanish; a data office submits a
practice; a reviewer (English) starts the review and returns it with a reason; the office corrects and sends it
again; the reviewer publishes it; the reader finds it in the search."""

from __future__ import annotations

from tests.knowledge.conftest import TEST_FORM
from tests.service.conftest import PASSWORD
from tests.service.test_portal_browser import chrome


def test_reader_office_and_reviewer_in_chromium(server_factory, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait

    srv = server_factory()
    srv.user("oficina.jam", "office", "JAM")            # no saved language: the browser's Spanish decides
    srv.user("revisora", "reviewer", lang="en")
    d = chrome("es")
    wait = WebDriverWait(d, 180)
    shots = tmp_path / "screenshots"
    shots.mkdir()

    def sign_in(user):
        d.get(srv.url + "/login")
        wait.until(EC.presence_of_element_located((By.ID, "username"))).send_keys(user)
        d.find_element(By.ID, "password").send_keys(PASSWORD)
        d.find_element(By.ID, "sign-in").click()
        wait.until(EC.url_contains("/submissions"))

    def sign_out():
        d.find_element(By.ID, "sign-out").click()
        wait.until(EC.presence_of_element_located((By.ID, "username")))

    def search(words, country=None):
        d.get(srv.url + "/practices")
        box = wait.until(EC.presence_of_element_located((By.ID, "q")))
        box.clear()
        box.send_keys(words)
        if country:
            Select(d.find_element(By.ID, "country")).select_by_value(country)
        before = d.find_element(By.ID, "result-count")
        d.find_element(By.ID, "search").click()
        wait.until(EC.staleness_of(before))                 # the answer page, not the form we came from
        wait.until(EC.presence_of_element_located((By.ID, "result-count")))
        return [li.get_attribute("data-practice") for li in d.find_elements(By.CSS_SELECTOR, "#practice-results li")]

    def fill(values):
        for name, value in values.items():
            if isinstance(value, list):
                for k in value:
                    box = d.find_element(By.ID, f"{name}-{k}" if name != "unverified" else
                                         _unverified_id(d, k))
                    if not box.is_selected():
                        d.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)
                        box.click()
            elif name in ("scope", "line_of_action", "design", "sms_level", "rating_body"):
                Select(d.find_element(By.ID, name)).select_by_value(value)
            else:
                el = d.find_element(By.ID, name)
                el.clear()
                el.send_keys(value)

    try:
        # --- a civil-society reader, not signed in, searches in Spanish -------------------------------------------
        found = search("violencia juvenil", "BRA")
        assert found[:2] == ["bra-fica-vivo", "bra-bolsa-familia-crime"]
        assert "Buenas prácticas de prevención" in d.find_element(By.TAG_NAME, "h1").text
        assert "Prometedora" in d.find_element(By.CSS_SELECTOR, "#practice-results li").text
        d.save_screenshot(str(shots / "practices_search_es.png"))
        d.find_element(By.CSS_SELECTOR, "#practice-results li a").click()
        title = wait.until(EC.presence_of_element_located((By.ID, "practice-title")))
        assert "Fica Vivo" in title.text and "Revista de Saúde Pública" in d.find_element(By.ID, "studies").text
        assert not d.find_elements(By.ID, "sign-out")                       # nobody signed in

        # --- the data office submits a practice (Spanish) ---------------------------------------------------------
        sign_in("oficina.jam")
        d.get(srv.url + "/practices/submit")
        wait.until(EC.presence_of_element_located((By.ID, "practice-form")))
        fill(TEST_FORM)
        d.find_element(By.ID, "send-practice").click()
        status = wait.until(EC.presence_of_element_located((By.ID, "practice-status")))
        assert status.get_attribute("data-status") == "submitted" and "enviada" in status.text
        page = d.current_url.split("?")[0]
        d.save_screenshot(str(shots / "practice_submitted.png"))
        sign_out()

        # --- the reviewer (English) starts the review and returns it with a reason --------------------------------
        sign_in("revisora")
        d.get(srv.url + "/practices/review")
        queue = wait.until(EC.presence_of_element_located((By.ID, "practice-queue")))
        assert "Test school mediation" in queue.text
        queue.find_element(By.PARTIAL_LINK_TEXT, "Test school mediation").click()
        wait.until(EC.presence_of_element_located((By.ID, "start-review"))).click()
        wait.until(EC.presence_of_element_located((By.ID, "reason"))).send_keys(
            "Give the journal where the evaluation was published.")
        d.find_element(By.ID, "return-practice").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "practice-status"), "returned"))
        assert "Give the journal" in d.find_element(By.ID, "return-reason").text
        sign_out()

        # --- the office sees the reason, corrects and sends it again ---------------------------------------------
        sign_in("oficina.jam")
        d.get(page)
        assert "Devuelta: Give the journal" in wait.until(EC.presence_of_element_located((By.ID, "return-reason"))).text
        fill({"study_journal": "Test journal of school mediation"})
        d.find_element(By.ID, "send-practice").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "practice-status"), "enviada"))
        sign_out()

        # --- the reviewer publishes it ----------------------------------------------------------------------------
        sign_in("revisora")
        d.get(page)
        wait.until(EC.presence_of_element_located((By.ID, "start-review"))).click()
        wait.until(EC.presence_of_element_located((By.ID, "publish-practice"))).click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "practice-status"), "published"))
        history = d.find_element(By.ID, "history").text
        assert history.count("revisora") >= 3 and "Give the journal" in history
        d.save_screenshot(str(shots / "practice_published.png"))
        sign_out()

        # --- the reader finds it ----------------------------------------------------------------------------------
        found = search("mediación escolar")
        assert found and found[0].startswith("jam-test-school-mediation")
    finally:
        d.quit()
    acts = [e.action for e in srv.db.audit_events(200) if e.action.startswith("practice_")]
    assert sorted(acts) == sorted(["practice_submit", "practice_start_review", "practice_return",
                                   "practice_resubmit", "practice_start_review", "practice_publish"])


def _unverified_id(d, path):
    from selenium.webdriver.common.by import By

    for box in d.find_elements(By.CSS_SELECTOR, "input[name=unverified]"):
        if box.get_attribute("value") == path:
            return box.get_attribute("id")
    raise AssertionError(f"no unverified checkbox for {path}")
