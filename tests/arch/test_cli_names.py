"""Every `hemistat` command has one name: two modules registering the same name would silently hide one of them
(issue 15's `hemistat export` once replaced the object-storage export, caught only by the deploy tier)."""

from collections import Counter


def test_no_two_commands_or_groups_share_a_name():
    from pipelines.cli import app

    def command_names(typer_app):
        return [c.name or c.callback.__name__.replace("_", "-") for c in typer_app.registered_commands]

    names = command_names(app)
    for g in app.registered_groups:     # a group without a name merges its commands into the top level
        names += [g.name] if isinstance(g.name, str) else command_names(g.typer_instance)
    twice = sorted(n for n, k in Counter(names).items() if k > 1)
    assert not twice, twice
    assert {"export", "export-s3", "releases", "site", "practices", "network"} <= set(names)
