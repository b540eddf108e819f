"""Harvesting like a good HTTP client: conditional requests (ETag, Last-Modified), transient failures retried
by the Dagster op's RetryPolicy, permanent ones not, timeouts, and the attempt log — against a local
threaded HTTP server whose answers each test scripts. No wall-clock assertions: retry delays are 0."""

from __future__ import annotations

import http.server
import itertools
import os
import shutil
import threading
from datetime import datetime, timezone

import dagster as dg
import pytest

from tests.conftest import REPO, real

T0 = datetime(2026, 3, 1, 6, 0, tzinfo=timezone.utc)
LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"
_mtime = itertools.count(1_700_000_000)


class Server:
    """Routes: path -> function(handler, n) returning (status, headers, body); n = 1 for the first request
    of that path. Every request's path and headers are kept in ``requests``."""

    def __init__(self):
        self.routes: dict = {}
        self.requests: list[tuple[str, dict]] = []
        self.release = threading.Event()  # set at teardown: slow handlers stop waiting
        self.lock = threading.Lock()

    def hits(self, path: str) -> list[dict]:
        return [h for p, h in self.requests if p == path]


def _handler(server: Server):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args):
            pass

        def do_GET(self):
            with server.lock:
                server.requests.append((self.path, dict(self.headers)))
                n = len(server.hits(self.path))
            route = server.routes.get(self.path)
            if route is None:
                status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found"
            else:
                status, headers, body = route(self, n)
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return H


@pytest.fixture
def server():
    srv = Server()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(srv))
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    srv.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield srv
    finally:
        srv.release.set()
        httpd.shutdown()
        httpd.server_close()
        t.join(5)


@pytest.fixture
def env(tmp_path, monkeypatch, server):
    """Settings on private folders and a reference/ copy; ``use(path)`` points ar_snic's harvest.url at
    ``server.base + path``."""
    ref = tmp_path / "repo" / "reference"
    shutil.copytree(REPO / "reference", ref)
    spec = ref / "sources" / "ar_snic.yaml"
    original = spec.read_text("utf-8")
    monkeypatch.setenv("HEMISTAT_REFERENCE_DIR", str(ref))
    monkeypatch.setenv("HEMISTAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data" / "dagster_home"))
    from pipelines.settings import get_settings

    s = get_settings()
    s.ensure_dirs()

    def use(path: str) -> str:
        url = server.base + path
        spec.write_text(original + f'harvest:\n  url: "{url}"\n  cron: "0 6 * * *"\n', encoding="utf-8")
        t = next(_mtime) * 1_000_000_000
        os.utime(spec, ns=(t, t))  # the spec cache is keyed on size and mtime
        return url

    return s, server, use


BODY = None


def _body() -> bytes:
    global BODY
    if BODY is None:
        BODY = real("ar_snic/snic-pais.csv").read_bytes()
    return BODY


def _submissions(settings):
    from pipelines.storage import submissions as subs

    return subs.list_submissions(settings.landing_dir)


def _job(max_retries=3):
    from pipelines.defs.schedules import build_harvest_job, harvest_retry_policy

    return build_harvest_job(harvest_retry_policy(max_retries=max_retries, delay=0))


def _run(job, instance):
    from pipelines.defs.resources import HemistatSettings
    from pipelines.defs.schedules import harvest_run_config

    return job.execute_in_process(run_config=harvest_run_config("ar_snic"), instance=instance,
                                  resources={"hemistat": HemistatSettings()}, raise_on_error=False)


