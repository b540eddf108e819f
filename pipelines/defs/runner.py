"""In-process execution used by `hemistat run` / `hemistat submit` / `hemistat publish` and the upload portal
(no daemon, no subprocesses): the jobs run in the calling process and are recorded in the data folder's
Dagster instance (``<data>/dagster_home``), like the runs the daemon's sensors start."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from pipelines.settings import Settings


QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _write_home(settings: Settings) -> Path:
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return home


def prepare_home(settings: Settings) -> Path:
    home = _write_home(settings)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def instance_at(settings: Settings) -> dg.DagsterInstance:
    """The data folder's Dagster instance, without setting DAGSTER_HOME for the whole process (the portal
    serves one data folder and may share its process with others, e.g. in tests)."""
    return dg.DagsterInstance.from_config(str(_write_home(settings)))


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


def _failure_text(res) -> str | None:
    """The first failed step and its root cause, in one line (the full trace is in the run's events)."""
    for ev in res.all_events:
        if ev.event_type_value == "STEP_FAILURE" and ev.event_specific_data.error:
            err = ev.event_specific_data.error
            while err.cause is not None:
                err = err.cause
            return f"step {ev.step_key}: {err.message.strip()}"
    return None


def publish_run(settings: Settings, instance: dg.DagsterInstance, tags: dict | None = None) -> dict:
    """Run the ``publish_warehouse`` job (harmonised -> published: one atomic release) in this process on
    ``settings``' folders, recorded in ``instance``. Never raises for a failed run.

    Returns {"run_id", "success", "release_id", "submissions", "error"}: the release id from the
    ``published_warehouse`` materialization, the number of submissions harmonised, the first step failure."""
    from pipelines.defs.resources import resource_config
    from pipelines.defs.definitions import defs

    res = defs.resolve_job_def("publish_warehouse").execute_in_process(
        instance=instance, raise_on_error=False, run_config={**QUIET, **resource_config(settings)},
        tags={k: str(v)[:1000] for k, v in (tags or {}).items()})
    out = {"run_id": res.run_id, "success": res.success, "release_id": None, "submissions": None,
           "error": None if res.success else (_failure_text(res) or "the publish run failed")}
    for ev in res.get_asset_materialization_events():
        mat = ev.step_materialization_data.materialization
        md = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
        if mat.asset_key.path[-1] == "published_warehouse":
            out["release_id"] = md.get("release_id")
        elif mat.asset_key.path[-1] == "harmonised_indicators":
            out["submissions"] = md.get("submissions")
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
