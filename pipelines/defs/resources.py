from __future__ import annotations

import dagster as dg

from pipelines.settings import Settings, get_settings


class HemistatSettings(dg.ConfigurableResource):
    """Reads hemistat's settings from the environment when a run starts (never at import)."""

    data_dir: str | None = None

    def get(self) -> Settings:
        s = get_settings()
        if self.data_dir:
            from dataclasses import replace
            from pathlib import Path
            s = replace(s, data_dir=Path(self.data_dir).resolve())
        s.ensure_dirs()
        return s
