"""Administration and languages through the real pages: an admin manages users (create, deactivate,
reset a password, revoke a token); roles guard the pages; the page language follows the switcher, the
user's saved choice and Accept-Language; analysts download the published indicators."""

from __future__ import annotations

from tests.service.conftest import PASSWORD, WebClient


def test_admin_manages_users(portal):
    portal.user("adm.root", "admin")
    admin = WebClient(portal)
    assert "Users" in admin.login("adm.root").text or admin.c.get("/admin/users").status_code == 200
    r = admin.post_form("/admin/users", "/admin/users", action="create", username="adm.new", password=PASSWORD,
                        role="office", country_iso3="chl", lang="es")
    assert r.status_code == 200 and 'data-user="adm.new"' in r.text
    r = admin.post_form("/admin/users", "/admin/users", action="create", username="adm.bad", password="short",
                        role="office", country_iso3="CHL")
    assert r.status_code == 400 and "at least 12 characters" in r.text
    r = admin.post_form("/admin/users", "/admin/users", action="create", username="adm.nocountry",
                        password=PASSWORD, role="office", country_iso3="")
    assert r.status_code == 400 and "needs its country" in r.text

    new = WebClient(portal)
    assert "Envíos" in new.login("adm.new").text                      # saved language: Spanish
    token = portal.token("adm.new")
    from pipelines.service.auth import get_user

    uid = str(get_user(portal.db, "adm.new").id)
    assert f'name="user_id" value="{uid}"' in admin.c.get("/admin/users").text
    admin.post_form("/admin/users", "/admin/users", action="deactivate", user_id=uid)
    assert new.c.get("/submissions").url.path == "/login"              # its session ended
    assert portal.get("/api/submissions", headers={"authorization": f"Bearer {token}"}).status_code == 401
    assert new.login("adm.new").status_code == 401
    admin.post_form("/admin/users", "/admin/users", action="activate", user_id=uid)
    admin.post_form("/admin/users", "/admin/users", action="password", user_id=uid, password="another long password")
    assert new.login("adm.new").status_code == 401
    assert new.login("adm.new", "another long password").status_code == 200
    acts = [e.action for e in portal.db.audit_events(50, actor="adm.root")]
    assert acts.count("user_create") == 1 and acts.count("user_update") == 3


def test_roles_guard_pages(portal):
    portal.user("adm.office", "office", "URY")
    portal.user("adm.analyst", "analyst")
    office = WebClient(portal)
    office.login("adm.office")
    for path in ("/admin/users", "/audit", "/review"):
        assert office.c.get(path).status_code == 403, path
    r = office.c.post("/admin/users", data={"csrf": office.csrf("/account"), "action": "create", "username": "x",
                                             "password": PASSWORD, "role": "admin"})
    assert r.status_code == 403
    analyst = WebClient(portal)
    analyst.login("adm.analyst")
    assert analyst.c.get("/upload").status_code == 403
    assert analyst.c.get("/submissions").status_code == 200
    anon = portal.client()
    r = anon.get("/submissions", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_language_switcher_preference_and_accept_language(portal):
    portal.user("adm.lang", "office", "BRA")
    web = WebClient(portal, lang="pt-BR,pt;q=0.9")
    assert "Envios" in web.login("adm.lang").text                      # Accept-Language
    assert "Dépôts" in web.c.get("/submissions?lang=fr").text          # the switcher ...
    assert "Dépôts" in web.c.get("/submissions").text                  # ... is remembered
    web.post_form("/account", "/account", lang="es")                   # a saved preference resets the switcher
    assert "Envíos" in web.c.get("/submissions").text
    for lang, word in (("en", "Submissions"), ("es", "Envíos"), ("pt", "Envios"), ("fr", "Dépôts")):
        page = portal.get(f"/login?lang={lang}").text
        assert f'<html lang="{lang}">' in page


def test_analyst_downloads_published_indicators(portal):
    """Before anything is published the page says so; the export itself is covered after a release
    in test_portal_api (office: own country only)."""
    portal.user("adm.dl", "analyst")
    web = WebClient(portal)
    web.login("adm.dl")
    assert "Nothing has been published yet" in web.c.get("/downloads").text
    assert web.c.get("/downloads/indicators.csv").status_code == 404
