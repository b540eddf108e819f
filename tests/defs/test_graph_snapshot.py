"""Snapshot of the Dagster definitions: assets (with their dependencies and partitions), asset checks,
jobs, sensors and schedules. A change to the graph shows up here as a reviewed diff of
tests/defs/snapshots/definitions.json; refresh it with HEMISTAT_UPDATE_SNAPSHOTS=1 pytest tests/defs/test_graph_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def graph_snapshot() -> dict:
    from pipelines.definitions import defs

    g = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(g.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = g.get(key)
        assets[key.to_user_string()] = {
            "deps": sorted(d.to_user_string() for d in node.parent_keys),
            "partitioned": node.partitions_def is not None,
            "group": node.group_name,
        }
    checks = sorted(f"{c.asset_key.to_user_string()}:{c.name}" for c in g.asset_check_keys)
    jobs = sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__"))
    sensors = sorted(s.name for s in defs.sensors or [])
    schedules = sorted(f"{s.name} {s.cron_schedule}" for s in defs.schedules or [])
    return {"assets": assets, "asset_checks": checks, "jobs": jobs, "sensors": sensors, "schedules": schedules}


def test_definitions_match_the_snapshot():
    got = graph_snapshot()
    if os.environ.get("HEMISTAT_UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    want = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert got == want, ("the Dagster definitions changed; review the difference and refresh the snapshot with "
                         "HEMISTAT_UPDATE_SNAPSHOTS=1 pytest tests/defs/test_graph_snapshot.py")
