"""`hemistat network …`: the first technical secretariat, spaces, working groups, members and the seeded first
virtual forum, from the command line, with errors in the reader's language."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pipelines.cli import app


def _run(*args, **env):
    return CliRunner().invoke(app, list(args), env={"HEMISTAT_NEW_PASSWORD": "a-long-enough-password", **env})


def test_network_commands(data_env):
    assert _run("account", "add-user", "sec.one", "--role", "network").exit_code == 0
    assert _run("account", "add-user", "of.jam", "--role", "office", "--country", "JAM").exit_code == 0
    r = _run("network", "grant", "sec.one", "secretariat")
    assert r.exit_code == 0 and "granted: sec.one secretariat" in r.output
    r = _run("network", "grant", "of.jam", "focal_point", "--country", "jam")
    assert r.exit_code == 0 and "granted: of.jam focal_point JAM" in r.output
    r = _run("network", "grant", "of.jam", "focal_point", "--country", "ESP", HEMISTAT_LANG="es")
    assert r.exit_code == 1 and "'ESP' no es un Estado miembro de la OEA." in r.output
    r = _run("network", "grant", "nobody", "moderator", HEMISTAT_LANG="fr")
    assert r.exit_code == 1 and "Introuvable." in r.output
    assert _run("network", "space", "wg-a", "Working group A", "--kind", "closed").exit_code == 0
    r = _run("network", "space", "Bad Slug", "T", HEMISTAT_LANG="pt")
    assert r.exit_code == 1 and "nome curto" in r.output
    assert _run("network", "group", "wg-a", "of.jam").exit_code == 0
    r = _run("network", "group", "wg-a", "ghost")
    assert r.exit_code == 1 and "Not found." in r.output
    assert _run("network", "members").output == ""                    # nobody has applied yet
    r = _run("network", "forum")
    rec = json.loads(r.output)
    assert rec["slug"] == "first-virtual-forum-2016" and rec["window"] == ["2016-01-01", "2016-06-30"]
    assert rec["verification"] == "unverified" and "MISPA-V" in rec["source"]
    # the grants are in the audit log
    from pipelines.service.__main__ import _db

    db = _db()
    try:
        grants = [json.loads(e.detail)["role"] for e in db.audit_events(50, action="network_role_grant")]
        assert sorted(grants) == ["focal_point", "secretariat"]
    finally:
        db.dispose()
