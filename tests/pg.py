"""A private PostgreSQL server for tests: initdb + pg_ctl on a folder and port of its own (as the `postgres`
user when run as root, since initdb refuses root). Used by the portal tests (tests/service) and the
deployment-profile tests (tests/deploy); tests/conftest.py makes the fixtures available everywhere.

* ``pg_server()``  context manager: start a server, yield its libpq parameters, stop and remove it
* ``pg_url``       session fixture: one server, database ``hemistat``, as a SQLAlchemy psycopg URL
* ``pg_fresh_url`` a new empty database on that server, for one test
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tools.launch import free_port


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        pytest.fail(f"PostgreSQL binary {name!r} is missing: install the Debian package 'postgresql' "
                    "(.ci/run does) — the portal and the postgres deployment profile are tested on it")
    return found


@contextlib.contextmanager
def pg_server(db: str = "hemistat"):
    """Start a private PostgreSQL server (initdb + pg_ctl, as `postgres` when run as root) with an empty
    database ``db``; yield {"host", "port", "user", "dbname"}; stop it and remove its folder."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    base = Path(tempfile.mkdtemp(prefix="hemistat-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root and there is no 'postgres' user to run initdb as "
                        "(install the Debian package 'postgresql')")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        prefix = [runuser, "-u", "postgres", "--"]
    data, port = base / "data", free_port()
    try:
        r = subprocess.run([*prefix, initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                            "--locale=C", "--no-sync"], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            pytest.fail(f"initdb failed: {r.stderr[-2000:]}")
        opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        r = subprocess.run([*prefix, pg_ctl, "-D", str(data), "-o", opts, "-l", str(base / "pg.log"), "-w", "-t",
                            "60", "start"], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            log = (base / "pg.log").read_text(errors="replace") if (base / "pg.log").exists() else ""
            pytest.fail(f"pg_ctl start failed: {r.stderr[-1500:]} {log[-1500:]}")
        try:
            import psycopg

            with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as con:
                con.execute(f"CREATE DATABASE {db}")
            yield {"host": "127.0.0.1", "port": port, "user": "postgres", "dbname": db}
        finally:
            subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True,
                           timeout=60)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url():
    """A private PostgreSQL server for the session (database ``hemistat``), as a SQLAlchemy psycopg URL."""
    with pg_server() as pg:
        yield f"postgresql+psycopg://{pg['user']}@{pg['host']}:{pg['port']}/{pg['dbname']}"


@pytest.fixture
def pg_fresh_url(pg_url):
    """A new, empty database on the session's PostgreSQL server, for one test."""
    import uuid

    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    port = int(pg_url.rsplit(":", 1)[1].split("/")[0])
    with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    return pg_url.rsplit("/", 1)[0] + "/" + name
