"""The Network's seeded records: its first virtual forum (``reference/network/first_forum.yaml``), kept with its
source and its verification status."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipelines import yamlio


def first_forum(reference_dir: Path) -> dict:
    path = Path(reference_dir) / "network" / "first_forum.yaml"
    rec = yamlio.load(path.read_text("utf-8"))
    for k in ("slug", "title_en", "title_es", "kind", "window_start", "window_end", "source", "verification"):
        if not rec.get(k):
            raise ValueError(f"{path}: '{k}' is required")
    rec["window_start"] = date.fromisoformat(str(rec["window_start"]))
    rec["window_end"] = date.fromisoformat(str(rec["window_end"]))
    if rec["window_end"] < rec["window_start"]:
        raise ValueError(f"{path}: window_end is before window_start")
    return rec
