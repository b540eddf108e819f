"""``hemistat network …``: set up the Inter-American Network for the Prevention of Violence and Crime from the
command line (the first technical secretariat, roles, spaces, working groups), list members, and show the
seeded record of the Network's first virtual forum. Errors in the language of HEMISTAT_LANG or the locale.

    hemistat network grant NAME secretariat            (the first secretariat; also focal_point --country JAM,
                                                         moderator, member; --revoke to end a role)
    hemistat network space SLUG "Title" --kind members  (public | members | closed)
    hemistat network group SLUG NAME                    (add a person to a closed space's working group)
    hemistat network members [--status applied]
    hemistat network forum                              (the first virtual forum, with its source)
"""

from __future__ import annotations

import json

import typer

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="the Inter-American Network (issue 17)")


def _db():
    from pipelines.service.__main__ import _db as portal_db

    return portal_db()


def _fail(exc) -> None:
    from pipelines.service.__main__ import message

    typer.echo(message(exc.key, **exc.params), err=True)
    raise typer.Exit(1)


@cli.command("grant")
def grant(username: str, role: str, country: str = typer.Option("", help="a focal point's member state (ISO3)"),
          revoke: bool = typer.Option(False, help="end the role instead")):
    """Appoint (or revoke) a Network role: member, focal_point, moderator, secretariat."""
    from pipelines.network.rules import NetworkError
    from pipelines.service import auth
    from pipelines.service import network_store as store

    db = _db()
    try:
        u = auth.get_user(db, username)
        if u is None:
            raise NetworkError("network.err.not_found")
        store.grant(db, u.id, role, actor=None, country_iso3=country, revoke=revoke)
    except NetworkError as exc:
        _fail(exc)
    finally:
        db.dispose()
    typer.echo(f"{'revoked' if revoke else 'granted'}: {username} {role}{' ' + country.upper() if country else ''}")


@cli.command("space")
def space(slug: str, title: str, kind: str = typer.Option("members", help="public | members | closed"),
          description: str = typer.Option("")):
    """Create a dialogue space."""
    from pipelines.network.rules import NetworkError, Viewer
    from pipelines.service import network_store as store

    db = _db()
    try:
        store.create_space(db, slug, title, kind, description, actor=Viewer(0, "cli", "admin"))
    except NetworkError as exc:
        _fail(exc)
    finally:
        db.dispose()
    typer.echo(f"space {slug} ({kind})")


@cli.command("group")
def group(slug: str, username: str):
    """Add a person to the working group of a closed space."""
    from pipelines.network.rules import NetworkError
    from pipelines.service import network_store as store

    db = _db()
    try:
        store.add_to_group(db, slug, username, actor=None)
    except NetworkError as exc:
        _fail(exc)
    finally:
        db.dispose()
    typer.echo(f"{username} added to {slug}")


@cli.command("members")
def members(status: str = typer.Option("", help="applied | approved | rejected | suspended")):
    """Applications and members, one JSON object a line."""
    from pipelines.service import network_store as store

    db = _db()
    try:
        for r in store.members(db, status or None):
            m = r["member"]
            typer.echo(json.dumps({"username": r["username"], "name": m.display_name, "organisation": r["org"].name,
                                   "sector": m.sector, "country": m.country_iso3, "status": m.status,
                                   "roles": r["roles"], "topics": r["topics"]}, ensure_ascii=False))
    finally:
        db.dispose()


@cli.command("forum")
def forum():
    """The seeded record of the Network's first virtual forum (made by migration 0005_network)."""
    from sqlalchemy import select

    from pipelines.network.seed import first_forum
    from pipelines.service.network_models import NetEvent
    from pipelines.settings import get_settings

    rec = first_forum(get_settings().reference_dir)
    db = _db()
    try:
        with db.Session() as s:
            e = s.scalar(select(NetEvent).where(NetEvent.slug == rec["slug"]))
    finally:
        db.dispose()
    if e is None:
        typer.echo(f"{rec['slug']}: not in the database (run `hemistat account migrate`)", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps({"id": e.id, "slug": e.slug, "title": e.title, "kind": e.kind, "status": e.status,
                           "window": [str(e.window_start.date()), str(e.window_end.date())],
                           "verification": e.verification, "source": e.source}, ensure_ascii=False, indent=1))
