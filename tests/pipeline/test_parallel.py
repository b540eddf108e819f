"""A batch ingested and validated on several processes (``pipeline.parallel``) ends exactly as it does one
submission after the other: the same statuses, verdicts, quality tables and failing rows, file for file; and
submissions of one scope (same source and country) always run in one chain, in the batch's order, because
their checks read each other (earlier vintages, overlaps)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from pipelines import pipeline
from pipelines.pipeline.parallel import chains
from pipelines.samples.load import generate_load
from pipelines.settings import get_settings
from pipelines.storage import submissions as subs


def _run(data: Path, load: Path, workers: int, monkeypatch) -> dict:
    import json

    monkeypatch.setenv("HEMISTAT_DATA_DIR", str(data))
    monkeypatch.setenv("DAGSTER_HOME", str(data / "dagster_home"))
    s = get_settings()
    s.ensure_dirs()
    sids = []
    for f in json.loads((load / "load_manifest.json").read_text())["files"]:
        man, _ = pipeline.submit(s, load / f["path"], f["source_id"], uploaded_by="test",
                                 country_iso3=f["country_iso3"], channel="run")
        sids.append(man.submission_id)
    ing = pipeline.ingest_many(s, sids, workers=workers)
    val = pipeline.validate_many(s, [x for x in sids if not isinstance(ing[x], Exception)], workers=workers)
    out = {}
    for sid in sids:
        q = pd.read_parquet(data / "quality" / f"{sid}.parquet").drop(columns=["observed", "notes"])
        fails = pd.read_parquet(data / "quality" / f"{sid}_failures.parquet")
        rep = json.loads((subs.submission_dir(s.landing_dir, sid) / "report.json").read_text())
        out[sid] = {"status": subs.read_status(s.landing_dir, sid)["status"],
                    "result": type(val.get(sid, ing[sid])).__name__,
                    "rows": getattr(val.get(sid), "rows", None),
                    "verdict": rep.get("verdict"), "problems": len(rep.get("problems") or []),
                    "quality": q.sort_values("rule_id").reset_index(drop=True),
                    "failures": fails.sort_values(list(fails.columns)).reset_index(drop=True)}
    return out


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing runs side by side")
def test_a_batch_on_two_processes_ends_as_one_after_the_other(tmp_path, monkeypatch):
    load = tmp_path / "load"
    generate_load(load, 0.02, 7)     # 36 files of the four formats, 35 countries
    one = _run(tmp_path / "one", load, 1, monkeypatch)
    two = _run(tmp_path / "two", load, 2, monkeypatch)
    assert one.keys() == two.keys() and len(one) == 36
    assert {v["status"] for v in one.values()} >= {"validated"}
    for sid in one:
        a, b = one[sid], two[sid]
        keys = ("status", "result", "rows", "verdict", "problems")
        assert [a[k] for k in keys] == [b[k] for k in keys], sid
        pd.testing.assert_frame_equal(a["quality"], b["quality"], obj=sid)
        pd.testing.assert_frame_equal(a["failures"], b["failures"], obj=sid)


def test_submissions_of_one_scope_share_a_chain_in_order(data_env, tmp_path):
    s = data_env
    header = (Path(__file__).resolve().parents[2] / "reference" / "templates" / "hemistat_template.csv") \
        .read_text(encoding="utf-8").splitlines()[0]

    def land(iso3: str, n: int, source: str = "iccs_template", country: str | None = "") -> str:
        p = tmp_path / f"{iso3}_{n}.csv"
        p.write_text(header + "\n" + f"{iso3},,,{2020 + n},,0101,Homicidio intencional,offences,_T,_T,{10 + n},A,\n",
                     encoding="utf-8")
        man, _ = pipeline.submit(s, p, source, country_iso3=iso3 if country == "" else country)
        return man.submission_id

    arg1, bra1, arg2, bra2, arg3 = land("ARG", 1), land("BRA", 1), land("ARG", 2), land("BRA", 2), land("ARG", 3)
    got = chains(s, [arg1, bra1, arg2, bra2, arg3])
    assert sorted(got, key=len) == [[bra1, bra2], [arg1, arg2, arg3]]
    # a submission of the source that names no country may be a vintage of any: the whole source is one chain
    anyc = land("CHL", 4, country=None)
    assert chains(s, [arg1, bra1, anyc, arg2]) == [[arg1, bra1, anyc, arg2]]


SCRIPT = '''
import json, os, sys
from pathlib import Path
with open(sys.argv[2], "a") as fh:          # how many times this top level runs
    fh.write("ran\\n")
from pipelines import pipeline
from pipelines.settings import get_settings
s = get_settings()
s.ensure_dirs()
sids = []
for p in sorted(Path(sys.argv[1]).glob("*.csv")):
    man, _ = pipeline.submit(s, p, "iccs_template", country_iso3=p.stem)
    sids.append(man.submission_id)
out = pipeline.ingest_many(s, sids, workers=2)
print(json.dumps({sid: type(r).__name__ for sid, r in out.items()}))
'''


def test_a_script_without_a_main_guard_runs_its_batch_once(tmp_path):
    """``spawn`` workers would import the caller's main script again; the pool hides it while they start
    (``parallel._main_hidden``), so a script with no ``if __name__ == "__main__"`` runs its top level once."""
    import json
    import subprocess
    import sys

    header = (Path(__file__).resolve().parents[2] / "reference" / "templates" / "hemistat_template.csv") \
        .read_text(encoding="utf-8").splitlines()[0]
    files = tmp_path / "files"
    files.mkdir()
    for i, iso3 in enumerate(["ARG", "BRA", "CHL", "COL", "PER"]):
        (files / f"{iso3}.csv").write_text(
            header + "\n" + f"{iso3},,,2021,,0101,Homicidio intencional,offences,_T,_T,{100 + i},A,\n", encoding="utf-8")
    script, marks = tmp_path / "batch.py", tmp_path / "marks.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {**os.environ, "HEMISTAT_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "data" / "dh")}
    proc = subprocess.run([sys.executable, str(script), str(files), str(marks)], env=env, capture_output=True,
                          text=True, timeout=300, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert marks.read_text().splitlines() == ["ran"]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(out) == 5 and set(out.values()) == {"StepResult"}
