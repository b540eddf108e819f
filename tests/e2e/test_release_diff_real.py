"""Issue 15 items 3 and 5 on a real file: two vintages of Argentina's SNIC national file (the second revises 2000
homicides 2653 -> 3000, as tests/e2e/test_vintages.py) make releases 1 and 2; `hemistat releases diff 1 2` lists
the changed values with the new vintage as the reason. A withdrawal makes release 3, a correction. Throughout the
publications a reader keeps querying through `pipelines.warehouse.connect()`: every sample answers, from one
release at a time."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from pipelines import pipeline, warehouse
from pipelines.publication import releases as R
from tests.conftest import real

ARG_2000 = ("select value, submission_id from published.comparable where country_iso3 = 'ARG' and year = 2000 "
            "and iccs_code = '0101' and measure = 'offences' and sex = '_T' and age = '_T' "
            "and subdivision_code is null")


def _publish(settings, path):
    man, created = pipeline.submit(settings, path, "ar_snic")
    pipeline.ingest(settings, man.submission_id)
    pipeline.validate(settings, man.submission_id)
    warns = pipeline.failing_warnings(settings, man.submission_id)
    if warns:
        pipeline.acknowledge(settings, man.submission_id, warns, by="test", reason="release diff test: known warnings")
    pipeline.harmonise_all(settings)
    pipeline.publish_all(settings)
    return man


READER = r"""
import json, sys, time
from pathlib import Path
from pipelines import warehouse
from pipelines.settings import get_settings
stop, out = Path(sys.argv[1]), open(sys.argv[2], "a", buffering=1)
s = get_settings()
Q = %r
while not stop.exists():
    try:
        con = warehouse.connect(s)
        try:
            rid, subs = con.execute("select release_id, submissions from published.release").fetchone()
            row = con.execute(Q).fetchone()
            n = con.execute("select count(*) from published.regional").fetchone()[0]
        finally:
            con.close()
        out.write(json.dumps({"release": rid, "submissions": list(subs), "value": row[0] if row else None,
                              "submission_id": row[1] if row else None, "regional": n}) + "\n")
    except FileNotFoundError:
        pass   # nothing published yet
    except Exception as exc:   # a failed read is the finding
        out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
    time.sleep(0.01)
