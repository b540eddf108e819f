"""The limits of pipelines/adapters/guards.py (defaults) let every real national file through, and the guard
costs little on them: no real file is refused by the protection of issue 14 items 7 and 10."""

from __future__ import annotations

import time

from pipelines.adapters import guards, load_spec
from pipelines.samples.discovery import real_inputs
from pipelines.settings import get_settings
from tests.conftest import real  # noqa: F401 - the real tier (../shared/data/real)


def test_every_real_file_passes_the_guard_quickly():
    s = get_settings()
    inputs = real_inputs(s)
    assert len(inputs) >= 15
    limits = guards.FileLimits.from_settings(s)
    for source_id, path in inputs:
        t = time.perf_counter()
        guards.check_file(path, path.name, guards.csv_readers(load_spec(source_id, s.reference_dir)), limits)
        assert time.perf_counter() - t < 2.0, (source_id, path.name)
