"""Shared fixtures. The real national files are read where they are (../shared/data/real)."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest

from tests.pg import pg_fresh_url, pg_url  # noqa: F401 - fixtures: a private PostgreSQL server (tests/pg.py)
from pipelines.storage.release import connect as release_connect

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HEMISTAT_SHARED_DIR", REPO.parent / "shared" / "data" / "real")).resolve()


def real(rel: str) -> Path:
    p = SHARED / rel
    if not p.exists():
        pytest.fail(f"real file missing: {p} (the tests need ../shared/data/real; see README)")
    return p


@pytest.fixture
def data_env(tmp_path, monkeypatch):
    """A private data folder for one test; settings are read from the environment at run time."""
    monkeypatch.setenv("HEMISTAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data" / "dagster_home"))
    from pipelines.settings import get_settings

    s = get_settings()
    s.ensure_dirs()
    return s


@contextlib.contextmanager
def environ(changes: dict[str, str | None]):
    """Set (None: unset) these environment variables for the block, then put back what was there."""
    old = {k: os.environ.get(k) for k in changes}

    def apply(values):
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    apply(changes)
    try:
        yield
    finally:
        apply(old)


@pytest.fixture(scope="session")
def real_warehouse(tmp_path_factory):
    """Run the whole pipeline once, through Dagster in-process, on the real files."""
    tmp = tmp_path_factory.mktemp("realwh")
    with environ({"HEMISTAT_DATA_DIR": str(tmp / "data"), "HEMISTAT_SAMPLE": "real",
                  "DAGSTER_HOME": os.environ.get("DAGSTER_HOME")}):   # the runner sets DAGSTER_HOME
        from pipelines import pipeline
        from pipelines.defs import runner
        from pipelines.samples.discovery import real_inputs
        from pipelines.settings import get_settings

        s = get_settings()
        s.ensure_dirs()
        inputs = real_inputs(s)
        assert inputs, f"no real inputs under {s.shared_dir}"
        sids = [pipeline.submit(s, p, sid)[0].submission_id for sid, p in inputs]
        inst = runner.instance_for(s)
        res = runner.ingest(s, sids, inst, progress=lambda m: None)
        assert all(v == "awaiting_review" or v == "validated" for v in res.values()), res
        for sid, v in res.items():
            if v == "awaiting_review":
                pipeline.acknowledge(s, sid, pipeline.failing_warnings(s, sid), by="test fixture",
                                  reason="real files: known findings are asserted by tests/quality")
        assert runner.publish(inst)
        yield s


@pytest.fixture(scope="session")
def wh(real_warehouse):
    import duckdb

    con = release_connect(real_warehouse.duckdb_path)
    yield con
    con.close()


# ---- test tiers ------------------------------------------------------------------------------------------
# real     needs the real national files in ../shared (read where they are); never skipped: fails without them
# e2e      tests/e2e: the whole pipeline, often through the command line in a subprocess
# deploy   tests/deploy: deployment profiles against a private PostgreSQL, the multiprocess executor, a local
#          S3-compatible server (moto); starts servers and subprocesses, so not in the fast tier
# browser  drives headless Chromium (installed by .ci/run)
# reliability  tests/reliability: hostile and broken files through the CLI and the portal, kill -9 trials
#          (issue 14); minutes, not seconds, so not in the fast tier
# fast     everything else: synthetic or hand-made inputs only; `make test-fast` runs it on every change
# `make test` runs every tier. Marks are given here, from what a test uses, so no test file has to repeat them.
_REAL_HINTS = re.compile(r"\breal\(|\breal_warehouse\b|\bSHARED\b|/shared/data/real|\bgood_file\(|\b_real\(")


def _uses_real_files(item) -> bool:
    import inspect

    if item.get_closest_marker("real"):
        return True
    mod = getattr(item, "module", None)
    r = getattr(mod, "real", None) if mod is not None else None
    if callable(r) and getattr(r, "__name__", "") == "real" and str(getattr(r, "__module__", "")).endswith("conftest"):
        return True   # the module reads real files (conftest.real may be imported under two module names)
    try:   # a module that reads a real file anywhere belongs to the real tier as a whole
        if _REAL_HINTS.search(inspect.getsource(mod)):
            return True
    except (OSError, TypeError, AttributeError):
        pass
    for name in getattr(item, "fixturenames", ()):
        for fd in (item._fixtureinfo.name2fixturedefs.get(name) or ()):
            try:
                src = inspect.getsource(fd.func)
            except (OSError, TypeError):
                continue
            if _REAL_HINTS.search(src):
                return True
    return False


# ---- requirements: what a tier needs from the machine ------------------------------------------------------
# On a fresh clone without them, the tests that need them are skipped with one line saying what is missing and
# how to get it. Under HEMISTAT_REQUIRE_ALL=1 (.ci/run sets it) a missing requirement fails the run instead, so
# CI can never pass by skipping.
REQUIRE_ALL_ENV = "HEMISTAT_REQUIRE_ALL"
_PG_FIXTURES = {"pg_url", "pg_fresh_url", "pg_server"}


def _missing_requirements() -> dict[str, str]:
    import glob
    import shutil

    out = {}
    if not (SHARED.is_dir() and any(SHARED.iterdir())):
        out["real"] = (f"the real national files are missing ({SHARED}): put the shared folder beside the project "
                       "or set HEMISTAT_SHARED_DIR")
    if not ((shutil.which("chromium") or Path("/usr/bin/chromium").exists())
            and (shutil.which("chromedriver") or Path("/usr/bin/chromedriver").exists())):
        out["browser"] = "headless Chromium is missing: apt-get install chromium chromium-driver"
    if not (shutil.which("initdb") or glob.glob("/usr/lib/postgresql/*/bin/initdb")):
        out["postgres"] = "PostgreSQL server binaries are missing: apt-get install postgresql"
    # tests/arch/test_fresh_clone.py plays a machine without them
    for k in filter(None, os.environ.get("HEMISTAT_TEST_PRETEND_MISSING", "").split(",")):
        out.setdefault(k, {"browser": "headless Chromium is missing: apt-get install chromium chromium-driver",
                           "postgres": "PostgreSQL server binaries are missing: apt-get install postgresql"}.get(k, k))
    return out


def _needs(item) -> set[str]:
    needs = set()
    if item.get_closest_marker("real"):
        needs.add("real")
    if item.get_closest_marker("browser"):
        needs.add("browser")
    if _PG_FIXTURES & set(getattr(item, "fixturenames", ())) or "tests/deploy/test_postgres" in item.nodeid:
        needs.add("postgres")
    return needs


def pytest_collection_modifyitems(config, items):
    _mark_tiers(items)
    missing = _missing_requirements()
    if not missing:
        return
    affected = {k: [i for i in items if k in _needs(i)] for k in missing}
    affected = {k: v for k, v in affected.items() if v}
    if not affected:
        return
    if os.environ.get(REQUIRE_ALL_ENV) == "1":
        raise pytest.UsageError(f"{REQUIRE_ALL_ENV}=1 and the machine lacks what {sum(map(len, affected.values()))} "
                                "test(s) need:\n" + "\n".join(f"  - {missing[k]} ({len(v)} tests)"
                                                             for k, v in affected.items()))
    for k, its in affected.items():
        for item in its:
            item.add_marker(pytest.mark.skip(reason=f"not run here: {missing[k]}"))
    config._hemistat_skipped = {missing[k]: len(v) for k, v in affected.items()}


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = getattr(config, "_hemistat_skipped", None)
    if skipped:
        terminalreporter.section("tests not run on this machine")
        for why, n in skipped.items():
            terminalreporter.write_line(f"{n} test(s) skipped: {why}")
        terminalreporter.write_line(f"(CI sets {REQUIRE_ALL_ENV}=1, under which a missing requirement is a failure)")


def _mark_tiers(items):
    for item in items:
        if re.search(r"/test_[a-z0-9_]*browser\.py::", item.nodeid.replace("\\", "/")):   # test_*browser.py
            item.add_marker(pytest.mark.browser)
        if "tests/e2e/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)
        if "tests/deploy/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.deploy)
        if "tests/reliability/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.reliability)
        if _uses_real_files(item):
            item.add_marker(pytest.mark.real)
        if not any(item.get_closest_marker(m) for m in ("real", "browser", "e2e", "deploy", "reliability")):
            item.add_marker(pytest.mark.fast)
