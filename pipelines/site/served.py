"""The copy of the site that ``hemistat serve`` shows at ``/data/``: built into the data folder, rebuilt when the
warehouse serves a new release.

``<data>/site/builds/<release_id>-<stamp>/`` holds one build each; ``<data>/site/CURRENT.json`` names the one
being served (written atomically after a build completes). ``SiteKeeper.current()`` returns that folder;
``ensure_fresh()`` starts a rebuild in a background thread (one at a time) when the committed release
(``published/COMMITTED.json``) differs from the built one — at start, and whenever a request sees the warehouse
has moved on (a publication by the portal, the command line or a Dagster sensor: all commit a release the same
way). Readers keep the previous build until the new one is complete; the two newest builds are kept.

The build runs as ``hemistat site`` in a child process at a lower priority (``nice``), so rendering the charts
never holds the portal's interpreter lock or competes with uploads on equal terms; ``stop()`` ends a build still
running when the portal stops. Its output is in ``<data>/site/build.log``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from pipelines.settings import Settings

log = logging.getLogger("hemistat.site")
KEEP_BUILDS = 2
NICE = 10


class SiteKeeper:
    def __init__(self, settings: Settings, langs: tuple[str, ...] | None = None):
        self.settings = settings
        self.langs = langs
        self.root = settings.data_dir / "site"
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen | None = None
        self._stopped = False
        self.last_error: str | None = None
        self.last_build: dict | None = None

    # ---- what is served -----------------------------------------------------------------------------------
    def _pointer(self) -> dict | None:
        try:
            p = json.loads((self.root / "CURRENT.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return p if isinstance(p, dict) and isinstance(p.get("dir"), str) else None

    def current(self) -> Path | None:
        """The folder of the build being served, or None (nothing built yet)."""
        p = self._pointer()
        if not p:
            return None
        d = (self.root / "builds" / p["dir"]).resolve()
        return d if d.is_dir() and d.parent == (self.root / "builds").resolve() else None

    def built_release(self) -> str | None:
        """The release the served build was made for (the committed one when its build started)."""
        p = self._pointer()
        return (p.get("for_release") or p.get("release_id")) if p else None

    def published_release(self) -> str | None:
        from pipelines.storage.release import current_release

        return current_release(self.settings.published_dir)

    def stale(self) -> bool:
        rel = self.published_release()
        return rel is not None and (rel != self.built_release() or self.current() is None)

    @property
    def building(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ---- building -------------------------------------------------------------------------------------------
    def ensure_fresh(self, wait: bool = False) -> None:
        """Start a rebuild if the published release is not the one built (and none is running)."""
        with self._lock:
            if not self._stopped and not self.building and self.stale():
                self._thread = threading.Thread(target=self._build, name="site-build", daemon=True)
                self._thread.start()
            thread = self._thread
        if wait and thread is not None:
            thread.join()

    def _command(self, out: Path) -> tuple[list[str], dict]:
        cmd = [sys.executable, "-m", "pipelines.cli", "site", "--out", str(out), "--quiet"]
        for lang in self.langs or ():
            cmd += ["--lang", lang]
        s = self.settings   # the child reads the same folders as this portal, whatever its own environment says
        env = {**os.environ, "HEMISTAT_DATA_DIR": str(s.data_dir), "HEMISTAT_REFERENCE_DIR": str(s.reference_dir),
               "HEMISTAT_RULES_DIR": str(s.rules_dir), "HEMISTAT_SHARED_DIR": str(s.shared_dir)}
        return cmd, env

    def _build(self) -> None:
        from pipelines.storage.files import atomic_write_json

        release = self.published_release()
        name = f"{release}-{time.strftime('%Y%m%dT%H%M%S')}"
        out = self.root / "builds" / name
        try:
            (self.root / "builds").mkdir(parents=True, exist_ok=True)
            cmd, env = self._command(out)
            with open(self.root / "build.log", "ab") as logf:
                with self._lock:
                    if self._stopped:
                        return
                    self._proc = subprocess.Popen(cmd, env=env, stdout=logf, stderr=subprocess.STDOUT,
                                                  stdin=subprocess.DEVNULL, preexec_fn=lambda: os.nice(NICE))
                rc = self._proc.wait()
            if rc != 0:
                raise RuntimeError(f"hemistat site exited with status {rc} (see {self.root / 'build.log'})")
            rec = json.loads((out / "BUILD.json").read_text("utf-8"))
            atomic_write_json(self.root / "CURRENT.json", {"dir": name, "release_id": rec["release_id"],
                                                           "for_release": release, "built_at": rec["built_at"],
                                                           "seconds": rec["seconds"]})
            self.last_build, self.last_error = rec, None
            log.info("public site of release %s built in %s s", rec["release_id"], rec["seconds"])
            self._prune(keep=name)
        except Exception as exc:  # noqa: BLE001 - the previous build stays served; the error is kept and logged
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("the public site could not be built for release %s", release)

    def stop(self) -> None:
        """End a build still running (the portal is stopping); no new build starts after this."""
        with self._lock:
            self._stopped = True
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _prune(self, keep: str) -> None:
        builds = sorted((p for p in (self.root / "builds").iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        old = [p for p in builds if p.name != keep][:-(KEEP_BUILDS - 1) or None]
        for p in old:
            shutil.rmtree(p, ignore_errors=True)
