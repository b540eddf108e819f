"""The process the kill trials kill: `hemistat ARGS` run by a child of a fork server that imported hemistat
once (``preload``), so a trial starts in milliseconds instead of the seconds an interpreter needs to import
Dagster — and kill -9 can land anywhere in the command's own work, not in its imports.

The readers' check of one moment of the warehouse (``sample``) is here too."""

from __future__ import annotations

import os
import sys

import pipelines.cli  # noqa: F401 - preloaded by the fork server
import pipelines.defs.definitions  # noqa: F401
import pipelines.pipeline  # noqa: F401

PRELOAD = [__name__]


def run_cli(args: list[str], env: dict[str, str], log: str) -> None:
    """The body of a trial's process: `hemistat ARGS` with ``env``, its output in ``log``."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    os.environ.update(env)
    from pipelines.cli import app

    code = 0
    try:
        app(args, prog_name="hemistat")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def sample(db_path: str) -> dict:
    """What a reader sees at one moment: the release of each view, or the error it got.

    ``current``: published.release (the release the database serves), and whether published.indicators has
    exactly that release's rows in the history; ``history``: the newest release in published.releases and in
    published.indicator_history, and the release published.indicators_as_of(now()) returns."""
    import duckdb

    out: dict = {"error": None}
    from pipelines.storage.release import connect

    try:   # as every reader does: the views' relative file names resolve in the data folder
        con = connect(db_path, read_only=True)
    except duckdb.Error as exc:
        out["error"] = f"connect: {exc}"[:300]
        return out
    try:
        q = con.execute
        out["release"] = q("select release_id from published.release").fetchone()[0]
        out["n_indicators"] = q("select count(*) from published.indicators").fetchone()[0]
        out["n_cells"] = q("select count(*) from published.cells").fetchone()[0]
        out["submissions"] = sorted(r[0] for r in q("select submission_id from published.submissions").fetchall())
        try:
            out["releases_latest"] = q("select release_id from published.releases "
                                       "order by published_at desc limit 1").fetchone()[0]
            out["history_latest"] = q("select max(release_id) from published.indicator_history").fetchone()[0]
            out["n_history"] = q("select count(*) from published.indicator_history where release_id = ?",
                                 [out["release"]]).fetchone()[0]
            out["as_of_now"] = [r[0] for r in q("select distinct release_id from "
                                                 "published.indicators_as_of(now())").fetchall()]
        except duckdb.Error as exc:
            out["history_error"] = str(exc)[:300]
    except duckdb.Error as exc:
        out["error"] = str(exc)[:300]
    finally:
        con.close()
    return out


def current_ok(s: dict) -> bool:
    """The views over the current release answer, all from one release."""
    return s.get("error") is None and bool(s.get("release"))


def history_ok(s: dict) -> bool:
    """The history views agree with the release the database serves."""
    if not current_ok(s) or s.get("history_error"):
        return False
    return (s["releases_latest"] == s["release"] == s["history_latest"] and s["as_of_now"] == [s["release"]]
            and s["n_history"] == s["n_indicators"])
