"""Settings are typed: a bad environment variable fails with its name and the reason (not a traceback from int())."""

from __future__ import annotations

import os

import pytest

from pipelines.settings import SettingsError, get_settings
from tests.conftest import environ


def test_bad_sample_names_the_variable():
    with environ({"HEMISTAT_SAMPLE": "foo"}):
        with pytest.raises(SettingsError, match=r"HEMISTAT_SAMPLE: Input should be 'auto', 'real' or 'synthetic' "
                                                r"\(found 'foo'\)"):
            get_settings()
    with environ({"HEMISTAT_SAMPLE": "Synthetic"}):
        assert get_settings().sample == "synthetic"


def test_bad_portal_numbers_name_the_variable(tmp_path):
    from pipelines.service.config import PortalConfig

    with environ({"HEMISTAT_DATA_DIR": str(tmp_path), "HEMISTAT_MAX_UPLOAD_MB": "abc",
                  "HEMISTAT_LOGIN_MAX_FAILURES": "0"}):
        with pytest.raises(SettingsError) as ei:
            PortalConfig.from_env(get_settings())
    msg = str(ei.value)
    assert "HEMISTAT_MAX_UPLOAD_MB: Input should be a valid number" in msg and "(found 'abc')" in msg
    assert "HEMISTAT_LOGIN_MAX_FAILURES: Input should be greater than or equal to 1" in msg
    with environ({"HEMISTAT_DATA_DIR": str(tmp_path), "HEMISTAT_MAX_UPLOAD_MB": "2"}):
        cfg = PortalConfig.from_env(get_settings())
    assert cfg.max_upload_bytes == 2 * 1024 * 1024 and cfg.login_max_failures == 5


def test_settings_keep_their_folders(tmp_path):
    with environ({"HEMISTAT_DATA_DIR": str(tmp_path)}):
        s = get_settings()
    assert s.landing_dir == tmp_path.resolve() / "landing" and s.duckdb_path.name == "hemistat.duckdb"
    assert s.model_copy(update={"data_dir": tmp_path / "x"}).raw_dir == tmp_path / "x" / "raw"


def test_duckdb_memory_is_one_setting(monkeypatch):
    """One memory limit for every DuckDB connection of the pipeline, read at run time and checked."""
    import pytest

    from pipelines.settings import SettingsError, get_settings

    monkeypatch.setenv("HEMISTAT_DUCKDB_MEMORY", "512MB")
    assert get_settings().duckdb_memory == "512MB"
    monkeypatch.setenv("HEMISTAT_DUCKDB_MEMORY", "lots")
    with pytest.raises(SettingsError, match="HEMISTAT_DUCKDB_MEMORY"):
        get_settings()


def test_harmonise_part_size_is_read_at_run_time_and_checked(monkeypatch):
    """HEMISTAT_HARMONISE_PART_CELLS: the cells harmonised together (engine.harmonise cuts whole countries into
    parts of about this size); a value that is not a positive whole number is named."""
    import pytest

    from pipelines.settings import SettingsError, get_settings

    monkeypatch.delenv("HEMISTAT_HARMONISE_PART_CELLS", raising=False)
    assert get_settings().harmonise_part_cells == 1_000_000
    monkeypatch.setenv("HEMISTAT_HARMONISE_PART_CELLS", "250000")
    assert get_settings().harmonise_part_cells == 250_000
    for bad in ("0", "lots"):
        monkeypatch.setenv("HEMISTAT_HARMONISE_PART_CELLS", bad)
        with pytest.raises(SettingsError, match="HEMISTAT_HARMONISE_PART_CELLS"):
            get_settings()


def test_duckdb_threads_are_read_at_run_time_checked_and_applied(monkeypatch):
    """HEMISTAT_DUCKDB_THREADS: threads of each DuckDB connection hemistat opens for its own work (unset: DuckDB's
    default); a batch's worker process takes its share of the cores unless the variable says otherwise."""
    from pipelines.pipeline.parallel import _worker_start, worker_threads
    from pipelines.storage import duck

    monkeypatch.delenv("HEMISTAT_DUCKDB_THREADS", raising=False)
    s = get_settings()
    assert s.duckdb_threads is None and "threads" not in s.duckdb_config()
    assert worker_threads(s, 2) == max(1, (os.cpu_count() or 1) // 2) and worker_threads(s, 999) == 1
    monkeypatch.setenv("HEMISTAT_DUCKDB_THREADS", "1")
    s = get_settings()
    assert s.duckdb_config()["threads"] == 1 and worker_threads(s, 2) == 1
    con = duck.cursor()
    try:
        assert con.execute("select current_setting('threads')").fetchall()[0][0] == 1
    finally:
        con.close()
    for bad in ("0", "two"):
        monkeypatch.setenv("HEMISTAT_DUCKDB_THREADS", bad)
        with pytest.raises(SettingsError, match="HEMISTAT_DUCKDB_THREADS"):
            get_settings()
    monkeypatch.delenv("HEMISTAT_DUCKDB_THREADS")
    _worker_start(3)                      # what a worker does first: its connections then use three threads
    assert os.environ.pop("HEMISTAT_DUCKDB_THREADS") == "3"
