"""Which stored submissions are publishable: one place for the pipeline, the quality context and the portal."""

from __future__ import annotations

import pandas as pd

from pipelines.settings import Settings
from pipelines.storage import submissions as subs

PUBLISHABLE = ("validated", "approved", "published", "superseded")


def accepted_submissions(settings: Settings, statuses: tuple[str, ...] = PUBLISHABLE) -> pd.DataFrame:
    rows = []
    for s in subs.list_submissions(settings.landing_dir):
        vp = settings.validated_dir / f"{s['submission_id']}.parquet"
        if s["status"] in statuses and vp.exists():
            if s.get("channel") == "web" and s["status"] == "validated" and statuses == PUBLISHABLE:
                continue  # a web upload is published only once a reviewer has approved it
            rows.append({**s, "validated_path": str(vp)})
    return pd.DataFrame(rows)
