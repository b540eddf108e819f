"""Issue 13, item 6 (and 14, item 12): account commands under `hemistat account`, with errors in the
reader's language instead of raw keys, and countries checked against the member-state list."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.service.auth import AuthError, create_user
from pipelines.service.db import Database


def _run(*args, **env):
    return CliRunner().invoke(app, ["account", *args], env={"HEMISTAT_NEW_PASSWORD": "a-long-enough-password", **env})


def test_account_commands_live_under_hemistat(data_env):
    r = _run("add-user", "ana.office", "--role", "office", "--country", "arg")
    assert r.exit_code == 0 and "created ana.office (office, ARG)" in r.output
    assert "ana.office\toffice\tARG\tactive" in _run("users").output


@pytest.mark.parametrize("lang,text", [("es", "Una contraseña tiene al menos 12 caracteres."),
                                       ("fr", "au moins 12 caractères"), ("en", "at least 12 characters")])
def test_errors_are_translated_not_raw_keys(data_env, lang, text):
    r = _run("add-user", "bob", "--role", "analyst", HEMISTAT_NEW_PASSWORD="short", HEMISTAT_LANG=lang)
    assert r.exit_code == 2 and text in r.output and "err_password_short" not in r.output


def test_the_language_follows_the_locale(data_env):
    r = _run("add-user", "bob", "--role", "analyst", HEMISTAT_NEW_PASSWORD="short", LANG="pt_BR.UTF-8",
             HEMISTAT_LANG="")
    assert "senha" in r.output.lower()


@pytest.mark.parametrize("country", ["XXX", "ZZZZZZ", "ESP"])
def test_a_country_must_be_a_member_state(data_env, country):
    r = _run("add-user", "bob", "--role", "office", "--country", country, HEMISTAT_LANG="es")
    assert r.exit_code == 2 and "no es el código ISO3 de un Estado miembro de la OEA" in r.output
    db = Database(f"sqlite:///{data_env.data_dir / 'acc.sqlite3'}")
    with pytest.raises(AuthError) as exc:
        create_user(db, "bob", "a-long-enough-password", "analyst", country_iso3=country)
    assert exc.value.key == "err_country_not_member"
