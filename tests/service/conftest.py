"""Portal test fixtures: the portal in this process (`create_app` + FastAPI's TestClient: no server, no port)
for most tests; a real server (`hemistat serve` in a subprocess on a free 127.0.0.1 port) for the few that
need one (curl over HTTP, the browser, concurrent uploads); a private PostgreSQL (initdb/pg_ctl as the
`postgres` user, own folder and port); small real files.

`Server` and `App` answer the same calls (`user`, `token`, `db`, `data_dir`, `client`, `get`, `post`,
`api`), so a test reads the same against either."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tools import launch
from tests.conftest import environ, real

PASSWORD = "correct horse battery staple"

free_port = launch.free_port


# files --------------------------------------------------------------------------------------------------
def snic_lines() -> list[bytes]:
    return real("ar_snic/snic-pais.csv").read_bytes().split(b"\r\n")


def good_file(tmp: Path, name: str = "snic-pais.csv", extra_blank_lines: int = 0) -> Path:
    """Header + the years 2000-2001 of the real SNIC national file (63 lines), written in tmp."""
    p = tmp / name
    p.write_bytes(b"\r\n".join(snic_lines()[:63]) + b"\r\n" * (1 + extra_blank_lines))
    return p


def bad_file(tmp: Path, name: str = "snic-pais-v2.csv") -> Path:
    """The same rows with two defects: a negative count (line 10) and a non-number (line 21)."""
    lines = list(snic_lines()[:63])
    lines[9] = lines[9].replace(b";", b";-", 3).replace(b";-", b";", 2)
    lines[20] = b"2000;5;Lesiones dolosas;12 34;;;;;;;;"
    p = tmp / name
    p.write_bytes(b"\r\n".join(lines) + b"\r\n")
    return p


# the portal: common calls ------------------------------------------------------------------------------------
TEST_ENV = {"HEMISTAT_COOKIE_SECURE": "0", "HEMISTAT_SECRET_KEY": "test-secret-key-0123456789"}


class _Portal:
    data_dir: Path
    url: str

    def user(self, username: str, role: str, country: str | None = None, lang: str | None = None):
        from pipelines.service.auth import create_user

        return create_user(self.db, username, PASSWORD, role, country_iso3=country, lang=lang)

    def token(self, username: str, name: str = "test") -> str:
        from pipelines.service.auth import create_token, get_user

        return create_token(self.db, get_user(self.db, username).id, name)[1]

    def client(self, **kw) -> httpx.Client:
        raise NotImplementedError

    def get(self, path: str, **kw) -> httpx.Response:
        with self.client() as c:
            return c.get(path, **kw)

    def post(self, path: str, **kw) -> httpx.Response:
        with self.client() as c:
            return c.post(path, **kw)

    def api(self, token: str, method: str, path: str, *, lang: str | None = None, **kw) -> tuple[int, dict]:
        """One JSON API call with a bearer token: (status, JSON body)."""
        headers = {"authorization": f"Bearer {token}", **({"accept-language": lang} if lang else {}),
                   **kw.pop("headers", {})}
        with self.client() as c:
            r = c.request(method, path, headers=headers, **kw)
        return r.status_code, r.json()

    def curl(self, url: str, token: str, *args: str) -> tuple[int, dict]:
        """What `curl -s -H "Authorization: Bearer TOKEN" ARGS URL` answers (status, JSON); ARGS as in the
        docs: -F name=value, -F file=@path, -H "Name: value", -d body, -X METHOD."""
        headers = {"authorization": f"Bearer {token}"}
        data, files, content, method = {}, {}, None, None
        it = iter(args)
        for opt in it:
            val = next(it)
            if opt == "-F":
                k, _, v = val.partition("=")
                if v.startswith("@"):
                    files[k] = (Path(v[1:]).name, Path(v[1:]).read_bytes())
                else:
                    data[k] = v
            elif opt == "-H":
                k, _, v = val.partition(":")
                headers[k.strip().lower()] = v.strip()
            elif opt == "-d":
                content = val.encode()
                headers.setdefault("content-type", "application/x-www-form-urlencoded")   # as curl does
            elif opt == "-X":
                method = val
            else:
                raise ValueError(f"curl option {opt} is not emulated")
        method = method or ("POST" if files or data or content is not None else "GET")
        with self.client() as c:
            r = c.request(method, url, headers=headers, data=data or None, files=files or None, content=content)
        return r.status_code, r.json()

    def upload(self, token: str, path: Path, source: str | None = "ar_snic", **kw) -> tuple[int, dict]:
        data = {**({"source": source} if source else {}), **kw.pop("data", {})}
        with open(path, "rb") as fh:
            return self.api(token, "POST", "/api/submissions", data=data, files={"file": (path.name, fh)}, **kw)


class App(_Portal):
    """The portal in this process: `create_app` with the same environment a server would get, reached
    through FastAPI's TestClient (ASGI calls, no socket)."""

    url = "http://testserver"

    def __init__(self, data_dir: Path, db_url: str | None = None, **env):
        from pipelines.service import create_app
        from pipelines.settings import get_settings

        self.data_dir = data_dir
        self.env = {**TEST_ENV, "HEMISTAT_DATA_DIR": str(data_dir), "HEMISTAT_DB_URL": db_url,
                    **{k: str(v) for k, v in env.items()}}
        data_dir.mkdir(parents=True, exist_ok=True)
        with environ(self.env):   # the settings and the portal configuration are read from the environment once, here
            self.app = create_app(get_settings())
        self.db = self.app.state.db
        self.settings = self.app.state.web.settings

    def client(self, **kw) -> httpx.Client:
        from fastapi.testclient import TestClient

        kw.setdefault("follow_redirects", False)
        return TestClient(self.app, base_url=self.url, **kw)

    def stop(self):
        self.db.dispose()


