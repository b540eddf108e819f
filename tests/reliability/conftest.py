"""Shared by the reliability suite: a small published warehouse built from the synthetic sample (one per test
module), the fingerprint of what is published, and the CLI run in this process.

The suite is marked ``reliability`` (tests/conftest.py): ``make test`` runs it, ``make test-fast`` does not.
``pytest -m reliability`` runs it alone (see README, "Reliability suite")."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from tests.conftest import SHARED, environ


@contextlib.contextmanager
def fast_tmp(tmp_path_factory, name: str):
    """A temporary folder in memory (/dev/shm) when there is one: Dagster's SQLite event log syncs every event to
    disk, which costs more than the work itself on a busy disk. Else an ordinary pytest temporary folder."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        d = Path(tempfile.mkdtemp(prefix=f"hemistat-{name}-", dir=shm))
        try:
            yield d
        finally:
            shutil.rmtree(d, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp(name)


def published_fingerprint(data_dir: Path) -> str:
    """sha256 over every file of the published folder and the warehouse database (names and bytes)."""
    h = hashlib.sha256()
    files = sorted(p for p in (data_dir / "published").rglob("*") if p.is_file())
    db = data_dir / "hemistat.duckdb"
    for p in files + ([db] if db.exists() else []):
        h.update(str(p.relative_to(data_dir)).encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def build_warehouse(data_dir: Path, sample_dir: Path) -> dict:
    """Submit the synthetic SNIC national file, acknowledge its warnings, publish: a small current release.
    Returns the environment that points at it."""
    from pipelines import pipeline
    from pipelines.defs import runner
    from pipelines.samples.synthetic import generate_sample
    from pipelines.settings import get_settings

    env = {"HEMISTAT_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(data_dir / "dagster_home"),
           "HEMISTAT_DEBUG": None, "HEMISTAT_SHARED_DIR": str(SHARED)}
    sample = generate_sample(sample_dir)
    pais = next(p for p in sample["ar_snic"] if p.name == "snic-pais.csv")
    with environ(env):
        s = get_settings()
        s.ensure_dirs()
        man, _ = pipeline.submit(s, pais, "ar_snic", uploaded_by="reliability suite")
        inst = runner.instance_for(s)
        runner.ingest(s, [man.submission_id], inst, progress=lambda m: None)
        pipeline.acknowledge(s, man.submission_id, pipeline.failing_warnings(s, man.submission_id),
                             by="reliability suite", reason="synthetic base of the reliability suite")
        assert runner.publish(inst)
    return env


def cli_invoke(env: dict, *args) -> tuple[int, str]:
    """`hemistat ARGS` in this process (typer's CliRunner): (exit code, stdout and stderr interleaved)."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    with environ({**env, "DAGSTER_HOME": env.get("DAGSTER_HOME") or os.environ.get("DAGSTER_HOME")}):
        r = CliRunner().invoke(app, [str(a) for a in args])
    out = r.output
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        import traceback

        out += "\nTraceback (most recent call last):\n" + "".join(traceback.format_exception(r.exception))
    return r.exit_code, out
