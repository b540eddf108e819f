"""Issue 9, items 5 and 12: `hemistat run` holds warnings by default, acknowledges a batch only when asked
(saying what and why), and its summary lists rejected submissions.

Inputs: a shared folder with the real SNIC national file (warnings: I1, known SNIC breakdowns) and a copy
with file line 4 repeated as line 21 (rule C4, an error: rejected)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import real

BIN = Path(sys.executable).with_name("hemistat")


def _run(env, *args):
    r = subprocess.run([str(BIN), "run", *args], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


def _status(data: Path, sid: str) -> dict:
    return json.loads((data / "landing" / sid / "status.json").read_text("utf-8"))


def test_run_holds_warnings_and_lists_rejections(tmp_path):
    shared = tmp_path / "shared" / "ar_snic"
    shared.mkdir(parents=True)
    lines = real("ar_snic/snic-pais.csv").read_bytes().splitlines(keepends=True)
    (shared / "snic-pais.csv").write_bytes(b"".join(lines))
    (shared / "snic-pais-dup.csv").write_bytes(b"".join(lines[:20] + [lines[3]] + lines[20:]))
    data = tmp_path / "data"
    env = {**os.environ, "HEMISTAT_DATA_DIR": str(data), "HEMISTAT_SAMPLE": "real",
           "HEMISTAT_SHARED_DIR": str(tmp_path / "shared"), "USER": "ana"}

    out = _run(env)
    sids = {line.split()[1]: line.split()[-1] for line in out.splitlines() if line.strip().startswith("landed")}
    good = next(s for s, name in sids.items() if name == "snic-pais.csv")
    bad = next(s for s, name in sids.items() if name == "snic-pais-dup.csv")
    # rejected submissions are listed, with the rule that rejected them
    assert "rejected submissions (1" in out
    assert f"  {bad}: C4" in out
    # warnings are held, not acknowledged: nothing accepted, nothing published
    st = _status(data, good)
    assert st["status"] == "awaiting_review" and not st.get("acknowledgements")
    assert "held for review (1 submission(s)" in out and f"  {good}: warnings I1" in out
    assert "nothing to publish" in out and not (data / "hemistat.duckdb").exists()

    out2 = _run(env, "--acknowledge-warnings", "--reason", "test: known SNIC breakdowns")
    assert "acknowledged warnings of 1 submission(s) as a batch, reason: test: known SNIC breakdowns" in out2
    assert f"  {good}: I1" in out2
    st = _status(data, good)
    assert st["status"] == "published"
    assert {a["rule_id"] for a in st["acknowledgements"]} >= {"I1"}
    assert all(a["reason"] == "test: known SNIC breakdowns" and a["by"].startswith("ana")
               for a in st["acknowledgements"])
    assert f"  {bad}: C4" in out2                      # still listed as rejected
