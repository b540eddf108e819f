"""Issue 14, item 3: a revision of a source without count rows (the World Bank's homicide rate) is ingested —
rule R1 no longer crashes on it (it used to end `received` forever with int(NaN)) — and the revised value is
published and listed in published.revisions."""

from __future__ import annotations


from pipelines import pipeline
from pipelines.storage import submissions as subs
from tests.conftest import real
from pipelines.storage.release import connect as release_connect


def _revised_copy(src, dest):
    b = src.read_bytes()
    i = b.find(b'"Mexico","MEX"')
    end = b.find(b"\n", i)
    parts = b[i:end].split(b",")
    k = max(j for j in range(5, len(parts)) if parts[j].strip(b'"\r'))
    parts[k] = b'"99.9"'
    dest.write_bytes(b[:i] + b",".join(parts) + b[end:])
    return dest


def _through(settings, path, released_on):
    sid = pipeline.submit(settings, path, "wb_wdi", released_on=released_on)[0].submission_id
    pipeline.ingest(settings, sid)
    pipeline.validate(settings, sid)
    if pipeline.failing_warnings(settings, sid):
        pipeline.acknowledge(settings, sid, pipeline.failing_warnings(settings, sid), by="t", reason="test")
    pipeline.harmonise_all(settings)
    pipeline.publish_all(settings)
    return sid


def test_a_world_bank_revision_is_ingested_and_published(data_env, tmp_path):
    src = real("wb_wdi/API_VC.IHR.PSRC.P5_DS2_en_csv_v2_4355130.csv")
    first = _through(data_env, src, "2022-07-20")
    second = _through(data_env, _revised_copy(src, tmp_path / "wdi_revised.csv"), "2022-09-01")
    assert subs.read_status(data_env.landing_dir, second)["status"] == "published"
    con = release_connect(data_env.duckdb_path)
    r1 = con.execute("select status from published.quality_rules where submission_id = ? and rule_id = 'R1'",
                     [second]).fetchone()[0]
    assert r1 in ("pass", "fail", "not_applicable")               # evaluated, never error_in_rule
    rev = con.execute("select old_value, new_value, old_submission_id from published.revisions "
                      "where source_id = 'wb_wdi' and country_iso3 = 'MEX'").fetchall()
    con.close()
    assert len(rev) == 1 and rev[0][1] == 99.9 and rev[0][2] == first
