"""`hemistat run` on a machine without the real files: the synthetic sample goes all the way through."""

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).with_name("hemistat")


def test_run_on_synthetic_sample_prints_summary(tmp_path):
    env = {**os.environ, "HEMISTAT_DATA_DIR": str(tmp_path / "data"), "HEMISTAT_SAMPLE": "synthetic",
           "HEMISTAT_SHARED_DIR": str(tmp_path / "no-shared-here")}
    r = subprocess.run([str(BIN), "run", "--acknowledge-warnings", "--reason", "test: make run"], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = r.stdout
    assert "SYNTHETIC sample" in out and "sources: ar_snic, mx_sesnsp, unodc_cts" in out
    assert f"warehouse: {tmp_path / 'data' / 'hemistat.duckdb'}" in out
    assert "MEX  2022" in out and "ARG  2022" in out
    assert (tmp_path / "data" / "samples" / "SYNTHETIC_README.md").exists()
    # running again is idempotent: the same files are recognised, no new submission
    r2 = subprocess.run([str(BIN), "run", "--acknowledge-warnings", "--reason", "test: make run"], capture_output=True, text=True, env=env, timeout=600)
    assert r2.returncode == 0 and "landed " not in r2.stdout and "known" in r2.stdout


def test_dagster_cli_validates_definitions(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    exe = Path(sys.executable).with_name("dagster")
    r = subprocess.run([str(exe), "definitions", "validate", "-m", "pipelines.definitions"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