# server -------------------------------------------------------------------------------------------------
class Server(_Portal):
    def __init__(self, data_dir: Path, db_url: str | None = None, **env):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "HEMISTAT_DATA_DIR": str(data_dir), **TEST_ENV,
                    **{k: str(v) for k, v in env.items()}}
        self.env.pop("HEMISTAT_DB_URL", None)
        if db_url:
            self.env["HEMISTAT_DB_URL"] = db_url
        self.log = data_dir.parent / f"server-{self.port}.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = launch.start(self.port, self.env, self.log)
        self._db = None

    @property
    def db(self):
        """The same database as the server (users are created here, audit events read here)."""
        if self._db is None:
            from pipelines.service.config import PortalConfig
            from pipelines.service.db import Database
            from pipelines.settings import get_settings

            with environ({k: self.env.get(k) or None
                          for k in ("HEMISTAT_DATA_DIR", "HEMISTAT_DB_URL", "HEMISTAT_SECRET_KEY")}):
                self._db = Database(PortalConfig.from_env(get_settings()).db_url)
        return self._db

    def client(self, **kw) -> httpx.Client:
        kw.setdefault("timeout", 300)
        return httpx.Client(base_url=self.url, **kw)

    def curl(self, url: str, token: str, *args: str) -> tuple[int, dict]:
        """The real curl, over HTTP."""
        out = subprocess.run(["curl", "-s", "-H", f"Authorization: Bearer {token}", *args, "-w", "\n%{http_code}",
                              url], capture_output=True, text=True, timeout=180)
        body, code = out.stdout.rsplit("\n", 1)
        return int(code), json.loads(body)

    def stop(self):
        launch.stop(self.proc)
        if self._db is not None:
            self._db.dispose()


class WebClient:
    """A signed-in browser-like client (cookies + CSRF tokens from the pages)."""

    def __init__(self, server: _Portal, lang: str = "en"):
        self.server = server
        self.c = server.client(headers={"accept-language": lang}, follow_redirects=True)

    def csrf(self, path: str) -> str:
        r = self.c.get(path)
        m = re.search(r'name="csrf" value="([^"]+)"', r.text)
        assert m, (path, r.status_code, r.text[:500])
        return m.group(1)

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        tok = self.csrf("/login")
        return self.c.post("/login", data={"username": username, "password": password, "csrf": tok,
                                           "next": "/submissions"})

    def upload(self, path: Path, source: str | None = "ar_snic", name: str | None = None) -> httpx.Response:
        tok = self.csrf("/upload")
        data = {"csrf": tok}
        if source:
            data["source"] = source
        with open(path, "rb") as fh:
            return self.c.post("/upload", data=data, files={"file": (name or path.name, fh, "text/csv")})

    def post_form(self, path: str, form_page: str, **data) -> httpx.Response:
        return self.c.post(path, data={"csrf": self.csrf(form_page), **data})

    def close(self):
        self.c.close()


def _portals(tmp_path, cls, prefix: str):
    """make(db_url, **env) -> a new portal of ``cls`` with its own data folder; all stopped at the end."""
    made = []

    def make(db_url: str | None = None, **env):
        p = cls(tmp_path / f"{prefix}{len(made)}", db_url, **env)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()


@pytest.fixture
def server_factory(tmp_path):
    """Portals served by `hemistat serve` in a subprocess (`Server`)."""
    yield from _portals(tmp_path, Server, "data")


@pytest.fixture
def app_factory(tmp_path):
    """Portals in this process (`App`), each with its own data folder."""
    yield from _portals(tmp_path, App, "app")


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    """One SQLite-backed portal per test module, in this process (upload limit 1 MB for the size tests)."""
    a = App(tmp_path_factory.mktemp("portal") / "data", HEMISTAT_MAX_UPLOAD_MB="1")
    yield a
    a.stop()


@pytest.fixture(scope="module")
def http_portal(tmp_path_factory):
    """The same behind a real server (`hemistat serve`), for what only HTTP shows (curl, Content-Length)."""
    s = Server(tmp_path_factory.mktemp("http") / "data", HEMISTAT_MAX_UPLOAD_MB="1")
    yield s
    s.stop()


# PostgreSQL: the private server's fixtures pg_url and pg_fresh_url are in tests/pg.py (shared with tests/deploy)
