from __future__ import annotations

import dagster as dg

from pipelines.settings import Settings, get_settings


class HemistatSettings(dg.ConfigurableResource):
    """Reads hemistat's settings from the environment when a run starts (never at import). A run may name
    the folders instead (run config ``resources.hemistat.config``): the portal does, so that the publish run
    it starts works on exactly its own data folder, reference tables and rules."""

    data_dir: str | None = None
    reference_dir: str | None = None
    rules_dir: str | None = None

    def get(self) -> Settings:
        from pathlib import Path

        s = get_settings()
        given = {k: Path(v).resolve() for k, v in (("data_dir", self.data_dir), ("reference_dir", self.reference_dir),
                                                   ("rules_dir", self.rules_dir)) if v}
        if given:
            s = s.model_copy(update=given)
        s.ensure_dirs()
        return s


def resource_config(settings: Settings) -> dict:
    """Run config that points a run's ``hemistat`` resource at ``settings``' folders."""
    return {"resources": {"hemistat": {"config": {"data_dir": str(settings.data_dir),
                                                   "reference_dir": str(settings.reference_dir),
                                                   "rules_dir": str(settings.rules_dir)}}}}
