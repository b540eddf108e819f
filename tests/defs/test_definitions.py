"""Dagster wiring: definitions load, the expected assets/jobs/sensors exist, the import boundary holds."""

import re
from pathlib import Path

import dagster as dg
import yaml

from pipelines.definitions import defs

REPO = Path(__file__).resolve().parents[2]


def test_definitions_load_and_asset_keys():
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"raw_table", "validated_table", "harmonised_indicators", "published_warehouse"} <= keys
    assert defs.resolve_job_def("ingest_submission") is not None
    assert defs.resolve_job_def("publish_warehouse") is not None
    names = {s.name for s in defs.sensors}
    assert {"landing_sensor", "publish_pending_sensor"} <= names


def test_workspace_matches_pyproject():
    ws = yaml.safe_load((REPO / "workspace.yaml").read_text())
    mod = ws["load_from"][0]["python_module"]["module_name"]
    import tomllib

    pp = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert mod == pp["tool"]["dg"]["project"]["code_location_target_module"] == "pipelines.definitions"


def test_no_dagster_import_outside_defs():
    pat = re.compile(r"^\s*(import dagster|from dagster)", re.M)
    offenders = []
    for p in (REPO / "pipelines").rglob("*.py"):
        rel = p.relative_to(REPO / "pipelines").as_posix()
        if rel.startswith("defs/") or rel == "definitions.py":
            continue
        if pat.search(p.read_text(encoding="utf-8")):
            offenders.append(rel)
    assert offenders == []


def test_landing_sensor_adds_partitions_for_new_submissions(data_env, tmp_path):
    from pipelines import pipeline
    from pipelines.defs.sensors import landing_sensor

    f = tmp_path / "x.csv"
    f.write_text("anio;codigo_delito_snic_id;codigo_delito_snic_nombre;cantidad_hechos\n2020;1;H;5\n")
    man, _ = pipeline.submit(data_env, f, "ar_snic")
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance)
        res = landing_sensor(ctx)
        assert [r.partition_key for r in res.run_requests] == [man.submission_id]
        assert res.dynamic_partitions_requests[0].partition_keys == [man.submission_id]
        instance.add_dynamic_partitions("submissions", [man.submission_id])
        res2 = landing_sensor(dg.build_sensor_context(instance=instance))
        assert res2.run_requests == []
