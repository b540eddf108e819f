"""Shared fixtures. The real national files are read where they are (../shared/data/real)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def real_warehouse(tmp_path_factory):
    """Run the whole pipeline once, through Dagster in-process, on the real files."""
    tmp = tmp_path_factory.mktemp("realwh")
    old = {k: os.environ.get(k) for k in ("HEMISTAT_DATA_DIR", "DAGSTER_HOME", "HEMISTAT_SAMPLE")}
    os.environ["HEMISTAT_DATA_DIR"] = str(tmp / "data")
    os.environ["HEMISTAT_SAMPLE"] = "real"
    try:
        from pipelines import steps
        from pipelines.defs import runner
        from pipelines.discovery import real_inputs
        from pipelines.settings import get_settings

        s = get_settings()
        s.ensure_dirs()
        inputs = real_inputs(s)
        assert inputs, f"no real inputs under {s.shared_dir}"
        sids = [steps.submit(s, p, sid)[0].submission_id for sid, p in inputs]
        inst = runner.instance_for(s)
        res = runner.ingest(s, sids, inst, progress=lambda m: None)
        assert all(v == "awaiting_review" or v == "validated" for v in res.values()), res
        for sid, v in res.items():
            if v == "awaiting_review":
                steps.acknowledge(s, sid, steps.failing_warnings(s, sid), by="test fixture",
                                  reason="real files: known findings are asserted by tests/quality")
        assert runner.publish(inst)
        yield s
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def wh(real_warehouse):
    import duckdb

    con = duckdb.connect(str(real_warehouse.duckdb_path), read_only=True)
    yield con
    con.close()
