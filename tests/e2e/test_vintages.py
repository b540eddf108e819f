"""A re-submitted file that revises earlier years is a new vintage: published shows the latest accepted
value, published.indicators_as_of(ts) shows what was published at ts, and R1 reports the revision."""

import json
import time

import duckdb

from pipelines import pipeline
from pipelines.storage import submissions as subs
from tests.conftest import real
from pipelines.storage.release import connect as release_connect

Q = ("select value from {} where source_id='ar_snic' and iccs_code='0101' and year=2000 and measure='offences' "
     "and sex='_T' and subdivision_code is null and month is null")


def _publish(settings, path):
    man, created = pipeline.submit(settings, path, "ar_snic")
    pipeline.ingest(settings, man.submission_id)
    pipeline.validate(settings, man.submission_id)
    warns = pipeline.failing_warnings(settings, man.submission_id)
    if warns:
        pipeline.acknowledge(settings, man.submission_id, warns, by="test", reason="vintage test: known warnings")
    pipeline.harmonise_all(settings)
    pipeline.publish_all(settings)
    return man, created


def test_revision_is_a_new_vintage_and_as_of_returns_the_old_value(data_env, tmp_path):
    lines = real("ar_snic/snic-pais.csv").read_bytes().split(b"\r\n")[:125]  # 2000-2003
    v1 = tmp_path / "snic-pais.csv"
    v1.write_bytes(b"\r\n".join(lines) + b"\r\n")
    m1, _ = _publish(data_env, v1)
    con = release_connect(data_env.duckdb_path)
    assert con.execute(Q.format("published.indicators")).fetchall() == [(2653.0,)]
    t1 = con.execute("select max(published_at) from published.releases").fetchall()[0][0]
    con.close()
    time.sleep(1.1)  # release ids have one-second resolution

    f = lines[1].split(b";")
    f[3] = b"3000"  # 2000 homicides revised 2653 -> 3000 (+13 %)
    lines[1] = b";".join(f)
    v2 = tmp_path / "snic-pais-rev.csv"
    v2.write_bytes(b"\r\n".join(lines) + b"\r\n")
    m2, created = _publish(data_env, v2)
    assert created and m2.submission_id != m1.submission_id
    report = json.loads((data_env.landing_dir / m2.submission_id / "report.json").read_text())
    r1 = next(r for r in report["rules"] if r["rule_id"] == "R1")
    assert r1["status"] == "fail" and r1["failures"][0]["line"] == 2 and r1["failures"][0]["expected"] == "2653.0"

    con = release_connect(data_env.duckdb_path)
    assert con.execute(Q.format("published.indicators")).fetchall() == [(3000.0,)]
    assert con.execute(Q.format("published.indicators_as_of(?)"), [t1]).fetchall() == [(2653.0,)]
    assert con.execute("select count(*) from published.releases").fetchall()[0][0] == 2
    sid = con.execute("select submission_id from published.indicators where source_id='ar_snic' and "
                      "iccs_code='0101' and year=2000 and measure='offences' and sex='_T' and "
                      "subdivision_code is null and month is null").fetchall()[0][0]
    assert sid == m2.submission_id
    # every cell of the first file is replaced by the revision: it is superseded, not published
    st = {r[0]: r[1] for r in con.execute("select submission_id, status from published.submissions").fetchall()}
    assert st == {m1.submission_id: "superseded", m2.submission_id: "published"}
    con.close()
    assert subs.read_status(data_env.landing_dir, m1.submission_id)["superseded_by"] == [m2.submission_id]
    # the same bytes again are not a new vintage
    _, again = pipeline.submit(data_env, v2, "ar_snic")
    assert again is False