""" % ARG_2000


class Reader:
    """Another process (an analyst's session) that opens pipelines.warehouse.connect() again and again and
    queries it, one JSON line per sample."""

    def __init__(self, tmp_path):
        self.stop_file, self.out = tmp_path / "stop", tmp_path / "samples.jsonl"
        self.proc = subprocess.Popen([sys.executable, "-c", READER, str(self.stop_file), str(self.out)],
                                     cwd=Path(__file__).resolve().parents[2])

    def finish(self):
        self.stop_file.touch()
        self.proc.wait(timeout=60)
        lines = [json.loads(x) for x in self.out.read_text().splitlines()] if self.out.exists() else []
        self.errors = [x["error"] for x in lines if "error" in x]
        self.samples = [x for x in lines if "error" not in x]


def test_diff_between_two_vintages_of_the_real_snic_file_and_a_reader_throughout(data_env, tmp_path):
    lines = real("ar_snic/snic-pais.csv").read_bytes().split(b"\r\n")[:125]       # 2000-2003
    assert lines[1].split(b";")[:4] == [b"2000", b"1", b"Homicidios dolosos", b"2653"]
    v1 = tmp_path / "snic-pais.csv"
    v1.write_bytes(b"\r\n".join(lines) + b"\r\n")
    f = lines[1].split(b";")
    f[3] = b"3000"                              # 2000 homicides (hechos) revised 2653 -> 3000
    lines[1] = b";".join(f)
    v2 = tmp_path / "snic-pais-rev.csv"
    v2.write_bytes(b"\r\n".join(lines) + b"\r\n")

    reader = Reader(tmp_path)
    time.sleep(2)                               # the reader's interpreter is up before the first publish
    try:
        m1 = _publish(data_env, v1)
        time.sleep(1.1)                         # release ids have one-second resolution
        m2 = _publish(data_env, v2)
        time.sleep(1.1)
        pipeline.withdraw(data_env, m2.submission_id, reason="test: the revision was sent by mistake", by="ana")
        pipeline.harmonise_all(data_env)
        pipeline.publish_all(data_env)
        time.sleep(0.3)
    finally:
        reader.finish()

    rels = R.list_releases(data_env)
    assert [r["number"] for r in rels] == [1, 2, 3] and rels[2]["current"]
    con = warehouse.connect(data_env)
    try:   # the history view numbers them too
        assert con.execute("select release_id, release_number from published.releases order by 2").fetchall() == \
            [(r["release_id"], r["number"]) for r in rels]
    finally:
        con.close()
    assert all(r["sources"] == ["ar_snic"] for r in rels)

    # the changelog of the new vintage: the revised value with its reason, and what was built from it
    d = R.diff(data_env, 1, 2)
    key = ["country_iso3", "year", "iccs_code", "measure", "sex"]
    hom = d[(d.country_iso3 == "ARG") & (d.year == 2000) & (d.iccs_code == "0101") & (d.measure == "offences")
            & (d.sex == "_T") & d.subdivision_code.isna()]
    assert len(hom) == 1
    h = hom.iloc[0]
    assert (h.change, h.old, h.new, h.difference, h.reason) == ("changed", 2653.0, 3000.0, 347.0, "new_vintage")
    assert round(h.relative, 4) == 0.1308
    assert (h.old_submission_id, h.new_submission_id) == (m1.submission_id, m2.submission_id)
    assert f"{m1.submission_id} (released" in h.why and f"replaced by {m2.submission_id}" in h.why
    # the ICCS parents of 0101 (01) went up by the same 347; 2001-2003 and the victims did not change
    parent = d[(d.iccs_code == "01") & (d.year == 2000) & (d.measure == "offences") & (d.sex == "_T")].iloc[0]
    assert parent.difference == 347.0 and parent.reason == "new_vintage"
    assert set(d.year) == {2000} and set(d.measure) == {"offences"} and set(d.change) == {"changed"}
    assert d.duplicated(key + ["subdivision_code", "age"]).sum() == 0

    # the CLI says the same, on screen and as CSV
    run = CliRunner().invoke(__import__("pipelines.cli", fromlist=["app"]).app, ["releases", "diff", "1", "2", "--csv"])
    assert run.exit_code == 0, run.output
    csv = pd.read_csv(io.StringIO(run.output), dtype={"iccs_code": str})
    assert len(csv) == len(d)
    row = csv[(csv.iccs_code == "0101") & (csv.measure == "offences") & (csv.sex == "_T")].iloc[0]
    assert (row.old, row.new, row.reason) == (2653.0, 3000.0, "new_vintage")
    run = CliRunner().invoke(__import__("pipelines.cli", fromlist=["app"]).app, ["releases", "diff", "1", "2"])
    assert "new_vintage" in run.output and "+13.1%" in run.output and "2,653" in run.output

    # the withdrawal is a correction: release 3 is back to 2653, and says why
    d3 = R.diff(data_env, 2, 3)
    w = d3[(d3.iccs_code == "0101") & (d3.measure == "offences") & (d3.sex == "_T") & (d3.year == 2000)].iloc[0]
    assert (w.old, w.new, w.reason) == (3000.0, 2653.0, "correction_withdrawn")
    assert "the revision was sent by mistake" in w.why

    # the reader: every sample answered, each from one release (the value matches that release's submissions)
    assert not reader.errors, reader.errors[:3]
    assert len(reader.samples) >= 10
    seen = {s["release"] for s in reader.samples}
    assert len(seen) >= 2, seen
    for s in reader.samples:
        assert s["submission_id"] in s["submissions"]
        assert (s["value"], s["submission_id"]) in {(2653.0, m1.submission_id), (3000.0, m2.submission_id)}
        assert s["regional"] > 0
