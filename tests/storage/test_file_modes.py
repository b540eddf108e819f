"""Issue 14 item 8: nothing hemistat writes is readable by another local user. The data folder and its layer
folders are 0700 (also when they existed with 0755), landing originals and manifests 0400 in 0700 folders, the
portal's SQLite database and its WAL/shared-memory files 0600 (also when made 0644 before), and the `hemistat`
command creates everything under a 0077 umask: after a submit, no file or folder of the data folder has a group
or other permission bit."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from pipelines import pipeline
from pipelines.samples.synthetic import _snic
from pipelines.service.db import Database
from pipelines.settings import get_settings
from pipelines.storage import submissions as subs
from tests.conftest import environ


def mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def snic_file(tmp: Path) -> Path:
    p = tmp / "snic-pais.csv"
    p.write_bytes(b"\r\n".join(_snic(20260101)[1].split(b"\r\n")[:63]) + b"\r\n")
    return p


def open_to_others(root: Path) -> list[str]:
    return [f"{p.relative_to(root)} {oct(mode(p))}" for p in [root, *root.rglob("*")]
            if not p.is_symlink() and mode(p) & 0o077]


def test_data_folders_are_0700_even_if_they_existed(tmp_path):
    data = tmp_path / "data"
    (data / "landing").mkdir(parents=True)
    os.chmod(data, 0o755)
    os.chmod(data / "landing", 0o755)
    with environ({"HEMISTAT_DATA_DIR": str(data)}):
        s = get_settings()
        s.ensure_dirs()
    for d in (s.data_dir, s.landing_dir, s.raw_dir, s.validated_dir, s.quarantine_dir, s.harmonised_dir,
              s.published_dir, s.dagster_home, s.store_dir):
        assert mode(d) == 0o700, d


def test_landing_originals_are_0400_in_0700_folders(data_env, tmp_path):
    os.chmod(data_env.landing_dir, 0o755)                 # as made by an older version
    man, _ = pipeline.submit(data_env, snic_file(tmp_path), "ar_snic")
    d = subs.submission_dir(data_env.landing_dir, man.submission_id)
    assert mode(data_env.landing_dir) == 0o700 and mode(d) == 0o700
    assert mode(d / man.stored_name) == 0o400 and mode(d / "manifest.json") == 0o400
    assert mode(d / "status.json") & 0o077 == 0


def test_portal_database_and_wal_are_0600(tmp_path):
    folder = tmp_path / "portal"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    db_file = folder / "portal.sqlite3"
    old = os.umask(0o022)                                  # what the portal ran under before
    try:
        db = Database(f"sqlite:///{db_file}")
        db.audit("test", actor="x")
        with db.engine.connect() as con:                     # a reader keeps the WAL and -shm files open
            con.exec_driver_sql("select count(*) from audit_log").fetchall()
            for p in (db_file, Path(f"{db_file}-wal"), Path(f"{db_file}-shm")):
                assert p.exists() and mode(p) == 0o600, (p, oct(mode(p)))
        db.dispose()
        os.chmod(db_file, 0o644)                           # a database made before the fix is tightened
        Database(f"sqlite:///{db_file}").dispose()
        assert mode(db_file) == 0o600
    finally:
        os.umask(old)


def test_the_portal_folder_is_0700(tmp_path):
    from pipelines.service.config import PortalConfig

    data = tmp_path / "data"
    (data / "portal").mkdir(parents=True)
    os.chmod(data / "portal", 0o755)
    with environ({"HEMISTAT_DATA_DIR": str(data)}):
        cfg = PortalConfig.from_env(get_settings())
    assert mode(cfg.work_dir) == 0o700 and mode(cfg.work_dir / "secret.key") == 0o600


def test_the_cli_creates_nothing_readable_by_others(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "HEMISTAT_DATA_DIR": str(data)}
    r = subprocess.run([str(Path(sys.executable).with_name("hemistat")), "submit", str(snic_file(tmp_path)),
                        "--source", "ar_snic", "--no-publish"], capture_output=True, text=True, env=env,
                       timeout=600, preexec_fn=lambda: os.umask(0o022))
    assert r.returncode == 0, r.stdout + r.stderr
    assert any((data / "landing").iterdir()) and any((data / "raw").iterdir())
    assert open_to_others(data) == []
