"""The catalogue in the portal: anyone reads the offers, the gap report (chart + table) and the Fund in four
languages; a country's office user (or an admin) enters a survey answer, checked by the same rules as a file and
written to the audit log; another country's user, an analyst and a form without CSRF are refused."""

from __future__ import annotations

import re

import pytest

from tests.service.conftest import App, WebClient


@pytest.fixture(scope="module")
def cat_portal(tmp_path_factory):
    a = App(tmp_path_factory.mktemp("catportal") / "data")
    yield a
    a.stop()


def test_anyone_reads_catalogue_gaps_and_fund(cat_portal):
    r = cat_portal.get("/catalogue")
    assert r.status_code == 200 and 'data-course="redppol-police-course-hnd-2017"' in r.text
    assert r.text.count('data-sample="true"') == 6 and "jornal.usp.br" in r.text
    r = cat_portal.get("/catalogue?lang=es")
    assert "Cursos de capacitación y asistencia técnica" in r.text and "asistencia técnica" in r.text
    r = cat_portal.get("/catalogue/gaps?lang=pt")
    assert r.status_code == 200 and "Relatório de lacunas" in r.text and "<svg" in r.text
    assert 'id="sample-note"' in r.text                             # sample answers, said so
    rows = re.findall(r'data-country="(\w+)" data-topic="([\w.]+)" data-status="(\w+)"', r.text)
    assert {(c, t) for c, t, s in rows if s != "covered"} == {
        ("GTM", "prevention.youth"), ("JAM", "police.investigation"), ("MEX", "prevention.situational"),
        ("TTO", "participation.community")}
    assert "Demanda de capacitação sem oferta" in r.text             # the chart's title in the page's language
    topics = re.findall(r'<tr data-topic="([\w.]+)">', r.text)           # the table by topic (not covered)
    assert sorted(topics) == ["participation.community", "police.investigation", "prevention.situational",
                              "prevention.youth"]
    r = cat_portal.get("/catalogue/fund?lang=fr")
    assert r.status_code == 200 and "Fonds volontaire" in r.text and 'data-contribution="VF-2015-001"' in r.text
    assert "50 000,00" in r.text.replace("\u202f", " ").replace("\xa0", " ")
    assert r.text.count('data-activity="SAMPLE-ACT-') == 3 and "course:sample-jam-youth-prevention" in r.text
    assert cat_portal.get("/catalogue/survey").status_code in (302, 303)   # the form needs a signed-in user


def test_office_user_answers_for_its_country_only(cat_portal):
    cat_portal.user("gtm.office", "office", "GTM")
    cat_portal.user("cat.analyst", "analyst")
    cat_portal.user("cat.admin", "admin")
    gtm = WebClient(cat_portal)
    gtm.login("gtm.office")
    page = gtm.c.get("/catalogue/survey")
    assert page.status_code == 200 and '<option value="GTM" selected>GTM</option>' in page.text
    assert '<option value="HND"' not in page.text
    # each question drawn by its type: codes as lists, yes/no, numbers, dates, text
    assert '<input type="date" name="period_start"' in page.text and '<input type="number" name="priority"' in page.text
    assert '<option value="true"' in page.text and '<input type="text" name="institution"' in page.text
    assert '<option value="onsite"' in page.text and '<option value="police.community"' in page.text
    answer = dict(kind="demand", country_iso3="GTM", institution="Ministerio de Gobernación", topic="police.community",
                  audience="police", people="25", priority="4", modality="onsite", language="es",
                  language_mandatory="true", period_start="2027-02-01", period_end="2027-07-31")
    r = gtm.post_form("/catalogue/survey", "/catalogue/survey", **answer)
    assert r.status_code == 200 and 'id="saved"' in r.text
    rid = re.search(r'data-response="(GTM-P\w+)"', r.text).group(1)
    ev = [e for e in cat_portal.db.audit_events(20, action="survey_answer")]
    assert len(ev) == 1 and ev[0].actor == "gtm.office" and ev[0].country_iso3 == "GTM" and rid in ev[0].detail
    # stored in the data folder, under a name the portal made
    files = list((cat_portal.data_dir / "knowledge" / "survey").glob("portal__*.csv"))
    assert len(files) == 1 and "gtm.office" in files[0].read_text("utf-8")
    # the real answer now replaces the sample survey in the gap report
    g = cat_portal.get("/catalogue/gaps").text
    assert 'id="sample-note"' not in g and 'data-country="GTM" data-topic="police.community" data-status="covered"' in g
    # another country: refused and audited, nothing stored
    r = gtm.post_form("/catalogue/survey", "/catalogue/survey", **dict(answer, country_iso3="HND"))
    assert r.status_code == 403 and "Only the data office of HND or an administrator may answer for HND" in r.text
    assert [e.country_iso3 for e in cat_portal.db.audit_events(20, action="survey_answer_refused")] == ["HND"]
    # a bad answer: the rule's message, in the user's language, names the field
    r = gtm.post_form("/catalogue/survey?lang=es", "/catalogue/survey?lang=es",
                      **dict(answer, priority="9", topic="police.magic", period_end="2027-01-01"))
    assert r.status_code == 400
    assert "priority = 9 está fuera de rango" in r.text and "topic = police.magic no es un código conocido" in r.text
    assert "period_end 2027-01-01 es anterior al inicio del período 2027-02-01" in r.text
    assert len(list((cat_portal.data_dir / "knowledge" / "survey").glob("*.csv"))) == 1
    # a form without its CSRF token
    assert gtm.c.post("/catalogue/survey", data=answer).status_code == 403
    # an analyst may not answer; an admin may answer for any country
    an = WebClient(cat_portal)
    an.login("cat.analyst")
    assert an.c.get("/catalogue/survey").status_code == 403
    adm = WebClient(cat_portal)
    adm.login("cat.admin")
    r = adm.post_form("/catalogue/survey", "/catalogue/survey", **dict(answer, country_iso3="HND"))
    assert r.status_code == 200 and 'id="saved"' in r.text
    assert [e.country_iso3 for e in cat_portal.db.audit_events(20, action="survey_answer")] == ["HND", "GTM"]


def test_permission_check_is_one_function():
    from types import SimpleNamespace as U

    from pipelines.service.routers.catalogue import may_answer_for

    assert may_answer_for(U(role="office", country_iso3="GTM"), "GTM")
    assert not may_answer_for(U(role="office", country_iso3="GTM"), "HND")
    assert may_answer_for(U(role="admin", country_iso3=None), "HND")
    assert not may_answer_for(U(role="reviewer", country_iso3="GTM"), "GTM")
    assert not may_answer_for(None, "GTM")
