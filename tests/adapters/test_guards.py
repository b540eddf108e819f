"""Issue 14 items 7 and 10: bounded work per file, checked before any parser reads it (pipelines/adapters/guards.py).

A 100,000-column CSV is refused in well under a second with the file and the limit named; the duplicate-header
check is linear; a long cell, a file over the size limit, a workbook that expands past its limit (declared or
real: headers that lie), a compression bomb, and workbooks whose XML declares a DTD (billion laughs, XXE) are
refused — at landing (nothing stored) and when a file already stored is ingested (status `rejected` with the
reason, never `received` forever). The limits are settings read at run time."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest

from pipelines import pipeline
from pipelines.adapters import guards, load_spec
from pipelines.adapters.guards import FileLimits, FileRefused, check_file
from pipelines.adapters.tabular import check_header
from pipelines.settings import REPO_ROOT, SettingsError, get_settings
from pipelines.storage import submissions as subs
from tests.conftest import environ

TEMPLATE_XLSX = REPO_ROOT / "reference" / "templates" / "hemistat_template.xlsx"
LIMITS = FileLimits(max_file_bytes=200 << 20, max_columns=2000, max_cell_chars=32767, max_unzipped_bytes=128 << 20)
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10)) + b"]>")
XXE = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/hostname">]>'


def wide_csv(path: Path, columns: int = 100_000) -> Path:
    """The attack of the issue: one header of 100,000 names (and one row), under a megabyte."""
    names = [f"c{i}" for i in range(columns)]
    path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n", "utf-8")
    return path


def workbook(path: Path, replace: dict[str, bytes] | None = None, extra: dict[str, bytes] | None = None,
             prolog: dict[str, bytes] | None = None) -> Path:
    """The member-state template workbook, with members replaced, added, or given another XML prolog."""
    src = zipfile.ZipFile(TEMPLATE_XLSX)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if replace and info.filename in replace:
                data = replace[info.filename]
            if prolog and info.filename in prolog:
                body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
                data = prolog[info.filename] + body
            out.writestr(zipfile.ZipInfo(info.filename, info.date_time), data, zipfile.ZIP_DEFLATED)
        for name, data in (extra or {}).items():
            out.writestr(name, data)
    return path


def refused(path: Path, name: str | None = None, limits: FileLimits = LIMITS, readers=None) -> FileRefused:
    with pytest.raises(FileRefused) as e:
        check_file(path, name or path.name, readers, limits)
    return e.value


def test_a_100000_column_csv_is_refused_in_well_under_a_second(tmp_path):
    p = wide_csv(tmp_path / "wide.csv")
    t = time.perf_counter()
    exc = refused(p)
    took = time.perf_counter() - t
    assert took < 1.0, took
    msg = str(exc)
    assert "wide.csv" in msg and "100,000 fields" in msg and "2,000 columns" in msg and "HEMISTAT_MAX_COLUMNS" in msg
    assert exc.problems[0].line == 1 and exc.problems[0].rule == "S1"
    assert isinstance(exc, ValueError)          # the CLI prints it as an error
    # in every language of the problem catalogue
    assert "se rechaza wide.csv" in exc.problems[0].render("es")


def test_the_duplicate_header_check_is_linear():
    """50,000 names: header.count(h) per name took minutes; a Counter takes milliseconds."""
    header = [f"c{i % 25_000}" for i in range(50_000)]
    t = time.perf_counter()
    with pytest.raises(Exception) as e:
        check_header(header, 1, {"values": {"column": "c1"}}, "dup.csv")
    assert time.perf_counter() - t < 1.0
    assert e.value.problems[0].key == "duplicate_columns"


def test_columns_counted_with_quotes_and_the_spec_delimiter(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text('a;b\n' + ";".join(f'"x;{i}"' for i in range(3000)) + "\n", "utf-8")
    assert "3,000 fields" in str(refused(p, readers=[{"delimiter": ";"}]))       # the csv module's count
    assert check_file(p, "q.csv", [{"delimiter": ","}], LIMITS) == "text"          # with ',' it is 2 fields
    ok = tmp_path / "ok.csv"
    ok.write_text("a,b\n" + "\n".join(f"{i},2" for i in range(1000)) + "\n", "utf-8")
    assert check_file(ok, "ok.csv", None, LIMITS) == "text"


def test_a_long_cell_is_refused(tmp_path):
    p = tmp_path / "long.csv"
    p.write_text("a,b\n1," + "x" * 40_000 + "\n", "utf-8")
    exc = refused(p)
    assert "long.csv" in str(exc) and "32,767 characters" in str(exc) and exc.problems[0].line == 2
    q = tmp_path / "longq.csv"
    q.write_text('a,b\n1,"' + "x,\n" * 20_000 + '"\n', "utf-8")       # quoted, over many physical lines
    assert "characters" in str(refused(q))
    huge = tmp_path / "huge.csv"                                        # past the csv module's own field limit
    huge.write_text('a,b\n1,"' + "y" * 200_000 + '"\n', "utf-8")
    assert "characters" in str(refused(huge))


def test_size_limit_before_anything_is_read(tmp_path):
    p = tmp_path / "big.csv"
    with open(p, "wb") as fh:                     # a sparse 1 GiB file: refused from its size alone
        fh.truncate(1 << 30)
    t = time.perf_counter()
    exc = refused(p)
    assert time.perf_counter() - t < 0.5
    assert "1,024 MB" in str(exc) and "200 MB" in str(exc) and "HEMISTAT_MAX_FILE_MB" in str(exc)


def test_workbook_expansion_limits(tmp_path):
    assert check_file(TEMPLATE_XLSX, "template.xlsx", None, LIMITS) == "zip"
    small = FileLimits(LIMITS.max_file_bytes, 2000, 32767, max_unzipped_bytes=1 << 20)
    # declared sizes over the limit (central directory only)
    p = workbook(tmp_path / "big.xlsx", extra={"xl/media/a.bin": bytes(range(256)) * 8192})
    assert "expands to 2 MB" in str(refused(p, limits=small))
    # a compression bomb: 300 MB of zeros in a few hundred kB
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (300 << 20))
    assert bomb.stat().st_size < 1 << 20
    t = time.perf_counter()
    exc = refused(bomb)
    assert time.perf_counter() - t < 1.0
    assert "300 MB" in str(exc) and "128 MB" in str(exc)
    # headers that lie: the directory says 1 kB, the member expands to 3 MB: counted while decompressing
    liar = workbook(tmp_path / "liar.xlsx", extra={"xl/media/big.bin": b"A" * (3 << 20)})
    raw = liar.read_bytes()
    size = (3 << 20).to_bytes(4, "little")
    liar.write_bytes(raw.replace(size, (1024).to_bytes(4, "little")))
    exc = refused(liar, limits=small)
    assert exc.problems[0].key in ("zip_too_large", "zip_unreadable")
    # too many parts
    many = workbook(tmp_path / "many.xlsx", extra={f"xl/x/{i}.xml": b"<a/>" for i in range(2100)})
    assert "2,1" in str(refused(many))


@pytest.mark.parametrize("member,prolog", [("xl/worksheets/sheet1.xml", LAUGHS), ("xl/workbook.xml", XXE),
                                           ("[Content_Types].xml", b"<!DOCTYPE Types>"),
                                           ("xl/_rels/workbook.xml.rels", XXE)])
def test_workbooks_with_a_dtd_are_refused(tmp_path, member, prolog):
    p = workbook(tmp_path / "dtd.xlsx", prolog={member: prolog})
    exc = refused(p)
    assert exc.problems[0].key == "xml_dtd_refused" and member in str(exc) and "dtd.xlsx" in str(exc)


def test_limits_are_settings_read_at_run_time(tmp_path):
    with environ({"HEMISTAT_MAX_COLUMNS": "10", "HEMISTAT_MAX_FILE_MB": "0.001"}):
        lim = FileLimits.from_settings()
        assert lim.max_columns == 10 and lim.max_file_bytes == 1048
    assert FileLimits.from_settings().max_columns == 2000
    with environ({"HEMISTAT_MAX_UNZIPPED_MB": "lots"}):
        with pytest.raises(SettingsError, match="HEMISTAT_MAX_UNZIPPED_MB"):
            get_settings()


# where the guard runs: at landing (nothing stored) and at reading (a stored file is rejected, not stuck) ----------
def test_landing_refuses_before_storing(data_env, tmp_path):
    for p, source in ((wide_csv(tmp_path / "wide.csv"), "ar_snic"),
                      (workbook(tmp_path / "laughs.xlsx", prolog={"xl/worksheets/sheet1.xml": LAUGHS}),
                       "iccs_template")):
        with pytest.raises(FileRefused) as e:
            pipeline.submit(data_env, p, source)
        assert p.name in str(e.value)
    assert subs.list_submission_ids(data_env.landing_dir) == []
    assert not any(data_env.landing_dir.iterdir())


def test_a_stored_hostile_file_is_rejected_at_ingest_not_stuck(data_env, tmp_path):
    """A file landed before the guard existed (or with laxer limits) is refused when it is read: the
    submission is `rejected` with the reason, never left `received`."""
    p = workbook(tmp_path / "xxe.xlsx", prolog={"xl/workbook.xml": XXE})
    man, _ = subs.land_file(data_env.landing_dir, p, source_id="iccs_template")     # bypasses the landing guard
    with pytest.raises(Exception):
        pipeline.ingest(data_env, man.submission_id)
    st = subs.read_status(data_env.landing_dir, man.submission_id)
    assert st["status"] == "rejected", st
    assert "xxe.xlsx" in st["events"][-1]["detail"] or "DTD" in str(st)

    with environ({"HEMISTAT_MAX_COLUMNS": "50"}):
        w = wide_csv(tmp_path / "w.csv", columns=60)
        man2, _ = subs.land_file(data_env.landing_dir, w, source_id="ar_snic")
        with pytest.raises(Exception):
            pipeline.ingest(data_env, man2.submission_id)
        assert subs.read_status(data_env.landing_dir, man2.submission_id)["status"] == "rejected"


def test_csv_readers_come_from_the_spec():
    readers = guards.csv_readers(load_spec("ar_snic", get_settings().reference_dir))
    assert {r["delimiter"] for r in readers} == {",", ";"}
    assert guards.csv_readers(load_spec("iccs_template", get_settings().reference_dir))


def test_too_many_cells_in_all_are_refused(tmp_path):
    """What reading a delimited file costs is about proportional to its fields: bounded as a whole."""
    p = tmp_path / "many.csv"
    p.write_text("a,b,c,d\n" + "1,2,3,4\n" * 3000, "utf-8")
    lim = FileLimits(LIMITS.max_file_bytes, 2000, 32767, LIMITS.max_unzipped_bytes, max_cells=10_000)
    exc = refused(p, limits=lim)
    assert "many.csv" in str(exc) and "10,000 fields" in str(exc) and "HEMISTAT_MAX_CELLS" in str(exc)
    assert exc.problems[0].line == 2501          # header (4) + 2,499 records = 10,000 fields: the next passes
    assert check_file(p, "many.csv", None, LIMITS) == "text"
    with environ({"HEMISTAT_MAX_CELLS": "5"}):
        assert FileLimits.from_settings().max_cells == 5


def test_each_file_version_is_scanned_once_and_refusals_are_never_remembered(tmp_path, monkeypatch):
    calls = []
    real_scan = guards.check_delimited
    monkeypatch.setattr(guards, "check_delimited", lambda p, *a: calls.append(Path(p).name) or real_scan(p, *a))
    ok = tmp_path / "ok.csv"
    ok.write_text("a,b\n" + "\n".join(f"{i},2" for i in range(100)) + "\n", "utf-8")
    copy = tmp_path / "landed_copy.csv"          # the stored copy of the same bytes (landing, then ingest)
    copy.write_bytes(ok.read_bytes())
    for p in (ok, ok, copy):
        assert check_file(p, p.name, None, LIMITS) == "text"
    assert calls == ["ok.csv"]
    ok.write_text(ok.read_text("utf-8") + "7,8\n", "utf-8")   # new bytes: judged again
    check_file(ok, "ok.csv", None, LIMITS)
    assert calls == ["ok.csv", "ok.csv"]
    wide = wide_csv(tmp_path / "wide.csv", 5000)
    for _ in range(2):                                           # a refusal is judged (and raised) each time
        refused(wide)
    assert calls.count("wide.csv") == 2


def test_only_readers_that_could_read_the_file_are_scanned(tmp_path, monkeypatch):
    seen = []
    real_scan = guards.check_delimited
    monkeypatch.setattr(guards, "check_delimited", lambda p, f, r, lim: seen.append(r["delimiter"]) or real_scan(p, f, r, lim))
    readers = [{"delimiter": ","}, {"delimiter": ";"}]
    comma = tmp_path / "comma.csv"
    comma.write_text("a,b\n1,2\n", "utf-8")
    check_file(comma, comma.name, readers, LIMITS)
    assert seen == [","]           # ';' is not in the header: that reader never parses past it
    # a hostile body under the delimiter of the header is still refused, whatever other readers the spec has
    semi = tmp_path / "semi.csv"
    semi.write_text("a;b\n" + ";" * 5000 + "\n", "utf-8")
    assert "HEMISTAT_MAX_COLUMNS" in str(refused(semi, readers=readers))
    # a reader's header after its preamble lines (skip_rows) is where its delimiter is looked for
    seen.clear()
    pre = tmp_path / "preamble.csv"
    pre.write_text("Title of the report\nSecond title line\na;b\n" + ";" * 5000 + "\n", "utf-8")
    assert "HEMISTAT_MAX_COLUMNS" in str(refused(pre, readers=[{"delimiter": ","}, {"delimiter": ";", "skip_rows": 2}]))
    assert ";" in seen


# --- the quote-free fast path judges exactly as the record-by-record scan ------------------------------------
def _verdict(path: Path, limits: FileLimits, reader: dict | None = None):
    try:
        guards.check_delimited(path, path.name, reader or {}, limits)
        return None
    except FileRefused as exc:
        p = exc.problems[0]
        return (p.key, p.line)


@pytest.mark.parametrize("seed", range(60))
def test_fast_path_gives_the_verdict_of_the_exact_scan(tmp_path, monkeypatch, seed):
    """Random small files (CRLF, LF, lone CR, blank lines, a quote in some, long cells, wide rows) under tight
    limits: with the fast path and with the record-by-record scan alone, the same verdict (pass, or the
    same problem on the same line)."""
    import random

    rnd = random.Random(seed)
    rows = []
    for _ in range(rnd.randint(1, 60)):
        n = rnd.choice([1, 3, 5, 6, 7, 12])
        rows.append(",".join("x" * rnd.choice([0, 1, 4, 9, 30]) for _ in range(n)))
        if rnd.random() < 0.1:
            rows.append("")
    if rnd.random() < 0.3:
        rows[rnd.randrange(len(rows))] += ',"q"'                         # a quoted field: one record a line
    if rnd.random() < 0.3:
        rows[rnd.randrange(len(rows))] += ',"a,b' + rnd.choice(["\n", "\r\n"]) + 'c,d"'   # a field over two lines
    if rnd.random() < 0.2:
        rows[rnd.randrange(len(rows))] += ',x"y'                         # a stray quote
    text = "".join(r + rnd.choice(["\r\n", "\n", "\r"]) for r in rows)
    if rnd.random() < 0.5:
        text = text.rstrip("\r\n")
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode("utf-8"))
    limits = FileLimits(max_file_bytes=1 << 20, max_columns=rnd.choice([6, 8, 13, 2000]),
                        max_cell_chars=rnd.choice([12, 40, 200, 32767]), max_unzipped_bytes=1 << 20,
                        max_cells=rnd.choice([50, 400, 10_000, 10_000_000]))
    fast = _verdict(path, limits)
    monkeypatch.setattr(guards, "_within_limits_by_lines", lambda *a, **k: False)
    assert fast == _verdict(path, limits)


def test_a_file_of_one_record_a_line_within_the_limits_is_not_parsed_record_by_record(tmp_path, monkeypatch):
    path = tmp_path / "f.csv"
    path.write_bytes(("a;b;c\r\n" + '1;"2;x";3\r\n' * 5000).encode("cp1252"))
    monkeypatch.setattr(guards.csv, "reader", lambda *a, **k: pytest.fail("parsed record by record"))
    guards.check_delimited(path, "f.csv", {"delimiter": ";", "encoding": "cp1252"}, LIMITS)
    # a chunk boundary inside a line, and inside a CRLF, changes nothing
    monkeypatch.setattr(guards, "_FAST_CHUNK", 7)
    assert guards._within_limits_by_lines(path, ";", '"', "cp1252", LIMITS)
    # the bounds are conservative: a quoted delimiter counts as a field (4 a line here, 3 in truth)
    tight = FileLimits(max_file_bytes=1 << 20, max_columns=4, max_cell_chars=32767, max_unzipped_bytes=1 << 20,
                       max_cells=3 + 4 * 5000)
    assert guards._within_limits_by_lines(path, ";", '"', "cp1252", tight)
    assert not guards._within_limits_by_lines(path, ";", '"', "cp1252", FileLimits(
        max_file_bytes=1 << 20, max_columns=4, max_cell_chars=32767, max_unzipped_bytes=1 << 20,
        max_cells=3 + 4 * 5000 - 1))
    # a quoted field over two lines: the lines are not records, the exact scan decides
    spans = tmp_path / "g.csv"
    spans.write_bytes(b'a;b\r\n1;"x\r\ny"\r\n')
    assert not guards._within_limits_by_lines(spans, ";", '"', "cp1252", LIMITS)
