"""In-process execution used by `hemistat run` / `hemistat submit` / `hemistat publish` and the upload portal
(no daemon, no subprocesses): the jobs run in the calling process and are recorded in the data folder's
Dagster instance (``<data>/dagster_home``), like the runs the daemon's sensors start.

Which instance: the deployment profile named by ``HEMISTAT_DAGSTER_PROFILE`` (read at run time), a folder of
``deploy/`` (``local``: SQLite in dagster_home, the default; ``postgres``: runs, events and schedules in
PostgreSQL with a queued run coordinator) or the path of a dagster.yaml. Its dagster.yaml is written into
``<data>/dagster_home`` so the webserver and the daemon (DAGSTER_HOME) read the same. See docs/DEPLOYMENT.md."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from pipelines.defs import tags as run_tags
from pipelines.settings import REPO_ROOT, Settings


QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}

# deployment profiles (deploy/<name>/dagster.yaml) -------------------------------------------------------
PROFILE_ENV = "HEMISTAT_DAGSTER_PROFILE"
DEPLOY_DIR = REPO_ROOT / "deploy"
LOCAL_YAML = "telemetry:\n  enabled: false\n"   # deploy/local/dagster.yaml, if deploy/ is not installed


def profile_yaml(profile: str | None = None) -> str | None:
    """The dagster.yaml text of ``profile`` (default: $HEMISTAT_DAGSTER_PROFILE): a profile name under deploy/
    or a path to a dagster.yaml. None when no profile is chosen (keep dagster_home's own file)."""
    profile = (profile if profile is not None else os.environ.get(PROFILE_ENV, "")).strip()
    if not profile:
        return None
    path = Path(profile)
    if not (path.suffix in (".yaml", ".yml") or path.is_file()):
        path = DEPLOY_DIR / profile / "dagster.yaml"
        if not path.is_file():
            if profile == "local":
                return LOCAL_YAML
            known = sorted(p.parent.name for p in DEPLOY_DIR.glob("*/dagster.yaml"))
            raise ValueError(f"{PROFILE_ENV}={profile!r}: no such deployment profile (known: {', '.join(known)}; "
                             "or give the path of a dagster.yaml)")
    return path.read_text(encoding="utf-8")


def _write_home(settings: Settings) -> Path:
    """dagster_home with its dagster.yaml: the chosen profile's (rewritten when another profile is chosen),
    else the one there, else the local profile."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    text = profile_yaml()
    if text is not None:
        if not cfg.exists() or cfg.read_text(encoding="utf-8") != text:
            tmp = cfg.with_suffix(".yaml.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, cfg)
    elif not cfg.exists():
        cfg.write_text(LOCAL_YAML, encoding="utf-8")
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
                                     run_config=QUIET, tags=run_tags.submission_tags(settings, sid, "ingest"))
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

    tags = {k: str(v)[:1000] for k, v in (tags or {}).items()}
    sid = tags.get("hemistat/submission")   # the portal's: the submission whose review or correction publishes
    base = (run_tags.submission_tags(settings, sid, "publish", channel=tags.get(run_tags.CHANNEL)) if sid
            else run_tags.run_tags("publish", channel=tags.get(run_tags.CHANNEL) or "cli",
                                   submitted_by=tags.get("hemistat/by")))
    res = defs.resolve_job_def("publish_warehouse").execute_in_process(
        instance=instance, raise_on_error=False, run_config={**QUIET, **resource_config(settings)},
        tags={**base, **tags})
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


def publish(instance: dg.DagsterInstance, tags: dict | None = None) -> bool:
    from pipelines.defs.definitions import defs

    res = defs.resolve_job_def("publish_warehouse").execute_in_process(
        instance=instance, raise_on_error=False, run_config=QUIET,
        tags={**run_tags.run_tags("publish", channel="cli"), **(tags or {})})
    if not res.success:
        for ev in res.all_events:
            if ev.event_type_value == "STEP_FAILURE" and ev.event_specific_data.error:
                raise RuntimeError(ev.event_specific_data.error.to_string())
    return res.success


# the same jobs with Dagster's multiprocess executor ---------------------------------------------------------
def ingest_job_def() -> dg.JobDefinition:
    """``ingest_submission`` as a reconstructable target: each step's subprocess imports it again."""
    from pipelines.defs.definitions import defs

    return defs.resolve_job_def("ingest_submission")


def publish_job_def() -> dg.JobDefinition:
    from pipelines.defs.definitions import defs

    return defs.resolve_job_def("publish_warehouse")


def multiprocess_config(max_concurrent: int = 2) -> dict:
    """Run config choosing the multiprocess executor (each step in its own process, at most ``max_concurrent``
    at once). It is what the daemon's runs use by default; the in-process runner above runs in one process."""
    return {"execution": {"config": {"multiprocess": {"max_concurrent": max_concurrent}}}}


def execute_multiprocess(settings: Settings, instance: dg.DagsterInstance, job: str, *, partition_key: str | None = None,
                         tags: dict | None = None, max_concurrent: int = 2):
    """Run ``ingest_submission`` (``partition_key``: the submission) or ``publish_warehouse`` with the
    multiprocess executor, recorded in ``instance`` (a persistent one: the step processes write their events
    to it — the postgres profile, or a dagster_home on disk). Returns the JobExecutionResult."""
    from pipelines.defs.resources import resource_config

    target = {"ingest_submission": ingest_job_def, "publish_warehouse": publish_job_def}[job]
    base = (run_tags.submission_tags(settings, partition_key, "ingest") if partition_key
            else run_tags.run_tags("publish", channel="cli"))
    if partition_key:
        base["dagster/partition"] = partition_key
        if partition_key not in set(instance.get_dynamic_partitions("submissions")):
            instance.add_dynamic_partitions("submissions", [partition_key])
    return dg.execute_job(dg.reconstructable(target), instance=instance, raise_on_error=False,
                          run_config={**QUIET, **resource_config(settings), **multiprocess_config(max_concurrent)},
                          tags={**base, **(tags or {})})
