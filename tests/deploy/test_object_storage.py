"""The Parquet warehouse on S3-compatible object storage: a release published here is exported to a local
S3-compatible server (moto's, started by the test on a port of its own) and read back into DuckDB through
Arrow's S3 filesystem (pipelines/storage/objectstore.py); `hemistat export-s3 --to s3://…` does the same."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from tests.conftest import environ
from tools.launch import free_port
from pipelines.storage.release import connect as release_connect

CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3():
    """A local S3-compatible server (moto) and its endpoint URL, with the bucket ``hemistat``."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        with environ(CREDS):
            from pipelines.storage.objectstore import s3_filesystem

            endpoint = f"http://127.0.0.1:{port}"
            s3_filesystem(endpoint, allow_bucket_creation=True).create_dir("hemistat")
            yield endpoint
    finally:
        server.stop()


@pytest.fixture
def warehouse(data_env, tmp_path):
    """A warehouse published from the synthetic SNIC national file (no Dagster: the pipeline's steps)."""
    from pipelines import pipeline
    from pipelines.samples.synthetic import generate_sample

    pais = next(p for p in generate_sample(tmp_path / "sample")["ar_snic"] if p.name.startswith("snic-pais"))
    man, _ = pipeline.submit(data_env, pais, "ar_snic")
    pipeline.ingest(data_env, man.submission_id)
    pipeline.validate(data_env, man.submission_id)
    warns = pipeline.failing_warnings(data_env, man.submission_id)
    if warns:
        pipeline.acknowledge(data_env, man.submission_id, warns, by="test", reason="synthetic sample")
    pipeline.harmonise_all(data_env)
    pipeline.publish_all(data_env)
    return data_env


Q = """select year, value from published.indicators where source_id = 'ar_snic' and iccs_code = '0101'
       and measure = 'offences' and sex = '_T' and subdivision_code is null and month is null
       and derivation = 'reported' order by year"""


def _local(settings, sql):
    con = release_connect(settings.duckdb_path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_a_release_exported_to_s3_reads_back_in_duckdb(warehouse, s3):
    from pipelines.storage import objectstore

    fs = objectstore.s3_filesystem(s3)
    out = objectstore.export_release(warehouse.published_dir, "s3://hemistat/warehouse", fs)
    assert out["release_id"] == (warehouse.published_dir / "CURRENT").read_text()
    assert "indicators.parquet" in out["files"] and "release.json" in out["files"]
    assert objectstore.current_release("s3://hemistat/warehouse", fs) == out["release_id"]

    con = objectstore.open_release("s3://hemistat/warehouse", fs)
    try:
        n = con.execute("select count(*) from published.indicators").fetchone()[0]
        got = con.execute(Q).fetchall()
        assert con.execute("select release_id from published.release").fetchone()[0] == out["release_id"]
        n_cells = con.execute("select count(*) from published.cells").fetchone()[0]
    finally:
        con.close()
    assert n == _local(warehouse, "select count(*) from published.indicators")[0][0] > 0
    assert got == _local(warehouse, Q) and got
    assert n_cells == _local(warehouse, "select count(*) from published.cells")[0][0]


def test_hemistat_export_sends_the_current_release_to_s3(warehouse, s3):
    from pipelines.storage import objectstore

    env = {"HEMISTAT_DATA_DIR": str(warehouse.data_dir), "HEMISTAT_S3_ENDPOINT": s3, **CREDS}
    with environ(env):
        r = subprocess.run([sys.executable, "-m", "pipelines.cli", "export-s3", "--to", "s3://hemistat/cli"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        rid = (warehouse.published_dir / "CURRENT").read_text()
        assert rid in r.stdout
        con = objectstore.open_release("s3://hemistat/cli")     # endpoint and keys from the environment
        try:
            assert con.execute("select count(*) from published.indicators").fetchone()[0] == \
                _local(warehouse, "select count(*) from published.indicators")[0][0]
        finally:
            con.close()


def test_an_s3_url_is_checked():
    from pipelines.storage.objectstore import split_url

    assert split_url("s3://b/p/q/") == ("b", "p/q") and split_url("s3://b") == ("b", "")
    with pytest.raises(ValueError):
        split_url("/local/path")
