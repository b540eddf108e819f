"""The Network in headless Chromium (issue 17, Must show): an academic in Chile applies and the technical
secretariat approves her; she posts in Spanish in a members-only space; a Jamaican national focal point (also his
country's data office) replies in English; a moderator hides a post with a reason (written to the audit log); an
event is created, she registers and downloads its .ics (parsed back with icalendar); her page of points of common
interest lists a practice and a member sharing her topic, each with its reason. Practices and courses come from
a small fixture warehouse with the views the practices and catalogue work publish (sample rows, labelled so).

Screenshots are taken on every run (in the test's temporary folder); with HEMISTAT_REFRESH_SCREENSHOTS=1
(``make screenshots``) they are written to docs/screenshots/network_*.png, linked from the README."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from icalendar import Calendar

from pipelines.network.rules import Viewer
from pipelines.service import auth
from pipelines.service import network_store as store
from tests.network.conftest import build_warehouse, person
from tests.service.conftest import PASSWORD
from tests.service.test_portal_browser import shots_dir


def chrome(lang: str, downloads: Path):
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
    o.add_experimental_option("prefs", {"intl.accept_languages": lang, "download.default_directory": str(downloads),
                                        "download.prompt_for_download": False})
    d = webdriver.Chrome(options=o, service=Service(driver))
    d.set_page_load_timeout(180)
    d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    return d


def test_academic_applies_posts_registers_and_finds_common_interest(server_factory, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait

    srv = server_factory()
    db = srv.db
    build_warehouse(srv.data_dir / "hemistat.duckdb")
    # the people already in the Network (made with the portal's own functions)
    sec = auth.create_user(db, "secretaria", PASSWORD, "network", lang="es")
    store.grant(db, sec.id, "secretariat", actor=None)
    jm = auth.create_user(db, "jm.focal", PASSWORD, "office", country_iso3="JAM", lang="en")   # a data office …
    store.apply(db, jm.id, store.rules.check_application(
        {"display_name": "Jamaica focal point", "organisation": "Sample ministry (sample record)", "sector": "member_state",
         "country_iso3": "JAM", "iccs": ["0201"], "prevention": ["community"], "languages": ["en"],
         "visible": ["organisation", "country"]}, member_states=auth.member_states(), iccs_codes={"0201"},
        vocab=store.rules.vocabularies(Path(__file__).resolve().parents[2] / "reference")),
        actor=Viewer(jm.id, "jm.focal", "office"))
    store.decide(db, store.member_of(db, jm.id).id, "approve", "", actor=Viewer(sec.id, "secretaria", "network",
                                                                                 roles=frozenset({"secretariat"})))
    store.grant(db, jm.id, "focal_point", actor=None, country_iso3="JAM")                      # … and focal point
    beto = person(db, "beto.arg", password=PASSWORD, display_name="Beto Sample", country_iso3="ARG", iccs=["0201"],
                  prevention=["social"], organisation="Sample NGO (sample record)")
    mod = person(db, "mod.net", password=PASSWORD, display_name="Moderation Sample", country_iso3="BRA",
                 iccs=["05"], organisation="Sample moderators (sample record)")
    store.grant(db, mod, "moderator", actor=None)

    SHOTS = shots_dir(tmp_path)
    SHOTS.mkdir(parents=True, exist_ok=True)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    d = chrome("es", downloads)
    wait = WebDriverWait(d, 120)

    def shot(name):
        h = d.execute_script("return document.documentElement.scrollHeight")
        d.set_window_size(1280, max(700, min(h + 40, 2400)))
        d.save_screenshot(str(SHOTS / f"{name}.png"))
        d.set_window_size(1280, 1000)

    def sign_in(user, nxt="/network"):
        d.get(f"{srv.url}/login?next={nxt}")
        wait.until(EC.presence_of_element_located((By.ID, "username"))).send_keys(user)
        d.find_element(By.ID, "password").send_keys(PASSWORD)
        d.find_element(By.ID, "sign-in").click()
        # the login page's own URL names nxt (?next=…): wait for the page signed in, not for the URL alone
        wait.until(lambda drv: "/login" not in drv.current_url and nxt in drv.current_url
                   and drv.find_elements(By.ID, "sign-out"))

    def sign_out():
        d.find_element(By.ID, "sign-out").click()
        wait.until(EC.presence_of_element_located((By.ID, "username")))

    try:
        # --- an academic in Chile applies (her browser asks for Spanish) ------------------------------------
        d.get(srv.url + "/network/apply")
        wait.until(EC.presence_of_element_located((By.ID, "apply-form")))
        assert "Solicitud de adhesión a la Red" in d.find_element(By.TAG_NAME, "h1").text
        d.find_element(By.ID, "username").send_keys("ana.chl")
        d.find_element(By.ID, "password").send_keys(PASSWORD)
        d.find_element(By.ID, "display_name").send_keys("Ana Contreras")
        d.find_element(By.ID, "organisation").send_keys("Universidad de Muestra (registro de muestra)")
        Select(d.find_element(By.ID, "sector")).select_by_value("academia")
        Select(d.find_element(By.ID, "country_iso3")).select_by_value("CHL")
        Select(d.find_element(By.ID, "iccs")).select_by_value("02")
        for box in ("prevention-social", "language-es", "visible-organisation", "visible-name", "visible-country"):
            d.find_element(By.ID, box).click()
        shot("network_apply")
        d.find_element(By.ID, "apply").click()
        status = wait.until(EC.presence_of_element_located((By.ID, "my-status")))
        assert status.get_attribute("data-status") == "applied" and "solicitud en examen" in status.text
        assert d.find_element(By.ID, "nav-suggestions")          # signed in with her new account
        sign_out()

        # --- the technical secretariat approves her, opens a members-only space and creates an event ---------
        sign_in("secretaria", "/network/secretariat")
        row = d.find_element(By.CSS_SELECTOR, 'tr[data-user="ana.chl"]')
        assert row.get_attribute("data-status") == "applied" and "CHL" in row.text and "academia" in row.text
        d.find_element(By.ID, "approve-ana.chl").click()
        wait.until(EC.url_contains("done=decide"))
        assert d.find_element(By.CSS_SELECTOR, 'tr[data-user="ana.chl"]').get_attribute("data-status") == "approved"
        d.find_element(By.ID, "space-slug").send_keys("dialogo-regional")
        d.find_element(By.ID, "space-title").send_keys("Diálogo regional sobre prevención en escuelas")
        Select(d.find_element(By.ID, "space-kind")).select_by_value("members")
        d.find_element(By.ID, "create-space").click()
        wait.until(EC.url_contains("done=space"))
        shot("network_secretariat")
        d.get(srv.url + "/network/events")
        wait.until(EC.presence_of_element_located((By.ID, "event-form")))
        assert "first-virtual-forum-2016" in {r.get_attribute("data-slug") for r in
                                              d.find_elements(By.CSS_SELECTOR, "#events tbody tr")}   # the seeded record
        d.find_element(By.ID, "event-slug").send_keys("foro-escuelas-2026")
        d.find_element(By.ID, "event-title").send_keys("Foro virtual: prevención de la violencia en escuelas")
        d.find_element(By.ID, "event-start").send_keys("2026-12-10T14:00")
        d.find_element(By.ID, "event-end").send_keys("2026-12-10T16:00")
        d.find_element(By.ID, "event-capacity").send_keys("2")
        d.find_element(By.ID, "event-agenda").send_keys("14:00-14:30 Apertura | Secretaría técnica — OEA (muestra)\n"
                                                        "14:30-15:30 Experiencias nacionales | Ana Contreras — Universidad de Muestra")
        d.find_element(By.ID, "create-event").click()
        wait.until(EC.presence_of_element_located((By.ID, "agenda")))
        event_url = d.current_url
        event_id = int(event_url.rstrip("/").rsplit("/", 1)[1])
        assert "Apertura" in d.find_element(By.ID, "agenda").text
        sign_out()

        # --- she posts in Spanish in the members-only space, registers and downloads the .ics ---------------
        sign_in("ana.chl")
        d.get(srv.url + "/network/spaces/dialogo-regional")
        wait.until(EC.presence_of_element_located((By.ID, "thread-form")))
        d.find_element(By.ID, "thread-title").send_keys("Evaluación de programas escolares")
        d.find_element(By.ID, "body").send_keys("Hola @jm.focal, compartimos la evaluación del programa escolar "
                                                "de prevención. ¿Cómo miden los resultados en Jamaica?")
        assert Select(d.find_element(By.ID, "post-lang")).first_selected_option.get_attribute("value") == "es"
        (tmp_path / "resumen.txt").write_text("Resumen de la evaluación (muestra).\n", "utf-8")
        d.find_element(By.ID, "files").send_keys(str(tmp_path / "resumen.txt"))
        d.find_element(By.ID, "post-thread").click()
        first = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "article.post")))
        assert first.get_attribute("data-lang") == "es" and first.get_attribute("lang") == "es"
        assert "@jm.focal" in first.find_element(By.CSS_SELECTOR, "mark.mention").text
        assert "resumen.txt" in first.text
        thread_url = d.current_url.split("#")[0]
        d.get(event_url)
        d.find_element(By.ID, "register").click()
        wait.until(EC.presence_of_element_located((By.ID, "registered")))
        assert "1 de 2 plazas ocupadas" in d.find_element(By.ID, "capacity").text
        d.find_element(By.ID, "ics").click()
        deadline = time.time() + 60
        while time.time() < deadline and not list(downloads.glob("*.ics")):
            time.sleep(0.3)
        files = list(downloads.glob("*.ics"))
        assert [f.name for f in files] == ["foro-escuelas-2026.ics"]
        cal = Calendar.from_ical(files[0].read_bytes())
        evs = cal.walk("VEVENT")
        assert str(evs[0]["SUMMARY"]) == "Foro virtual: prevención de la violencia en escuelas"
        assert evs[0].decoded("DTSTART").isoformat() == "2026-12-10T14:00:00+00:00"
        assert evs[0].decoded("DTEND").isoformat() == "2026-12-10T16:00:00+00:00"
        assert [str(e["SUMMARY"]).rsplit(": ", 1)[1] for e in evs[1:]] == ["Apertura", "Experiencias nacionales"]
        assert str(evs[0]["URL"]) == event_url
        shot("network_event")

        # her points of common interest: a practice and a member sharing her topic, each with its reason
        d.get(srv.url + "/network/suggestions")
        prac = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, '#sug-practice tr[data-ref="sample-pr-1"]')))
        reasons = {li.get_attribute("data-reason"): li.text for li in prac.find_elements(By.CSS_SELECTOR, "li")}
        assert {"shared_iccs_area", "shared_prevention_type", "same_country"} <= set(reasons)
        assert "área ICCS compartida: 02" in reasons["shared_iccs_area"]
        mem = d.find_element(By.CSS_SELECTOR, f'#sug-member tr[data-ref="{beto}"]')
        mreasons = {li.get_attribute("data-reason"): li.text for li in mem.find_elements(By.CSS_SELECTOR, "li")}
        assert "shared_iccs_area" in mreasons and "same_subregion" in mreasons and "Beto Sample" in mem.text
        assert "sample-pr-2" not in d.find_element(By.ID, "sug-practice").get_attribute("innerHTML")   # other topic
        shot("network_suggestions")
        sign_out()

        # --- the Jamaican focal point (English, his saved choice) sees the mention and replies in English ------
        sign_in("jm.focal", "/network/digest")
        mentions = d.find_element(By.ID, "digest-mentions")
        assert "Evaluación de programas escolares" in mentions.text and "@ana.chl" in mentions.text
        mentions.find_element(By.TAG_NAME, "a").click()
        wait.until(EC.presence_of_element_located((By.ID, "reply-form")))
        assert Select(d.find_element(By.ID, "post-lang")).first_selected_option.get_attribute("value") == "en"
        d.find_element(By.ID, "body").send_keys("Thank you @ana.chl. Our data office measures school incidents "
                                                "quarterly; happy to share the method.")
        d.find_element(By.ID, "post-reply").click()
        wait.until(lambda drv: len(drv.find_elements(By.CSS_SELECTOR, "article.post")) == 2)
        reply = d.find_elements(By.CSS_SELECTOR, "article.post")[1]
        assert reply.get_attribute("data-lang") == "en" and reply.get_attribute("data-author") == "jm.focal"
        assert "English" in reply.find_element(By.CLASS_NAME, "lang-tag").text
        shot("network_thread")
        sign_out()

        # --- an off-topic post, and a moderator hides it with a reason ---------------------------------------------
        tid = int(thread_url.rsplit("/", 1)[1])
        spam = store.reply(db, tid, "Compre seguidores baratos en www.example.invalid", "es",
                           store.viewer(db, auth.Principal(beto, "beto.arg", "network", "ARG", "es")),
                           files=[], folder=srv.data_dir / "portal" / "network" / "attachments", max_bytes=1 << 20)
        sign_in("mod.net", thread_url.replace(srv.url, ""))
        d.find_element(By.ID, f"hide-reason-{spam}").send_keys("Publicidad ajena a la prevención")
        d.find_element(By.ID, f"hide-{spam}").click()
        hidden = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, f'#post-{spam}[data-hidden="1"]')))
        assert "Publicidad ajena a la prevención" in hidden.text and "seguidores" not in hidden.text
        shot("network_moderation")
        sign_out()
    finally:
        d.quit()

    hides = [e for e in db.audit_events(500, action="network_hide")]
    assert len(hides) == 1 and hides[0].actor == "mod.net"
    assert json.loads(hides[0].detail)["reason"] == "Publicidad ajena a la prevención"
    assert json.loads(hides[0].detail)["post_id"] == spam
    posts = [e for e in db.audit_events(500, action="network_post")]
    assert sorted(json.loads(e.detail)["lang"] for e in posts) == ["en", "es", "es"]
    assert {e.action for e in db.audit_events(500)} >= {"network_apply", "network_decide", "network_space_create",
                                                       "network_event_create", "network_register", "network_hide"}
