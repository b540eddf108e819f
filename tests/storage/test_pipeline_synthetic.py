"""The fast tier's whole-pipeline test: the synthetic sample (pipelines/samples/synthetic.py, generated here, no real
file) goes landing -> raw -> validated -> harmonised -> published in process, and published values equal
sums computed directly from the generated files."""

from __future__ import annotations

import csv
import io

import duckdb

from pipelines import pipeline
from pipelines.samples.synthetic import generate_sample
from pipelines.storage.release import connect as release_connect


def test_synthetic_sample_through_every_layer(data_env, tmp_path):
    paths = generate_sample(tmp_path / "sample")
    sids = []
    for source, files in sorted(paths.items()):
        for p in files:
            man, _ = pipeline.submit(data_env, p, source)
            pipeline.ingest(data_env, man.submission_id)
            pipeline.validate(data_env, man.submission_id)
            warns = pipeline.failing_warnings(data_env, man.submission_id)
            if warns:
                pipeline.acknowledge(data_env, man.submission_id, warns, by="test", reason="synthetic sample")
            sids.append(man.submission_id)
    pipeline.harmonise_all(data_env)
    res = pipeline.publish_all(data_env)
    assert set(res["statuses"]) == set(sids) and set(res["statuses"].values()) == {"published"}

    # hand sum from the generated SNIC national file: code 1 (homicidios dolosos), cantidad_hechos, by year
    pais = next(p for p in paths["ar_snic"] if p.name.startswith("snic-pais"))
    rows = list(csv.reader(io.StringIO(pais.read_text("utf-8")), delimiter=";"))
    head = rows[0]
    hand = {int(r[0]): float(r[head.index("cantidad_hechos")]) for r in rows[1:]
            if r and r[head.index("codigo_delito_snic_id")] == "1"}
    con = release_connect(data_env.duckdb_path)
    try:
        got = dict(con.execute("""select year, value from published.indicators where source_id = 'ar_snic'
                                  and iccs_code = '0101' and measure = 'offences' and sex = '_T'
                                  and subdivision_code is null and month is null and derivation = 'reported'""")
                   .fetchall())
        n_null = con.execute("select count(*) from published.quality_scorecard where rule_id is null").fetchone()[0]
    finally:
        con.close()
    assert got and all(got[y] == v for y, v in hand.items() if y in got)
    assert set(got) == set(hand)
    assert n_null == 0
