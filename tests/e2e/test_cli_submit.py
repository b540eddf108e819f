"""`hemistat submit` through the CLI: a good file is published; a malformed one is refused with the
file, line and problem named, and the published warehouse is byte-for-byte unchanged."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import real

BIN = Path(sys.executable).with_name("hemistat")


def _run(args, env):
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env, timeout=300)


def _digest(data_dir: Path) -> str:
    h = hashlib.sha256()
    h.update((data_dir / "hemistat.duckdb").read_bytes())
    h.update((data_dir / "published" / "CURRENT").read_bytes())
    return h.hexdigest()


def test_submit_good_then_malformed(tmp_path):
    env = {**os.environ, "HEMISTAT_DATA_DIR": str(tmp_path / "data")}
    lines = real("ar_snic/snic-pais.csv").read_bytes().split(b"\r\n")
    good = tmp_path / "snic-pais.csv"
    good.write_bytes(b"\r\n".join(lines[:63]) + b"\r\n")  # header + years 2000-2001
    r = _run(["submit", str(good), "--source", "ar_snic"], env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "NEEDS REVIEW" in r.stdout  # the real 2000-2001 rows carry warnings (e.g. I1: sex breakdown)
    ack = r.stdout[r.stdout.index("hemistat acknowledge"):].splitlines()[0].split()
    sid, rules = ack[2], [a for a in ack[3:] if not a.startswith("--") and a not in ("NAME", "TEXT")]
    assert sid.startswith("ar_snic__") and rules
    r = _run(["acknowledge", sid, *rules, "--by", "ana.reviewer", "--reason", "known SNIC sex breakdown gaps"], env)
    assert r.returncode == 0 and "status validated" in r.stdout, r.stdout + r.stderr
    r = _run(["publish"], env)
    assert r.returncode == 0, r.stderr
    q = _run(["query", "select year, value from published.indicators where iccs_code='0101' and "
              "measure='offences' and sex='_T' and subdivision_code is null and month is null order by year",
              "--format", "json"], env)
    assert json.loads(q.stdout) == [{"year": 2000, "value": 2653.0}, {"year": 2001, "value": 3053.0}]
    before = _digest(tmp_path / "data")

    bad_lines = list(lines[:63])
    bad_lines[9] = bad_lines[9].replace(b";", b";-", 3).replace(b";-", b";", 2)  # a negative count
    bad_lines[20] = b"2000;5;Lesiones dolosas;12 34;;;;;;;;"                   # not a number
    bad = tmp_path / "snic-pais-v2.csv"
    bad.write_bytes(b"\r\n".join(bad_lines) + b"\r\n")
    r = _run(["submit", str(bad), "--source", "ar_snic"], env)
    assert r.returncode == 1
    err = r.stderr
    assert "REJECTED" in err and "snic-pais-v2.csv" in err
    assert "line 21" in err and "'cantidad_hechos'" in err and "not a number" in err
    assert "line 10" in err and "negative" in err
    assert _digest(tmp_path / "data") == before
    st = _run(["query", "select status, count(*) n from published.submissions group by 1", "--format", "csv"], env)
    assert "published,1" in st.stdout  # the rejected file is not in the published release
    landed = [d for d in (tmp_path / "data" / "landing").iterdir() if d.name.startswith("ar_snic__")]
    assert len(landed) == 2  # nothing the office sent is lost: the rejected file is kept with its report
    assert any((d / "report.json").exists() and json.loads((d / "report.json").read_text())["verdict"] == "rejected"
               for d in landed)
