"""One settings object, read from the environment at run time (never at import time).

Environment variables (all optional):

* ``HEMISTAT_DATA_DIR``   – where built data lives (landing, raw, validated, harmonised, published,
  hemistat.duckdb). Default: ``<repo>/warehouse/data``.
* ``HEMISTAT_SHARED_DIR`` – folder with the real national files. Default: ``<repo>/../shared/data/real``.
* ``HEMISTAT_REFERENCE_DIR`` – reference tables. Default: ``<repo>/reference``.
* ``HEMISTAT_RULES_DIR`` – quality rules. Default: ``<repo>/quality_rules``.
* ``HEMISTAT_SAMPLE`` – ``real`` | ``synthetic`` | ``auto`` (default): which inputs ``hemistat run`` uses.
* ``HEMISTAT_DUCKDB_MEMORY`` – the memory each DuckDB connection of the pipeline may use before it spills to
  disk (streaming ingest, quality rules, harmonisation). Default: ``1GB``.
* ``HEMISTAT_MAX_FILE_MB`` – largest file accepted by any channel (CLI, harvest, portal), checked before it is
  stored or parsed. Default: ``200``. (The portal's own upload limit, ``HEMISTAT_MAX_UPLOAD_MB``, also applies.)
* ``HEMISTAT_MAX_COLUMNS`` – most fields in one record of a file. Default: ``2000``.
* ``HEMISTAT_MAX_CELL_CHARS`` – most characters in one cell. Default: ``32767`` (a spreadsheet cell's limit).
* ``HEMISTAT_MAX_CELLS`` – most fields in one delimited file, all records together. Default: ``10000000``.
* ``HEMISTAT_MAX_UNZIPPED_MB`` – most bytes a workbook (zip) may expand to, all members together, counted from
  the zip's central directory and again while decompressing. Default: ``128``.
  (These bound the work one file can cause: ``pipelines/adapters/guards.py``.)
* ``HEMISTAT_HARMONISE_CACHE`` – ``1`` (default): a publication reuses the harmonised parts whose inputs did not
  change (``<data>/cache/harmonise_parts``: ``harmonise/engine.py``); ``0``: every part is harmonised again.

Files are private to the user running hemistat (issue 14 item 8): ``ensure_dirs`` makes the data folder and
its layer folders 0700 (tightening folders made before), and every entry point (the ``hemistat`` command, the
portal, the Dagster code location) calls ``use_private_umask`` so that whatever it creates is 0600/0700.

``Settings`` is a typed (pydantic) model: a bad value fails with the variable's name and the reason
(``SettingsError``, a ValueError), never with a traceback from deep inside a conversion.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

REPO_ROOT = Path(__file__).resolve().parents[1]

# field -> the environment variable it is read from
ENV_VARS = {"data_dir": "HEMISTAT_DATA_DIR", "shared_dir": "HEMISTAT_SHARED_DIR",
            "reference_dir": "HEMISTAT_REFERENCE_DIR", "rules_dir": "HEMISTAT_RULES_DIR", "sample": "HEMISTAT_SAMPLE",
            "duckdb_memory": "HEMISTAT_DUCKDB_MEMORY", "max_file_mb": "HEMISTAT_MAX_FILE_MB",
            "max_columns": "HEMISTAT_MAX_COLUMNS", "max_cell_chars": "HEMISTAT_MAX_CELL_CHARS",
            "max_unzipped_mb": "HEMISTAT_MAX_UNZIPPED_MB", "max_cells": "HEMISTAT_MAX_CELLS",
            "workers": "HEMISTAT_WORKERS", "harmonise_part_cells": "HEMISTAT_HARMONISE_PART_CELLS",
            "duckdb_threads": "HEMISTAT_DUCKDB_THREADS", "harmonise_cache": "HEMISTAT_HARMONISE_CACHE"}
# limits on one file (pipelines/adapters/guards.py): field -> default
FILE_LIMIT_DEFAULTS = {"max_file_mb": 200.0, "max_columns": 2000, "max_cell_chars": 32767, "max_unzipped_mb": 128.0,
                       "max_cells": 10_000_000}


PRIVATE_UMASK = 0o077      # files 0600, folders 0700: unpublished national data, accounts, the warehouse


def use_private_umask() -> int:
    """Make this process create files 0600 and folders 0700 (and its child processes: Dagster, the portal).
    Only tightens: bits the current umask already removes stay removed. Returns the previous umask."""
    old = os.umask(PRIVATE_UMASK)
    os.umask(old | PRIVATE_UMASK)
    return old


def private_dir(path: Path) -> Path:
    """``path`` (and missing parents) as a folder only its owner can enter: 0700, also if it existed."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o777 != 0o700:
        os.chmod(path, 0o700)
    return path


class SettingsError(ValueError):
    """A setting read from the environment is invalid: names the variable and the reason."""


def env_errors(exc: ValidationError, env_vars: dict[str, str]) -> str:
    """``HEMISTAT_X: reason (found 'v')`` for each failing field of a model read from the environment."""
    out = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = f" (found {value!r})" if isinstance(value, (str, int, float)) else ""
        out.append(f"{env_vars.get(field, field)}: {msg}{shown}")
    return "invalid setting(s): " + "; ".join(out)


