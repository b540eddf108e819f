"""The tags every hemistat run carries, whoever starts it (sensors, schedules, the in-process runner, the
portal): a statistician filters runs by them in the Dagster UI, and the queued run coordinator of the
``postgres`` deployment profile (deploy/postgres/dagster.yaml) limits concurrency by them — one run at a
time per country, one publication at a time.

* ``hemistat/source``        source id (``ar_snic``), or ``all`` for a run over every source (a publication
                             not started for one submission, the punctuality check)
* ``hemistat/country``       ISO 3166 alpha-3 of the submission's country; ``multi`` for a source that covers
                             several countries (UNODC, World Bank); ``all`` as above
* ``hemistat/channel``       how the data or the run came: ``cli``, ``web``, ``harvest``, ``portal``, ``sensor``,
                             ``schedule``
* ``hemistat/submitted_by``  who sent the submission (its manifest's ``uploaded_by``), or who started the run
* ``hemistat/stage``         ``ingest`` | ``publish`` | ``harvest`` | ``monitor``
"""

from __future__ import annotations

import getpass

from pipelines.settings import Settings

SOURCE, COUNTRY, CHANNEL, SUBMITTED_BY, STAGE = ("hemistat/source", "hemistat/country", "hemistat/channel",
                                                 "hemistat/submitted_by", "hemistat/stage")
KEYS = (SOURCE, COUNTRY, CHANNEL, SUBMITTED_BY)
ALL = "all"
MULTI = "multi"


def _clean(v) -> str:
    return str(v if v not in (None, "") else "unknown")[:255]


def run_tags(stage: str, *, source: str = ALL, country: str | None = ALL, channel: str = "cli",
             submitted_by: str | None = None) -> dict[str, str]:
    return {SOURCE: _clean(source), COUNTRY: _clean(country or MULTI), CHANNEL: _clean(channel),
            SUBMITTED_BY: _clean(submitted_by or _user()), STAGE: stage}


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in a container without /etc/passwd
        return "unknown"


def submission_tags(settings: Settings, sid: str, stage: str, channel: str | None = None) -> dict[str, str]:
    """The tags of a run for one submission, from its manifest (``channel``: how the run came, default the
    submission's own channel)."""
    from pipelines.storage import submissions as subs

    try:
        man = subs.read_manifest(settings.landing_dir, sid)
    except Exception:  # noqa: BLE001 - an unreadable manifest must not stop the run: its step reports it
        return run_tags(stage, source=sid.split("__")[0], country=None, channel=channel or "unknown",
                        submitted_by="unknown")
    return run_tags(stage, source=man.source_id, country=man.country_iso3, channel=channel or man.channel,
                    submitted_by=man.uploaded_by)


def submissions_tags(settings: Settings, sids: list[str], stage: str, channel: str,
                     submitted_by: str | None = None) -> dict[str, str]:
    """The tags of one run over several submissions (a publication of what was approved): their common
    source, country and sender where they share one, else ``all``."""
    each = [submission_tags(settings, s, stage) for s in sids]
    if not each:
        return run_tags(stage, channel=channel, submitted_by=submitted_by)

    def common(key):
        vals = {t[key] for t in each}
        return vals.pop() if len(vals) == 1 else ALL

    return run_tags(stage, source=common(SOURCE), country=common(COUNTRY), channel=channel,
                    submitted_by=submitted_by or common(SUBMITTED_BY))


def carried(tags: dict, stage: str) -> dict[str, str]:
    """A run started after another (publish after ingest) carries that run's hemistat tags, with its own stage."""
    out = {k: v for k, v in tags.items() if k in KEYS}
    return {**run_tags(stage, channel="sensor"), **out, STAGE: stage}
