"""The harmonised parts kept between publications, under the fingerprint of everything they are computed from.

A publication harmonises every accepted submission, in parts of whole countries (or a large country's whole
years: ``engine._country_parts``). Most publications change one country: a new file, a correction, a
withdrawal. A part whose inputs did not change gives the same tables, so its tables are kept here and used
again instead of being computed again.

**The fingerprint** of a part (sha256) covers, in this order:

1. the engine: every SQL stage (``sql/*.sql``), ``engine.py`` and this module, and the DuckDB version;
2. every table the stages read besides the cells, as the engine registered it for this run: scopes, code
   families, hierarchy pairs, subsets, partial sources, the crosswalks (with each row's number), ICCS and its
   ancestors, breaks, national and subnational population, comparability. A change to any reference table,
   crosswalk or spec changes every part's fingerprint;
3. the part: its countries and years;
4. every validated file the part reads (each file holding a cell of its countries and years): the submission's
   id, source, receipt and release date, and the sha256 of the file's bytes (a file rewritten in place is a
   new input; the same bytes under another path are the same input).

Nothing else reaches a part's stages (``01_src`` reads only those files, filtered to the part's countries and
years; every later stage reads the part's tables and the registered ones), so equal fingerprints give equal
tables. A part is written to a private folder and renamed to its fingerprint only when all its files are
written; a reader never sees half of one. After a run that succeeded, the entries it did not use are removed
(``prune``): the folder holds one run's parts, about the size of the harmonised tables.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

import duckdb
import pandas as pd

#: bump when what a cached part holds changes in a way the engine's source files would not show
CACHE_FORMAT = "1"
META = "part.json"


@lru_cache(maxsize=1)
def engine_digest() -> str:
    """The engine's SQL stages and Python source, this module and the DuckDB version."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256(f"format {CACHE_FORMAT}; duckdb {duckdb.__version__}; pandas {pd.__version__}\n".encode())
    for path in sorted((here / "sql").glob("*.sql")) + [here / "engine.py", here / "part_cache.py"]:
        h.update(f"{path.name}\n".encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def frame_digest(df: pd.DataFrame) -> str:
    """Columns, types and every value of a table, in its row order."""
    h = hashlib.sha256(repr((list(map(str, df.columns)), [str(t) for t in df.dtypes], len(df))).encode())
    try:
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    except TypeError:            # a cell pandas cannot hash (a list): its JSON text
        h.update(df.to_json(orient="split", index=False, date_format="iso").encode())
    return h.hexdigest()


def _file_sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


class PartCache:
    """The parts of earlier runs under ``root`` (one folder per fingerprint, ``part.json`` in each), for a run
    whose registered tables are ``frames`` and whose submissions are ``subs`` (submission_id, source_id,
    received_at, release_date, validated_path)."""

    def __init__(self, root: Path, frames: dict[str, pd.DataFrame], subs: pd.DataFrame):
        from pipelines.settings import private_dir

        self.root = private_dir(Path(root))
        h = hashlib.sha256(engine_digest().encode())
        for name in sorted(frames):
            h.update(f"{name} {frame_digest(frames[name])}\n".encode())
        self.base = h.hexdigest()
        cols = ["submission_id", "source_id", "received_at", "release_date"]
        self._subs = {str(r["validated_path"]): tuple(str(r[c]) for c in cols) for r in subs.to_dict("records")}
        self._sha: dict[str, str] = {}
        self.used: set[str] = set()
        self.reused = 0

    # ---------------------------------------------------------------- fingerprints
    def fingerprint(self, countries: Iterable[str], years: Iterable[int] | None, paths: Iterable[str]) -> str:
        h = hashlib.sha256(self.base.encode())
        h.update(json.dumps({"countries": list(countries), "years": None if years is None else
                             [int(y) for y in years]}).encode())
        files = []
        for p in set(map(str, paths)):
            if p not in self._sha:
                self._sha[p] = _file_sha256(p)
            files.append(json.dumps([*self._subs.get(p, ("?",) * 4), self._sha[p]]))
        for f in sorted(files):      # by content, not by path: the same files in another folder are the same part
            h.update(f.encode())
        return h.hexdigest()

    def entries(self) -> dict[str, dict]:
        """Every complete entry: fingerprint -> its ``part.json``."""
        out = {}
        for d in sorted(self.root.iterdir()) if self.root.is_dir() else []:
            meta = d / META
            if d.is_dir() and not d.name.startswith(".") and meta.is_file():
                try:
                    out[d.name] = json.loads(meta.read_text("utf-8"))
                except (OSError, ValueError):
                    continue        # unreadable: never used, removed by the next prune
        return out

    def valid(self, paths_of: Callable[[tuple, tuple | None], list[str]]) -> list[tuple[tuple, tuple | None]]:
        """The (countries, years) of every entry whose fingerprint under this run's inputs is still its name:
        the parts the run may keep (``engine._country_parts`` decides which it does)."""
        out = []
        for fp, meta in self.entries().items():
            countries = tuple(meta.get("countries") or ())
            years = None if meta.get("years") is None else tuple(int(y) for y in meta["years"])
            if countries and self.fingerprint(countries, years, paths_of(countries, years)) == fp:
                out.append((countries, years))
        return out

    # ---------------------------------------------------------------- entries
    def get(self, fp: str) -> tuple[Path, dict] | None:
        """The folder and ``part.json`` of a complete entry, marked used; None when there is none."""
        d = self.root / fp
        try:
            meta = json.loads((d / META).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        self.used.add(fp)
        self.reused += 1
        return d, meta

    def begin(self) -> Path:
        """A private folder to write a new part's tables into (``commit`` names it)."""
        d = self.root / f".new-{uuid.uuid4().hex[:12]}"
        d.mkdir(parents=True)
        return d

    def commit(self, tmp: Path, fp: str, meta: dict) -> Path:
        """``tmp`` (every table of the part written) becomes the entry ``fp``; returns its folder."""
        (tmp / META).write_text(json.dumps(meta, sort_keys=True), "utf-8")
        final = self.root / fp
        if final.exists():          # the same part already there (equal inputs give equal tables)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.rename(final)
        self.used.add(fp)
        return final

    def prune(self) -> int:
        """After a run that succeeded: remove every entry it did not use, and unfinished folders. Returns how
        many folders were removed."""
        n = 0
        for d in list(self.root.iterdir()) if self.root.is_dir() else []:
            if d.name not in self.used:
                shutil.rmtree(d, ignore_errors=True) if d.is_dir() else d.unlink(missing_ok=True)
                n += 1
        return n

    def discard(self) -> None:
        """After a run that failed: remove its unfinished folders; complete entries stay for the next run."""
        for d in list(self.root.glob(".new-*")):
            shutil.rmtree(d, ignore_errors=True)
