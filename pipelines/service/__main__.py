"""Portal accounts from the command line (the first admin, scripted set-up):

    python -m pipelines.service add-user NAME --role admin [--country ARG] [--lang es]   (password from
        HEMISTAT_NEW_PASSWORD or asked twice)
    python -m pipelines.service token NAME --name ci      (prints a new API token once)
    python -m pipelines.service users
"""

from __future__ import annotations

import os

import typer

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="hemistat portal accounts")


def _db():
    from pipelines.service.config import PortalConfig
    from pipelines.service.db import Database
    from pipelines.settings import get_settings

    s = get_settings()
    s.ensure_dirs()
    return Database(PortalConfig.from_env(s).db_url)


@cli.command("add-user")
def add_user(username: str, role: str = typer.Option(..., help="office | reviewer | analyst | admin"),
             country: str = typer.Option(None, help="ISO3 of a data office"),
             lang: str = typer.Option(None, help="en | es | pt | fr")):
    from pipelines.service.auth import AuthError, create_user

    pw = os.environ.get("HEMISTAT_NEW_PASSWORD") or typer.prompt("password", hide_input=True,
                                                                  confirmation_prompt=True)
    db = _db()
    try:
        u = create_user(db, username, pw, role, country_iso3=country, lang=lang)
    except AuthError as exc:
        typer.echo(f"error: {exc.key}", err=True)
        raise typer.Exit(2)
    db.audit("user_create", actor="cli", user=u.username, user_role=u.role, country_iso3=u.country_iso3)
    typer.echo(f"created {u.username} ({u.role}{', ' + u.country_iso3 if u.country_iso3 else ''})")


@cli.command()
def token(username: str, name: str = typer.Option("cli", "--name")):
    from pipelines.service.auth import create_token, get_user

    db = _db()
    u = get_user(db, username)
    if u is None:
        typer.echo(f"error: no user {username}", err=True)
        raise typer.Exit(2)
    tid, tok = create_token(db, u.id, name)
    db.audit("token_create", actor="cli", user=username, token_id=tid, token_prefix=tok[:10])
    typer.echo(tok)


@cli.command()
def users():
    from pipelines.service.auth import list_users

    for u in list_users(_db()):
        typer.echo(f"{u.username}\t{u.role}\t{u.country_iso3 or '-'}\t{'active' if u.active else 'inactive'}")


if __name__ == "__main__":
    cli()
