"""One settings object, read from the environment at run time (never at import time).

Environment variables (all optional):

* ``HEMISTAT_DATA_DIR``   – where built data lives (landing, raw, validated, harmonised, published,
  hemistat.duckdb). Default: ``<repo>/warehouse/data``.
* ``HEMISTAT_SHARED_DIR`` – folder with the real national files. Default: ``<repo>/../shared/data/real``.
* ``HEMISTAT_REFERENCE_DIR`` – reference tables. Default: ``<repo>/reference``.
* ``HEMISTAT_RULES_DIR`` – quality rules. Default: ``<repo>/quality_rules``.
* ``HEMISTAT_SAMPLE`` – ``real`` | ``synthetic`` | ``auto`` (default): which inputs ``hemistat run`` uses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    shared_dir: Path
    reference_dir: Path
    rules_dir: Path
    views_dir: Path
    sample: str = "auto"
    extra: dict = field(default_factory=dict)

    # layer folders -------------------------------------------------------------------------
    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def store_dir(self) -> Path:
        """Content-addressed, immutable copies of every file received (sha256 name)."""
        return self.data_dir / "store"

    @property
    def validated_dir(self) -> Path:
        return self.data_dir / "validated"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def harmonised_dir(self) -> Path:
        return self.data_dir / "harmonised"

    @property
    def published_dir(self) -> Path:
        return self.data_dir / "published"

    @property
    def duckdb_path(self) -> Path:
        return self.data_dir / "hemistat.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"

    @property
    def sources_dir(self) -> Path:
        return self.reference_dir / "sources"

    @property
    def crosswalks_dir(self) -> Path:
        return self.reference_dir / "crosswalks"

    def ensure_dirs(self) -> None:
        for d in (self.landing_dir, self.raw_dir, self.store_dir, self.validated_dir,
                  self.quarantine_dir, self.harmonised_dir, self.published_dir, self.dagster_home):
            d.mkdir(parents=True, exist_ok=True)

    def use_real_data(self) -> bool:
        if self.sample == "real":
            return True
        if self.sample == "synthetic":
            return False
        return self.shared_dir.is_dir() and any(self.shared_dir.iterdir())


def get_settings() -> Settings:
    """Read the environment now. Call this inside functions, not at module import."""
    env = os.environ
    data_dir = Path(env.get("HEMISTAT_DATA_DIR", REPO_ROOT / "warehouse" / "data")).resolve()
    shared = Path(env.get("HEMISTAT_SHARED_DIR", REPO_ROOT.parent / "shared" / "data" / "real")).resolve()
    reference = Path(env.get("HEMISTAT_REFERENCE_DIR", REPO_ROOT / "reference")).resolve()
    rules = Path(env.get("HEMISTAT_RULES_DIR", REPO_ROOT / "quality_rules")).resolve()
    sample = env.get("HEMISTAT_SAMPLE", "auto").lower()
    if sample not in {"auto", "real", "synthetic"}:
        raise ValueError(f"HEMISTAT_SAMPLE must be auto, real or synthetic, not {sample!r}")
    return Settings(data_dir=data_dir, shared_dir=shared, reference_dir=reference, rules_dir=rules,
                    views_dir=REPO_ROOT / "warehouse" / "views", sample=sample)
