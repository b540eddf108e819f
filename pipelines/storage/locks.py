"""One pipeline step at a time per data folder.

The portal (threads of one server process), Dagster runs (other processes) and `hemistat` commands may
all act on the same submissions: an exclusive ``flock`` on ``<data>/.pipeline.lock`` serialises the
steps that write submission statuses, layer files and releases. Re-entrant within a thread, so a step
that holds the lock may call another that takes it.
"""

from __future__ import annotations

import fcntl
import threading
from contextlib import contextmanager

from pipelines.settings import Settings

_held = threading.local()


@contextmanager
def pipeline_lock(settings: Settings):
    depth = getattr(_held, "depth", {})
    _held.depth = depth
    key = str(settings.data_dir.resolve())
    if depth.get(key):
        depth[key] += 1
        try:
            yield
        finally:
            depth[key] -= 1
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / ".pipeline.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        depth[key] = 1
        try:
            yield
        finally:
            depth[key] = 0
            fcntl.flock(fh, fcntl.LOCK_UN)
