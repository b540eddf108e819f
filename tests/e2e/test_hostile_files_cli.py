"""Issue 14 items 7 and 10 through the command line: `hemistat submit` refuses, in seconds and before storing
anything, a 100,000-column CSV, a 1 GiB file, a compression bomb and a workbook with a DTD, naming the file and
the limit (no traceback); `hemistat validate` reports the same refusal as a rejected file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.adapters.test_guards import LAUGHS, wide_csv, workbook

BIN = Path(sys.executable).with_name("hemistat")


def _run(args, data: Path, **env):
    e = {**os.environ, "HEMISTAT_DATA_DIR": str(data), **env}
    t = time.perf_counter()
    r = subprocess.run([str(BIN), *args], capture_output=True, text=True, env=e, timeout=300)
    return r, time.perf_counter() - t


def _bomb(path: Path) -> Path:
    """A workbook-shaped zip of about 0.5 MB that expands to 512 MB of zeros."""
    zeros = b"\0" * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            for _ in range(512):
                fh.write(zeros)
    return path


@pytest.mark.parametrize("kind", ["columns", "size", "bomb", "dtd"])
def test_submit_refuses_hostile_files_before_storing(tmp_path, kind):
    data = tmp_path / "data"
    if kind == "columns":
        f, source, expect = wide_csv(tmp_path / "wide.csv"), "ar_snic", "2,000 columns (HEMISTAT_MAX_COLUMNS)"
    elif kind == "size":
        f, source, expect = tmp_path / "huge.csv", "ar_snic", "1,024 MB is more than the limit of 200 MB"
        with open(f, "wb") as fh:
            fh.truncate(1 << 30)                  # 1 GiB (sparse): refused from its size
    elif kind == "bomb":
        f, source, expect = _bomb(tmp_path / "bomb.xlsx"), "iccs_template", "more than the limit of 128 MB"
        assert f.stat().st_size < 4 << 20
    else:
        f, source, expect = (workbook(tmp_path / "laughs.xlsx", prolog={"xl/worksheets/sheet1.xml": LAUGHS}),
                             "iccs_template", "declares a DTD or entities")
    r, took = _run(["submit", str(f), "--source", source], data)
    assert r.returncode != 0, r.stdout
    assert f.name in r.stderr and expect in r.stderr, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert took < 30, took              # process start and imports included; the check itself is sub-second
    landing = data / "landing"
    assert not landing.exists() or not any(landing.iterdir())


def test_validate_reports_the_refusal(tmp_path):
    f = wide_csv(tmp_path / "wide.csv")
    r, took = _run(["validate", str(f), "--source", "ar_snic"], tmp_path / "data")
    assert r.returncode == 1 and "REJECTED" in r.stdout.upper() and "wide.csv is refused" in r.stdout, r.stdout
    assert "Traceback" not in r.stderr and took < 60
