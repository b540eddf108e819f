"""Issue 14 item 14, messages that misled: an encoding error shown only as a warning under a REJECTED verdict, a
duplicate header reported as a missing column, a 300-character file name reported as "characters not allowed"."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def pais(tmp_path_factory) -> bytes:
    from pipelines.samples.synthetic import generate_sample

    sample = generate_sample(tmp_path_factory.mktemp("sample"))
    return next(p for p in sample["ar_snic"] if p.name == "snic-pais.csv").read_bytes()


def test_encoding_error_is_the_blocking_error_not_a_warning(data_env, tmp_path, pais):
    from pipelines.quality.dryrun import dry_run
    from pipelines.quality.report import render_text

    text = pais.decode("utf-8").replace("Homicidios dolosos", "Homicidios dolosos según ley", 1)
    p = tmp_path / "latin1.csv"
    p.write_bytes(text.encode("latin-1"))
    report = dry_run(data_env, p, "ar_snic")
    assert report["verdict"] == "rejected"
    s1 = next(r for r in report["rules"] if r["rule_id"] == "S1")
    assert s1["status"] == "fail" and s1["severity"] == "error", s1
    out = render_text(report, "en")
    assert "[ERROR] S1" in out and "utf-8" in out and "line 2" in out, out


def test_duplicate_header_is_named_as_such(data_env, tmp_path, pais):
    from pipelines.quality.dryrun import dry_run
    from pipelines.quality.report import render_text

    head, _, rest = pais.partition(b"\r\n")
    head = head.replace(b";cantidad_victimas;", b";cantidad_hechos;", 1)
    p = tmp_path / "dup-header.csv"
    p.write_bytes(head + b"\r\n" + rest)
    report = dry_run(data_env, p, "ar_snic")
    assert report["verdict"] == "rejected"
    out = render_text(report, "en")
    assert "repeats column(s) cantidad_hechos" in out and "cantidad_victimas" in out, out
    es = render_text(report, "es")
    assert "repite" in es, es


def test_long_file_name_is_too_long_not_bad_characters():
    from pipelines.service.uploads import UploadRefused, check_file_name

    with pytest.raises(UploadRefused) as e:
        check_file_name("a" * 296 + ".csv")
    assert e.value.key == "err_file_name_too_long" and e.value.params == {"n": 300, "max": 255}
    assert check_file_name("a" * 251 + ".csv")


def test_long_file_name_message_in_every_language():
    from pipelines.i18n import LANGUAGES, load_catalogues
    from pipelines.settings import get_settings

    cats = load_catalogues(get_settings().reference_dir)
    for lang in LANGUAGES:
        msg = cats[lang]["err_file_name_too_long"].format(n=300, max=255)
        assert "300" in msg and "255" in msg, (lang, msg)


# environment faults: one line naming what is wrong and where (pipelines/cli.py) ---------------------------------
DAGSTER_TEXT = '''dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op "published_warehouse":

Stack Trace:
  File "/x/dagster/_core/execution/plan/utils.py", line 57, in op_execution_error_boundary
    yield

The above exception was caused by the following exception:
_duckdb.TransactionException: TransactionContext Error: Failed to commit: Could not write file "/data/.hemistat.duckdb.1.tmp.wal": No space left on device

Stack Trace:
  File "/x/pipelines/storage/release.py", line 10, in build
'''


def test_fault_lines_name_what_and_where():
    import errno

    from pipelines.cli import fault_line
    from pipelines.settings import SettingsError

    assert "no space left" in fault_line(OSError(errno.ENOSPC, "No space left on device", "/d/raw/x.parquet"))
    assert "/d/raw/x.parquet" in fault_line(OSError(errno.ENOSPC, "No space left on device", "/d/raw/x.parquet"))
    assert "read-only" in fault_line(OSError(errno.EROFS, "Read-only file system", "/d/landing"))
    assert fault_line(SettingsError("invalid setting(s): HEMISTAT_MAX_UPLOAD_MB: not a number")).startswith(
        "invalid setting(s): HEMISTAT_MAX_UPLOAD_MB")
    line = fault_line(RuntimeError(DAGSTER_TEXT))
    assert "no space left" in line and "/data/.hemistat.duckdb.1.tmp.wal" in line and "\n" not in line, line
    assert fault_line(ZeroDivisionError("x")) is None
