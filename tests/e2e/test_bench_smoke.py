"""`tools.bench` at a tiny scale runs end to end (generator, floor, pipeline, pandas, views, backfill) and
writes its JSON with the ratio keys; a missed target is reported, not raised."""

import json

from tools import bench


def test_bench_tiny_scale_end_to_end(tmp_path):
    assert bench.main(["--scales", "0.005", "--backfill", "2", "--views-repeat", "2", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "pipeline_0.005.json").read_text())
    run = res["scales"][0]
    for k in ("pipeline_over_floor", "pipeline_over_pandas", "floor", "pipeline", "pandas", "views"):
        assert k in run, k
    assert run["pipeline_over_floor"] and run["pipeline_over_pandas"]
    assert run["pipeline"]["statuses"] and "rejected" not in run["pipeline"]["statuses"]
    assert run["pipeline"]["peak_rss_mib"] > 0
    assert res["backfill"]["seconds_for_500"] > 0
    assert all("status" in t for t in res["targets"])
    assert (tmp_path / "pipeline_0.005.md").read_text().startswith("Measured")
    svg = (tmp_path / "pipeline_0.005.svg").read_text()   # the chart (Altair, rendered by vl-convert)
    assert svg.lstrip().startswith("<svg") and "pipeline: validated" in svg and "floor" in svg
    assert "peak_after_layer_mib" in run["pipeline"] and run["pipeline"]["peak_after_layer_mib"]["published"] > 0
