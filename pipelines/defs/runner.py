"""In-process execution used by `hemistat run` / `hemistat submit` (no daemon, no subprocesses)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from pipelines.settings import Settings


QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def prepare_home(settings: Settings) -> Path:
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def instance_for(settings: Settings) -> dg.DagsterInstance:
    prepare_home(settings)
    return dg.DagsterInstance.get()


def ingest(settings: Settings, sids: list[str], instance: dg.DagsterInstance, progress=print) -> dict[str, str]:
    """Run raw -> validated for each submission; returns {sid: status after the run}."""
    from pipelines.defs.definitions import defs
    from pipelines.storage import submissions as subs

    known = set(instance.get_dynamic_partitions("submissions"))
    new = [s for s in sids if s not in known]
    if new:
        instance.add_dynamic_partitions("submissions", new)
    job = defs.resolve_job_def("ingest_submission")
    out = {}
    for i, sid in enumerate(sids, 1):
        progress(f"[{i}/{len(sids)}] {sid}: ingest and check …")
        res = job.execute_in_process(partition_key=sid, instance=instance, raise_on_error=False,
                                     run_config=QUIET)
        st = subs.read_status(settings.landing_dir, sid)
        out[sid] = st["status"]
        detail = (st.get("events") or [{}])[-1].get("detail") or ""
        progress(f"      -> {st['status']}{': ' + detail[:160] if detail else ''}")
        if not res.success and st["status"] not in ("rejected",):
            for ev in res.all_events:
                if ev.event_type_value == "STEP_FAILURE" and ev.event_specific_data.error:
                    raise RuntimeError(ev.event_specific_data.error.to_string())
    return out


def publish(instance: dg.DagsterInstance) -> bool:
    from pipelines.defs.definitions import defs

    res = defs.resolve_job_def("publish_warehouse").execute_in_process(instance=instance, raise_on_error=False,
                                                                          run_config=QUIET)
    if not res.success:
        for ev in res.all_events:
            if ev.event_type_value == "STEP_FAILURE" and ev.event_specific_data.error:
                raise RuntimeError(ev.event_specific_data.error.to_string())
    return res.success