# --------------------------------------------------------------------------------------------------
# conditional requests
# --------------------------------------------------------------------------------------------------
def test_etag_gives_304_and_no_new_submission(env):
    from pipelines.monitor.harvest import harvest, read_attempts, read_state

    s, srv, use = env

    def etag(h, n):
        if h.headers.get("If-None-Match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return 200, {"ETag": '"v1"', "Content-Type": "text/csv"}, _body()

    srv.routes["/etag.csv"] = etag
    url = use("/etag.csv")
    r1 = harvest(s, "ar_snic", now=T0)
    assert r1["outcome"] == "new_submission" and r1["created"] and r1["sent"] == {}
    assert read_state(s, "ar_snic")["etag"] == '"v1"'

    r2 = harvest(s, "ar_snic", now=T0)
    assert r2["ok"] and r2["outcome"] == "unchanged_304" and r2["http_status"] == 304
    assert not r2["created"] and not r2["changed"] and r2["submission_id"] == r1["submission_id"]
    assert srv.hits("/etag.csv")[1]["If-None-Match"] == '"v1"'
    assert "If-Modified-Since" not in srv.hits("/etag.csv")[1]
    assert len(_submissions(s)) == 1
    st = read_state(s, "ar_snic")
    assert st["last_outcome"] == "unchanged_304" and st["sha256"] == r1["sha256"] and st["consecutive_errors"] == 0
    assert st["last_change"] == T0.isoformat(timespec="seconds")

    a1, a2 = read_attempts(s, "ar_snic")
    assert a1["outcome"] == "new_submission" and a1["http_status"] == 200 and a1["bytes"] == len(_body())
    assert a1["sha256"] == r1["sha256"] and a1["sent"] == {} and a1["url"] == url
    assert a2["outcome"] == "unchanged_304" and a2["http_status"] == 304 and a2["bytes"] == 0
    assert a2["sent"] == {"If-None-Match": '"v1"'} and a2["sha256"] is None and a2["error"] is None

    # the publisher changes the file (new ETag): downloaded and stored
    body2 = _body() + b"\n"

    def etag2(h, n):
        if h.headers.get("If-None-Match") == '"v2"':
            return 304, {"ETag": '"v2"'}, b""
        return 200, {"ETag": '"v2"'}, body2

    srv.routes["/etag.csv"] = etag2
    r3 = harvest(s, "ar_snic", now=T0)
    assert r3["outcome"] == "new_submission" and r3["sent"] == {"If-None-Match": '"v1"'}
    assert len(_submissions(s)) == 2 and read_state(s, "ar_snic")["etag"] == '"v2"'


def test_last_modified_gives_304_and_validators_follow_the_url(env):
    from pipelines.monitor.harvest import harvest, read_attempts

    s, srv, use = env

    def lm(h, n):
        if h.headers.get("If-Modified-Since") == LAST_MODIFIED:
            return 304, {}, b""
        return 200, {"Last-Modified": LAST_MODIFIED}, _body()

    srv.routes["/lm.csv"] = lm
    srv.routes["/other.csv"] = lm
    use("/lm.csv")
    assert harvest(s, "ar_snic", now=T0)["outcome"] == "new_submission"
    r2 = harvest(s, "ar_snic", now=T0)
    assert r2["outcome"] == "unchanged_304" and r2["sent"] == {"If-Modified-Since": LAST_MODIFIED}
    assert len(_submissions(s)) == 1

    # another URL: the validators of the old one are not sent; the same bytes are deduplicated by sha256
    use("/other.csv")
    r3 = harvest(s, "ar_snic", now=T0)
    assert r3["sent"] == {} and r3["outcome"] == "unchanged_checksum" and r3["http_status"] == 200
    assert not r3["created"] and r3["submission_id"] == r2["submission_id"]
    assert [a["outcome"] for a in read_attempts(s, "ar_snic")] == ["new_submission", "unchanged_304",
                                                                   "unchanged_checksum"]


def test_server_without_validators_is_deduplicated_by_checksum(env):
    from pipelines.monitor.harvest import harvest, read_attempts

    s, srv, use = env
    srv.routes["/plain.csv"] = lambda h, n: (200, {"Content-Type": "text/csv"}, _body())
    use("/plain.csv")
    r1, r2 = harvest(s, "ar_snic", now=T0), harvest(s, "ar_snic", now=T0)
    assert r1["outcome"] == "new_submission" and r2["outcome"] == "unchanged_checksum"
    assert r2["sent"] == {} and not r2["created"] and len(_submissions(s)) == 1
    assert [a["sha256"] for a in read_attempts(s, "ar_snic")] == [r1["sha256"]] * 2


# --------------------------------------------------------------------------------------------------
# classification, limits, timeouts (one attempt each)
# --------------------------------------------------------------------------------------------------
def test_permanent_and_transient_errors_are_classified(env):
    from pipelines.monitor.harvest import harvest, read_attempts

    s, srv, use = env
    srv.routes["/forbidden"] = lambda h, n: (403, {}, b"no")
    srv.routes["/gone.csv"] = lambda h, n: (410, {}, b"gone")
    srv.routes["/page.csv"] = lambda h, n: (200, {"Content-Type": "text/html"}, b"\n<!DOCTYPE html><html>moved</html>")
    srv.routes["/busy.csv"] = lambda h, n: (429, {"Retry-After": "120"}, b"slow down")
    srv.routes["/down.csv"] = lambda h, n: (502, {}, b"bad gateway")
    srv.routes["/big.csv"] = lambda h, n: (200, {}, b"x" * 1000)
    expect = {"/forbidden": (False, 403), "/gone.csv": (False, 410), "/page.csv": (False, 200),
              "/busy.csv": (True, 429), "/down.csv": (True, 502), "/missing.csv": (False, 404)}
    for path, (transient, status) in expect.items():
        use(path)
        r = harvest(s, "ar_snic", now=T0)
        assert not r["ok"] and r["transient"] is transient and r["http_status"] == status, (path, r)
        assert r["outcome"] == ("transient_error" if transient else "permanent_error")
    assert "HTML page" in read_attempts(s, "ar_snic")[2]["error"]
    assert read_attempts(s, "ar_snic")[3]["retry_after"] == 120
    use("/big.csv")  # Content-Length above the limit: refused before reading
    r = harvest(s, "ar_snic", now=T0, max_bytes=100)
    assert r["outcome"] == "permanent_error" and "limit" in r["error"]
    assert _submissions(s) == []
    assert len(read_attempts(s, "ar_snic")) == len(expect) + 1


def test_timeouts_and_refused_connections_are_transient(env):
    from pipelines.monitor.harvest import harvest, parse_retry_after, read_attempts

    s, srv, use = env

    def slow(h, n):
        srv.release.wait(10)  # longer than the client's timeout; released at teardown
        return 200, {}, _body()

    srv.routes["/slow.csv"] = slow
    use("/slow.csv")
    r = harvest(s, "ar_snic", now=T0, timeout=0.2)
    assert not r["ok"] and r["outcome"] == "transient_error" and "timed out" in r["error"], r
    assert r["http_status"] is None

    # nothing listens on this port any more
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    from pipelines.monitor.harvest import HarvestError, download

    with pytest.raises(HarvestError) as exc:
        download(f"http://127.0.0.1:{port}/x.csv", s.data_dir / "x.part", timeout=2)
    assert exc.value.transient and "cannot reach" in str(exc.value)
    assert [a["outcome"] for a in read_attempts(s, "ar_snic")] == ["transient_error"]

    assert parse_retry_after("30") == 30
    assert parse_retry_after("Sun, 01 Mar 2026 06:01:00 GMT", now=T0) == 60
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


# --------------------------------------------------------------------------------------------------
# Dagster: RetryPolicy
# --------------------------------------------------------------------------------------------------
def test_policy_is_declared_on_the_op_from_settings(monkeypatch):
    from pipelines.defs.schedules import harvest_job, harvest_retry_policy, harvest_source_op

    p = harvest_source_op.retry_policy
    assert p.backoff == dg.Backoff.EXPONENTIAL and p.jitter is not None and p.max_retries >= 1 and p.delay > 0
    assert [d.retry_policy for d in harvest_job.graph.node_defs] == [p]
    monkeypatch.setenv("HEMISTAT_HARVEST_MAX_RETRIES", "5")
    monkeypatch.setenv("HEMISTAT_HARVEST_RETRY_DELAY", "7.5")
    q = harvest_retry_policy()
    assert (q.max_retries, q.delay, q.backoff) == (5, 7.5, dg.Backoff.EXPONENTIAL)


def test_503_twice_then_success_is_retried_by_dagster(env):
    from pipelines.monitor.harvest import read_attempts, read_state

    s, srv, use = env

    def flaky(h, n):
        if n <= 2:
            return 503, {"Retry-After": "0"} if n == 2 else {}, b"maintenance"
        return 200, {"ETag": '"a"'}, _body()

    srv.routes["/flaky.csv"] = flaky
    url = use("/flaky.csv")
    with dg.instance_for_test() as instance:
        res = _run(_job(max_retries=3), instance)
        assert res.success
        out = res.output_for_node("harvest_source_op")
        assert out["outcome"] == "new_submission" and out["created"]
        types = [e.event_type_value for e in res.all_events]
        assert types.count("STEP_UP_FOR_RETRY") == 2 and types.count("STEP_RESTARTED") == 2
        [step_out] = [e for e in res.all_events if e.event_type_value == "STEP_OUTPUT"]
        md = step_out.event_specific_data.metadata
        assert md["outcome"].value == "new_submission" and md["retry_number"].value == 2
        assert "transient_error" in md["attempts_in_run"].value
        run_id = res.run_id

    attempts = read_attempts(s, "ar_snic")
    assert [a["outcome"] for a in attempts] == ["transient_error", "transient_error", "new_submission"]
    assert [a["retry_number"] for a in attempts] == [0, 1, 2]
    assert [a["http_status"] for a in attempts] == [503, 503, 200]
    assert {a["run_id"] for a in attempts} == {run_id} and {a["url"] for a in attempts} == {url}
    assert attempts[1]["retry_after"] == 0 and "503" in attempts[0]["error"]
    assert len(srv.hits("/flaky.csv")) == 3 and len(_submissions(s)) == 1
    st = read_state(s, "ar_snic")
    assert st["consecutive_errors"] == 0 and st["last_outcome"] == "new_submission" and st["etag"] == '"a"'


def test_transient_failure_gives_up_after_max_retries(env):
    from pipelines.monitor.harvest import read_attempts

    s, srv, use = env
    srv.routes["/down.csv"] = lambda h, n: (500, {}, b"oops")
    use("/down.csv")
    with dg.instance_for_test() as instance:
        res = _run(_job(max_retries=1), instance)
    assert not res.success
    [fail] = [e for e in res.all_events if e.event_type_value == "STEP_FAILURE"]
    data = fail.event_specific_data
    assert data.user_failure_data.metadata["outcome"].value == "transient_error"
    assert "ar_snic" in data.error.cause.message and "/down.csv" in data.error.cause.message
    assert [a["retry_number"] for a in read_attempts(s, "ar_snic")] == [0, 1]
    assert len(srv.hits("/down.csv")) == 2


def test_404_fails_without_retry_with_a_clear_message(env):
    from pipelines.monitor.harvest import read_attempts, read_state

    s, srv, use = env
    url = use("/missing.csv")
    with dg.instance_for_test() as instance:
        res = _run(_job(max_retries=3), instance)
    assert not res.success
    types = [e.event_type_value for e in res.all_events]
    assert "STEP_UP_FOR_RETRY" not in types
    [fail] = [e for e in res.all_events if e.event_type_value == "STEP_FAILURE"]
    msg = fail.event_specific_data.error.message
    assert "ar_snic" in msg and url in msg and "404" in msg and "not retried" in msg
    md = fail.event_specific_data.user_failure_data.metadata
    assert md["outcome"].value == "permanent_error" and md["http_status"].value == 404
    [a] = read_attempts(s, "ar_snic")
    assert a["outcome"] == "permanent_error" and a["http_status"] == 404 and "404" in a["error"]
    assert a["retry_number"] == 0 and a["run_id"] == res.run_id
    assert read_state(s, "ar_snic")["last_error"]["http_status"] == 404
    assert len(srv.hits("/missing.csv")) == 1

    # an unknown source (no spec) is not retried either
    from pipelines.defs.resources import HemistatSettings
    from pipelines.defs.schedules import harvest_run_config

    with dg.instance_for_test() as instance:
        res = _job(max_retries=3).execute_in_process(run_config=harvest_run_config("no_such_source"),
                                                     instance=instance, resources={"hemistat": HemistatSettings()},
                                                     raise_on_error=False)
    assert not res.success and "STEP_UP_FOR_RETRY" not in [e.event_type_value for e in res.all_events]


def test_timeout_in_dagster_is_retried(env, monkeypatch):
    from pipelines.monitor.harvest import read_attempts

    s, srv, use = env

    def slow_once(h, n):
        if n == 1:
            srv.release.wait(10)
        return 200, {}, _body()

    srv.routes["/slow.csv"] = slow_once
    use("/slow.csv")
    monkeypatch.setenv("HEMISTAT_HARVEST_TIMEOUT", "0.3")
    with dg.instance_for_test() as instance:
        res = _run(_job(max_retries=2), instance)
    assert res.success
    attempts = read_attempts(s, "ar_snic")
    assert [a["outcome"] for a in attempts] == ["transient_error", "new_submission"]
    assert "timed out" in attempts[0]["error"]


def test_harvest_log_command(env):
    from typer.testing import CliRunner

    from pipelines.cli import app
    from pipelines.monitor.harvest import harvest

    s, srv, use = env
    srv.routes["/etag.csv"] = lambda h, n: ((304, {}, b"") if h.headers.get("If-None-Match") == '"v1"'
                                            else (200, {"ETag": '"v1"'}, _body()))
    use("/etag.csv")
    harvest(s, "ar_snic", now=T0)
    harvest(s, "ar_snic", now=T0)
    out = CliRunner().invoke(app, ["harvest-log", "ar_snic"])
    assert out.exit_code == 0, out.output
    assert "new_submission" in out.output and "unchanged_304" in out.output and "If-None-Match" in out.output
    js = CliRunner().invoke(app, ["harvest-log", "ar_snic", "--json", "--last", "1"])
    assert js.exit_code == 0 and '"unchanged_304"' in js.output and "new_submission" not in js.output
    none = CliRunner().invoke(app, ["harvest-log", "mx_sesnsp"])
    assert none.exit_code == 0 and "no harvest attempt" in none.output