class Settings(BaseModel):
    """Where hemistat's data, reference tables and rules are (``get_settings`` reads them from the environment)."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(description="built data: landing, raw, validated, harmonised, published, hemistat.duckdb")
    shared_dir: Path = Field(description="folder with the real national files")
    reference_dir: Path = Field(description="reference tables")
    rules_dir: Path = Field(description="quality rules")
    views_dir: Path = Field(description="the warehouse's SQL views")
    sample: Literal["auto", "real", "synthetic"] = Field("auto", description="which inputs `hemistat run` uses")
    duckdb_memory: str = Field("1GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
                               description="memory limit of each DuckDB connection before it spills to disk")
    max_file_mb: float = Field(FILE_LIMIT_DEFAULTS["max_file_mb"], gt=0,
                               description="largest file accepted (MB), before it is stored or parsed")
    max_columns: int = Field(FILE_LIMIT_DEFAULTS["max_columns"], gt=0, description="most fields in one record")
    max_cell_chars: int = Field(FILE_LIMIT_DEFAULTS["max_cell_chars"], gt=0, description="most characters in a cell")
    max_unzipped_mb: float = Field(FILE_LIMIT_DEFAULTS["max_unzipped_mb"], gt=0,
                                   description="most bytes (MB) a workbook may expand to")
    max_cells: int = Field(FILE_LIMIT_DEFAULTS["max_cells"], gt=0, description="most fields in one delimited file")
    workers: int = Field(default_factory=lambda: max(1, min(os.cpu_count() or 1, 8)), ge=1, le=64,
                         description="processes that ingest and validate a batch of submissions side by side "
                                     "(pipeline/parallel.py); one per core by default, at most 8")
    duckdb_threads: int | None = Field(None, ge=1, le=256,
                                       description="threads of each DuckDB connection hemistat opens for its own "
                                                   "work; empty: DuckDB's default, one per core. A batch's worker "
                                                   "process uses its share of the cores (pipeline/parallel.py)")
    harmonise_part_cells: int = Field(1_000_000, ge=1,
                                      description="cells harmonised together: whole countries are cut into parts "
                                                  "of about this many source cells (harmonise/engine.py)")
    harmonise_cache: bool = Field(True, description="reuse the harmonised parts whose inputs (files, reference "
                                                    "tables, specs, engine) did not change since they were built "
                                                    "(<data>/cache/harmonise_parts; harmonise/engine.py)")
    extra: dict = Field(default_factory=dict)

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

    @property
    def harmonise_cache_dir(self) -> Path:
        """Each harmonised part's tables under the fingerprint of its inputs (engine.PartCache)."""
        return self.data_dir / "cache" / "harmonise_parts"

    def ensure_dirs(self) -> None:
        """The data folder and its layer folders, each 0700 (``private_dir``)."""
        for d in (self.data_dir, self.landing_dir, self.raw_dir, self.store_dir, self.validated_dir,
                  self.quarantine_dir, self.harmonised_dir, self.published_dir, self.dagster_home):
            private_dir(d)

    def duckdb_config(self) -> dict:
        """Settings of a DuckDB connection hemistat opens for its own work (rules, contracts, GX): memory bounded by
        ``duckdb_memory``, spilling beyond it to the system's temporary folder. A connection opened without them
        may take 80 % of the machine's memory (DuckDB's default)."""
        import tempfile

        spill = Path(tempfile.gettempdir()) / "hemistat-duckdb"
        spill.mkdir(parents=True, exist_ok=True)
        out = {"memory_limit": self.duckdb_memory, "temp_directory": str(spill)}
        if self.duckdb_threads:
            out["threads"] = self.duckdb_threads
        return out

    def use_real_data(self) -> bool:
        if self.sample == "real":
            return True
        if self.sample == "synthetic":
            return False
        return self.shared_dir.is_dir() and any(self.shared_dir.iterdir())


def get_settings() -> Settings:
    """Read the environment now. Call this inside functions, not at module import."""
    env = os.environ
    defaults = {"data_dir": REPO_ROOT / "warehouse" / "data", "shared_dir": REPO_ROOT.parent / "shared" / "data" / "real",
                "reference_dir": REPO_ROOT / "reference", "rules_dir": REPO_ROOT / "quality_rules"}
    values: dict = {k: Path(env.get(ENV_VARS[k]) or d).resolve() for k, d in defaults.items()}
    values["sample"] = (env.get("HEMISTAT_SAMPLE") or "auto").strip().lower()
    values["duckdb_memory"] = (env.get("HEMISTAT_DUCKDB_MEMORY") or "1GB").strip()
    for field in ("workers", "harmonise_part_cells", "duckdb_threads", "harmonise_cache"):
        if (env.get(ENV_VARS[field]) or "").strip():
            values[field] = env[ENV_VARS[field]].strip()
    for field in FILE_LIMIT_DEFAULTS:       # validated (and a bad value named) by the model
        raw = (env.get(ENV_VARS[field]) or "").strip()
        if raw:
            values[field] = raw
    try:
        return Settings(**values, views_dir=REPO_ROOT / "warehouse" / "views")
    except ValidationError as exc:
        raise SettingsError(env_errors(exc, ENV_VARS)) from None
