"""The delimited-text family's streaming path: landing -> ``raw/<sid>.parquet`` in DuckDB, in bounded memory.

Same table as ``tabular.adapt_tabular`` (columns, types, values, lines, column names, row set; the row *order*
is DuckDB's, not file order — keeping it costs the whole table in memory), for the layouts it can do
(``unsupported`` says why not otherwise), and the same problems. Steps:

1. ``transcode``: the file is decoded in chunks with Python's codecs (so cp1252 is cp1252, not latin-1) and
   written as UTF-8 to a scratch file, each data line prefixed with its physical line number and blank lines
   left out (the csv module skips them too). An undecodable byte is reported as ``_decode`` does (S2, line,
   value). Lines are exact only when every record is one physical line: a line with an odd number of quote
   characters (a quoted field spanning lines, or a stray quote), a lone carriage return, a NUL or a field too
   long for the csv module sends the file back to the Python path (``Fallback``).
2. DuckDB reads the scratch file (``all_varchar``, explicit delimiter/quote/escape, no sniffing, strict field
   count: a short or long row -> ``Fallback``, and the Python path reports it) into a table in a scratch
   database (spills to disk), with each role's text computed as ``_role_series`` does (Python's ``str.strip``
   whitespace set, joins, ``empty_as_null``, ``zero_pad``; maps applied in the final query).
3. Checks in SQL, each raising the same problems as the Python path: unknown mapped codes (C3), years (the
   distinct year texts parsed by pandas itself), numbers (plain decimals cast in SQL, every other distinct
   text parsed by ``parse_numbers`` itself: V1 not a number / negative).
4. ``UNPIVOT`` of the value columns and ``COPY … TO`` Parquet (zstd), with the pandas schema metadata the
   DataFrame path writes (so ``pd.read_parquet`` gives the same dtypes, ``month`` as ``Int64``).
"""

from __future__ import annotations

import codecs
import csv
import itertools
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from pipelines.settings import get_settings
from pipelines.adapters.errors import Problem, SubmissionError
from pipelines.adapters.tabular import (DEFAULTS, MAX_PROBLEMS, ROLE_COLUMNS, _spec_columns, check_header,
                                        format_mismatch, number_format_problem, parse_numbers)
from pipelines.contracts.tables import RAW_COLUMNS

#: files at least this large take the streaming path when their layout allows it (``adapt_to_parquet(stream=None)``);
#: ``HEMISTAT_STREAM_MIN_BYTES`` overrides it at run time (0: every delimited file whose layout allows it)
STREAM_MIN_BYTES = 8 * 1024 * 1024


def stream_min_bytes() -> int:
    v = os.environ.get("HEMISTAT_STREAM_MIN_BYTES")
    return STREAM_MIN_BYTES if v in (None, "") else int(v)
CHUNK_BYTES = 8 * 1024 * 1024
CSV_FIELD_LIMIT = 131072  # csv.field_size_limit() default: a longer field is a csv.Error in the Python path
# exactly the characters Python's str.strip() removes (pandas .str.strip() is str.strip)
# every c with c.isspace() (a test checks it)
WHITESPACE = ("\x09\x0a\x0b\x0c\x0d\x1c\x1d\x1e\x1f\x20\x85\xa0\u1680"
              "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_ROLE_KEYS = {"column", "const", "join", "sep", "strip", "empty_as_null", "zero_pad", "map", "default"}
_PLAIN_NUMBER = r"[0-9]+(\.[0-9]*)?|\.[0-9]+"  # at most 15 digits: cast in SQL, exactly as pandas parses it


class Fallback(Exception):
    """This file cannot take the streaming path exactly; the Python path reads it (reason in ``args[0]``)."""


def unsupported(layout: dict) -> str | None:
    """Why ``layout`` cannot take the streaming path (None when it can)."""
    if layout.get("family", "tabular") != "tabular":
        return f"family {layout.get('family')}"
    reader = layout.get("reader", {})
    if reader.get("format", "csv") != "csv":
        return f"format {reader.get('format')}"
    for k, dflt in (("delimiter", ","), ("quotechar", '"')):
        if not isinstance(reader.get(k, dflt), str) or len(reader.get(k, dflt)) != 1:
            return f"{k} is not one character"
    for k in ("decimal", "thousands"):
        if k in reader and not isinstance(reader[k], str):
            return f"{k} is not text"
    try:
        codecs.lookup(reader.get("encoding", "utf-8"))
    except LookupError:
        return "unknown encoding"
    values = layout["values"]
    if values.get("count_records"):
        return "count_records"
    cols = layout.get("columns") or {}
    for role, spec in cols.items():
        if isinstance(spec, str):
            continue
        if set(spec) - _ROLE_KEYS:
            return f"role {role}: {', '.join(sorted(set(spec) - _ROLE_KEYS))}"
        if "const" in spec and not isinstance(spec["const"], (str, int)):
            return f"role {role}: const is not text"
        if "default" in spec and spec["default"] is not None and not isinstance(spec["default"], str):
            return f"role {role}: default is not text"
    if "year" in cols and not _spec_columns(cols["year"]) and "const" not in cols["year"]:
        return "year role without a column"
    if "year" not in cols and "year_columns" not in values:
        return "no year role"
    for k, v in (values.get("defaults") or {}).items():
        if not isinstance(v, str):
            return f"default {k} is not text"
    for col, dims in (values.get("columns") or {}).items():
        for k, v in (dims or {}).items():
            if k == "optional":
                continue
            if k == "month" and isinstance(v, int) and not isinstance(v, bool):
                continue
            if k not in ROLE_COLUMNS or k in ("year", "month") or not (v is None or isinstance(v, str)):
                return f"value column {col}: {k}"
    for rule in layout.get("drop_rows", []):
        if "matches" in rule:
            return "drop_rows matches (a Python regular expression)"
    return None


# --------------------------------------------------------------------------------------------- transcode
def _newlines_before(path: Path, pos: int) -> int:
    n = 0
    with open(path, "rb") as fh:
        while pos > 0:
            b = fh.read(min(pos, CHUNK_BYTES))
            if not b:
                break
            n += b.count(b"\n")
            pos -= len(b)
    return n


def iter_text(path: Path, encoding: str, file_name: str, chunk_bytes: int = CHUNK_BYTES):
    """Decoded text of the file in chunks (leading BOM removed as ``read_records`` does); raises the S2
    problem ``_decode`` raises for the first undecodable byte (same line and value: ``_decode`` works on
    ``bytes.decode``'s offset, which for utf-8-sig counts from after the BOM)."""
    dec = codecs.getincrementaldecoder(encoding)("strict")
    sig = codecs.lookup(encoding).name == "utf-8-sig"
    with open(path, "rb") as fh:
        bom = sig and fh.read(3) == codecs.BOM_UTF8
    offset = 0
    first = True
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(chunk_bytes)
            final = not chunk
            pending = dec.getstate()[0]
            try:
                text = dec.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                if sig and bom and first:
                    true = offset + 3 + exc.start
                else:
                    true = offset - len(pending) + exc.start
                pos = true - (3 if bom else 0)  # the offset ``data.decode`` reports
                with open(path, "rb") as f2:
                    f2.seek(pos)
                    value = f2.read(8)
                raise SubmissionError([Problem(file_name, _newlines_before(path, pos) + 1, None, "S2",
                                               value=repr(value), key="not_valid_encoding",
                                               params={"encoding": encoding})]) from exc
            if first and text:
                if text.startswith("\ufeff"):
                    text = text[1:]
                first = False
            if text:
                yield text
            if final:
                return
            offset += len(chunk)


def read_header(path: Path, reader: dict, file_name: str) -> tuple[list[str], int]:
    """(header, header_line) as ``read_records`` gives them, for ``choose_layout``: the whole file is decoded
    (a layout whose encoding does not fit the file is rejected as before) but not parsed. Fallback when the
    csv module could read it otherwise: lines up to the header not one record each, a NUL, a long line."""
    skip = int(reader.get("skip_rows", 0))
    quote = reader.get("quotechar", '"')
    buf, header = "", None
    for text in iter_text(path, reader.get("encoding", "utf-8"), file_name):
        if "\x00" in text:
            raise Fallback("NUL character")
        if len(text) > CSV_FIELD_LIMIT and max(map(len, text.split("\n"))) > CSV_FIELD_LIMIT:
            raise Fallback("a line longer than the csv module's field limit")
        if header is None:
            buf += text
            if buf.count("\n") > skip:
                header = _parse_header(buf.split("\n"), skip, quote, reader, file_name)
                buf = ""
    if header is None:
        header = _parse_header(buf.split("\n"), skip, quote, reader, file_name)
    return header


def _parse_header(lines: list[str], skip: int, quote: str, reader: dict, file_name: str):
    if lines and lines[-1] == "":
        lines = lines[:-1]
    for i, ln in enumerate(lines[: skip + 1]):
        ln = ln[:-1] if ln.endswith("\r") else ln
        if ln.count(quote) % 2 or "\r" in ln or len(ln) > CSV_FIELD_LIMIT:
            raise Fallback(f"line {i + 1} is not one record")
    if len(lines) <= skip:
        raise SubmissionError([Problem(file_name, skip + 1, None, "S1", key="no_header")])
    ln = lines[skip][:-1] if lines[skip].endswith("\r") else lines[skip]
    fields = next(csv.reader([ln], delimiter=reader.get("delimiter", ","), quotechar=quote), [])
    return [h.strip() for h in fields], skip + 1


def transcode(path: Path, reader: dict, file_name: str, dest: Path) -> tuple[list[str], int]:
    """Write the data records of ``path`` to ``dest`` as UTF-8, one line each, prefixed by the physical line
    number and the delimiter; return (header, header_line). Raises Fallback when lines would not be exact."""
    skip = int(reader.get("skip_rows", 0))
    delim = reader.get("delimiter", ",")
    quote = reader.get("quotechar", '"')
    header, header_line = None, 0
    lineno = 0  # physical lines consumed so far
    carry = ""
    with open(dest, "w", encoding="utf-8", newline="") as out:
        def emit(block: str, last: bool) -> str:
            nonlocal header, header_line, lineno
            if not last:
                cut = block.rfind("\n")
                if cut < 0:
                    return block
                block, rest = block[: cut + 1], block[cut + 1:]
            else:
                rest = ""
            if "\r" in block:
                block = block.replace("\r\n", "\n")
                if "\r" in block:
                    raise Fallback("carriage return inside a line")
            if "\x00" in block:
                raise Fallback("NUL character")
            lines = block.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            if quote in block and any(ln.count(quote) % 2 for ln in lines if quote in ln):
                raise Fallback("a quoted field spans lines (or an unbalanced quote)")
            if lines and max(map(len, lines)) > CSV_FIELD_LIMIT:
                raise Fallback("line longer than the csv module's field limit")
            start = lineno + 1
            lineno += len(lines)
            if header is None:
                if lineno <= skip:
                    return rest
                i = skip - (start - 1)
                header = [h.strip() for h in next(csv.reader([lines[i]], delimiter=delim, quotechar=quote), [])]
                header_line = skip + 1
                lines = lines[i + 1:]
                start = skip + 2
            out.write("".join(f"{n}{delim}{ln}\n" for n, ln in zip(itertools.count(start), lines) if ln.strip()))
            return rest

        for text in iter_text(path, reader.get("encoding", "utf-8"), file_name):
            carry = emit(carry + text, False)
        if carry or header is None:
            emit(carry, True)
    if header is None:
        raise SubmissionError([Problem(file_name, skip + 1, None, "S1", key="no_header")])
    return header, header_line


# --------------------------------------------------------------------------------------------- SQL helpers
def _lit(v) -> str:
    if v is None:
        return "NULL"
    return "'" + str(v).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_WS_CLASS = "[" + "".join("\\x{%x}" % ord(c) for c in WHITESPACE) + "]"  # RE2 class of str.isspace()


def _strip(expr: str) -> str:
    """SQL of Python's ``str.strip()`` (DuckDB's ``trim(s, chars)`` is ~10x slower than this regex)."""
    return f"regexp_replace({expr}, {_lit('^' + _WS_CLASS + '+|' + _WS_CLASS + '+$')}, '', 'g')"


def _blank(expr: str) -> str:
    """SQL of ``not s.strip()``."""
    return f"regexp_full_match({expr}, {_lit(_WS_CLASS + '*')})"


def _role_expr(spec, colref) -> tuple[str, dict | None]:
    """SQL of one role's text before its map (as ``_role_series``), and the map spec (or None)."""
    if isinstance(spec, str):
        spec = {"column": spec}
    if "const" in spec:
        return _lit(str(spec["const"])), None
    if "join" in spec:
        sep = _lit(spec.get("sep", "|"))
        s = f" || {sep} || ".join(_strip(colref(c)) for c in spec["join"])
    else:
        s = colref(spec["column"])
        if spec.get("strip", True):
            s = _strip(s)
    return s, spec


def _post_expr(s: str, role: str, spec: dict | None) -> str:
    if spec is None:
        return s
    if spec.get("empty_as_null", role in ("subdivision_code", "subdivision_name", "obs_note", "source_note")):
        s = f"nullif({s}, '')"
    if spec.get("zero_pad"):
        n = int(spec["zero_pad"])
        s = (f"(CASE WHEN regexp_full_match({s}, '\\p{{Nd}}+') AND length({s}) < {n} "
             f"THEN lpad({s}, {n}, '0') ELSE {s} END)")
    return s


def _map_expr(src: str, spec: dict | None) -> str:
    if spec is None or "map" not in spec:
        return src
    mapping = {str(k): (None if v is None else str(v)) for k, v in spec["map"].items()}
    whens = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in mapping.items())
    default = _lit(spec["default"]) if "default" in spec else "NULL"
    return f"(CASE {src} {whens} ELSE {default} END)"


def _pd_str(v) -> str:
    """``str()`` of a role's cell as the Python path prints it: a missing text is NaN in a pandas str column."""
    return "nan" if v is None else str(v)


def _pandas_metadata() -> bytes:
    import pyarrow as pa

    df = pd.DataFrame({c: pd.Series([], dtype="str") for c in RAW_COLUMNS})
    for c in ("line", "year"):
        df[c] = pd.Series([], dtype="int64")
    df["month"] = pd.Series([], dtype="Int64")
    df["value"] = pd.Series([], dtype="float64")
    return pa.Table.from_pandas(df, preserve_index=False).schema.metadata[b"pandas"]


# --------------------------------------------------------------------------------------------- the adapter
def adapt_stream(path: Path, layout: dict, out_path: Path, *, source_id: str, submission_id: str,
                 file_name: str, allowed_countries: set[str] | None = None,
                 memory_limit: str | None = None) -> tuple[int, dict]:
    """Write the standard long table of ``path`` to ``out_path`` (Parquet, atomically). Returns (rows, stats).
    Raises SubmissionError with the Python path's problems, or Fallback."""
    import duckdb

    reader = layout.get("reader", {})
    values = layout["values"]
    roles_spec = layout.get("columns") or {}
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".stream-", dir=out_path.parent))
    timings: dict[str, float] = {}
    try:
        data = work / "data.csv"
        t0 = time.perf_counter()
        header, header_line = transcode(path, reader, file_name, data)
        timings["transcode"] = round(time.perf_counter() - t0, 3)
        check_header(header, header_line, layout, file_name)
        pos = {h: i for i, h in enumerate(header)}

        def colref(name: str) -> str:
            return f"c{pos[name]}"

        con = duckdb.connect(str(work / "work.duckdb"))
        try:
            con.execute(f"SET memory_limit = {_lit(memory_limit or get_settings().duckdb_memory)}")
            con.execute(f"SET temp_directory = {_lit(str(work / 'spill'))}")
            # keeping file order makes DuckDB buffer the whole output before COPY (3.6 GB RSS at 5M rows
            # instead of 0.4 GB, and 2.5x the time): the row *set* is the table, its order is not
            con.execute("SET preserve_insertion_order = false")
            con.execute("SET enable_progress_bar = false")
            rows, stats = _run(con, data, header, header_line, pos, colref, layout, reader, values, roles_spec,
                        out_path, work, source_id=source_id, submission_id=submission_id, file_name=file_name,
                        allowed_countries=allowed_countries, timings=timings)
            stats["stream_seconds"] = timings
            return rows, stats
        finally:
            con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(con, data, header, header_line, pos, colref, layout, reader, values, roles_spec, out_path, work, *,
         source_id, submission_id, file_name, allowed_countries, timings):
    import duckdb

    t0 = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t0
        timings[name] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()

    width = len(header)
    quote = reader.get("quotechar", '"')
    cols = {"__line": "BIGINT", **{f"c{i}": "VARCHAR" for i in range(width)}}
    csv_opts = (f"header=false, auto_detect=false, delim={_lit(reader.get('delimiter', ','))}, "
                f"quote={_lit(quote)}, escape={_lit(quote)}, strict_mode=true, null_padding=false, "
                f"ignore_errors=false, columns={{{', '.join(f'{_lit(k)}: {_lit(v)}' for k, v in cols.items())}}}")
    raw_cols = ", ".join(f"coalesce(c{i}, '') AS c{i}" for i in range(width))
    blank = " AND ".join(_blank(f"c{i}") for i in range(width))

    # value columns, in the order the Python path melts them --------------------------------------------
    vcols: list[tuple[str, dict, int | None]] = []  # (header name, dims, year from the column name)
    if "column" in values:
        vcols.append((values["column"], {}, None))
    elif "year_columns" in values:
        rx = re.compile(values["year_columns"])
        for h in header:
            if rx.fullmatch(h):
                m = re.search(r"\d{4}", h)
                if m is None:
                    raise Fallback("a year column without a 4-digit year")
                vcols.append((h, {}, int(m.group(0))))
    else:
        for c, dims in values["columns"].items():
            if c in pos:
                vcols.append((c, {k: v for k, v in (dims or {}).items() if k != "optional"}, None))

    # the wide table: line, role texts (before maps), value texts, drop flag --------------------------------
    role_src: dict[str, tuple[str, dict | None]] = {}
    sel = ["__line"]
    for role, spec in roles_spec.items():
        expr, sp = _role_expr(spec, colref)
        sel.append(f"{_post_expr(expr, role, sp)} AS {_ident('r_' + role)}")
        role_src[role] = (_ident("r_" + role), sp)
    for k, (c, _, _) in enumerate(vcols):
        sel.append(f"{colref(c)} AS v{k}")
    drop = []
    for rule in layout.get("drop_rows", []):
        c = _strip(colref(rule["column"]))
        if "equals" in rule:
            drop.append(f"{c} = {_lit(str(rule['equals']))}")
        if "in" in rule:
            drop.append(f"{c} IN ({', '.join(_lit(str(v)) for v in rule['in'])})")
    sel.append(f"({' OR '.join(drop) if drop else 'false'}) AS __drop")
    # example_rows (tabular.refuse_example_rows): one condition per rule, its column kept for the problem
    for k, rule in enumerate(layout.get("example_rows", [])):
        c = f"coalesce({_strip(colref(rule['column']))}, '')"
        conds = []
        if "equals" in rule:
            conds.append(f"{c} = {_lit(str(rule['equals']))}")
        if "in" in rule:
            conds.append(f"{c} IN ({', '.join(_lit(str(v)) for v in rule['in'])})")
        if rule.get("starts_with"):
            conds.append(f"starts_with(lower({c}), {_lit(str(rule['starts_with']).lower())})")
        sel.append(f"({' OR '.join(conds) or 'false'}) AS __example{k}")
        sel.append(f"{c} AS __example_value{k}")
    try:
        con.execute(f"CREATE TABLE wide AS SELECT {', '.join(sel)} FROM "
                    f"(SELECT __line, {raw_cols} FROM read_csv({_lit(str(data))}, {csv_opts})) "
                    f"WHERE NOT ({blank})")
    except duckdb.Error as exc:  # a row with too few/many fields, a quote DuckDB reads otherwise: the Python path
        raise Fallback(f"DuckDB could not read the file as the csv module does: {str(exc).splitlines()[0]}") from exc
    lap("load")
    file_rows, kept_rows = con.execute("SELECT count(*), count(*) FILTER (WHERE NOT __drop) FROM wide").fetchone()
    if not file_rows:
        raise SubmissionError([Problem(file_name, header_line, None, "S1", key="header_no_data")])
    stats = {"file_rows": int(file_rows), "dropped_rows": int(file_rows - kept_rows), "out_of_scope_rows": 0}
    refused: list[Problem] = []
    for k, rule in enumerate(layout.get("example_rows", [])):
        n = con.execute(f"SELECT count(*) FROM wide WHERE NOT __drop AND __example{k}").fetchone()[0]
        for line, v in con.execute(f"SELECT __line, __example_value{k} FROM wide WHERE NOT __drop AND __example{k} "
                                   f"ORDER BY __line LIMIT {MAX_PROBLEMS - len(refused)}").fetchall():
            refused.append(Problem(file_name, int(line), rule["column"], "S1", value=_pd_str(v),
                                   key="example_row",
                                   params={"column": rule["column"], "rows": int(n)}))
    if refused:
        raise SubmissionError(refused)

    # maps: unknown codes (C3), up to 20 per role, in file order --------------------------------------------
    problems: list[Problem] = []
    for role, (src, sp) in role_src.items():
        if sp is None or "map" not in sp or "default" in sp:
            continue
        keys = ", ".join(_lit(str(k)) for k in sp["map"])
        codes = ", ".join(sorted(str(k) for k in sp["map"]))
        for line, v in con.execute(f"SELECT __line, {src} FROM wide WHERE NOT __drop AND ({src} IS NULL OR "
                                   f"{src} NOT IN ({keys})) ORDER BY __line LIMIT 20").fetchall():
            problems.append(Problem(file_name, int(line), sp.get("column"), "C3", value=_pd_str(v),
                                    key="not_in_spec_codelist", params={"role": role, "codes": codes}))
    if problems:
        raise SubmissionError(problems)
    if "country_iso3" not in role_src:
        raise SubmissionError([Problem(file_name, None, None, "S1", key="spec_missing_role",
                                       params={"role": "country_iso3"})])
    mapped = {role: _map_expr(src, sp) for role, (src, sp) in role_src.items()}
    keep = "NOT __drop"
    if allowed_countries is not None and layout.get("scope") == "oas_members":
        allowed = ", ".join(_lit(c) for c in sorted(allowed_countries)) or "NULL"
        scope = f"coalesce({mapped['country_iso3']} IN ({allowed}), false)"
        stats["out_of_scope_rows"] = int(con.execute(f"SELECT count(*) FROM wide WHERE {keep} AND NOT {scope}")
                                         .fetchone()[0])
        keep = f"{keep} AND {scope}"
    con.execute(f"CREATE TEMP VIEW kept AS SELECT * FROM wide WHERE {keep}")

    # year: each distinct text parsed by pandas, as the Python path does ------------------------------------
    if "year" in role_src:
        ysrc = mapped["year"]
        texts = [r[0] for r in con.execute(f"SELECT DISTINCT {ysrc} FROM kept").fetchall()]
        parsed = {t: pd.to_numeric(pd.Series([t], dtype=object), errors="coerce").iloc[0] for t in texts}
        bad = [t for t, y in parsed.items() if pd.isna(y) or y % 1 != 0]
        if bad:
            cols_y = _spec_columns(roles_spec["year"])
            if not cols_y:
                raise Fallback("a constant year that is not an integer")
            cond = " OR ".join(([f"{ysrc} IS NULL"] if None in bad else [])
                               + ([f"{ysrc} IN ({', '.join(_lit(t) for t in bad if t is not None)})"]
                                  if any(t is not None for t in bad) else []))
            rows = con.execute(f"SELECT __line, {ysrc} FROM kept WHERE {cond} ORDER BY __line "
                               f"LIMIT {MAX_PROBLEMS}").fetchall()
            raise SubmissionError([Problem(file_name, int(ln), cols_y[0], "S1", value=_pd_str(t),
                                           key="year_not_integer") for ln, t in rows])
        if len(texts) > 10_000:
            raise Fallback("more than 10,000 distinct years")
        whens = " ".join(f"WHEN {_lit(t)} THEN {int(parsed[t])}" for t in texts if t is not None)
        year_role = f"(CASE {ysrc} {whens} ELSE NULL END)"
    else:
        year_role = None
    month_role = None
    if "month" in role_src:
        msrc = mapped["month"]
        texts = [r[0] for r in con.execute(f"SELECT DISTINCT {msrc} FROM kept").fetchall()]
        parsed = {t: pd.to_numeric(pd.Series([t], dtype=object), errors="coerce").iloc[0] for t in texts}
        if any(pd.notna(m) and m % 1 != 0 for m in parsed.values()):
            raise Fallback("a month that is not an integer")
        whens = " ".join(f"WHEN {_lit(t)} THEN {int(m)}" for t, m in parsed.items() if t is not None and pd.notna(m))
        month_role = f"(CASE {msrc} {whens} ELSE NULL END)" if whens else "NULL::BIGINT"

    if not vcols:
        if "year_columns" in values:
            raise SubmissionError([Problem(file_name, header_line, None, "S1", key="no_year_column",
                                           params={"pattern": repr(values["year_columns"])})])
        raise Fallback("no value column")

    lap("checks")
    # the long table: one row per value cell -------------------------------------------------------------
    missing_markers = [str(m) for m in layout.get("missing_values", [""])]
    decimal = reader.get("decimal", ".")
    thousands = reader.get("thousands")
    clean = "__txt"  # parse_numbers: strip (again: a no-op), thousands out, decimal mark -> '.'
    if thousands:
        clean = f"replace({clean}, {_lit(thousands)}, '')"
    if decimal != ".":
        clean = f"replace({clean}, {_lit(decimal)}, '.')"
    con.execute(f"CREATE TEMP VIEW long0 AS SELECT *, {_strip('value_raw')} AS __txt FROM "
                f"(UNPIVOT kept ON {', '.join(f'v{k}' for k in range(len(vcols)))} INTO NAME __k VALUE value_raw)")
    con.execute(f"CREATE TEMP VIEW long1 AS SELECT *, __txt IN ({', '.join(_lit(m) for m in missing_markers)}) "
                f"AS __miss, {clean} AS __clean FROM long0")
    # plain: digits and at most the declared decimal mark, checked on the text as written (so '3.000' in a
    # decimal-comma file is never plain: parse_numbers refuses it, V1 value_not_in_format)
    plain_re = _PLAIN_NUMBER.replace(r"\.", re.escape(decimal))
    con.execute(f"CREATE TEMP VIEW long AS SELECT *, (length(__clean) <= 16 AND regexp_full_match(__txt, "
                f"{_lit(plain_re)})) AS __plain FROM long1")
    kidx = "CAST(substr(__k, 2) AS INTEGER)"
    is_missing, plain, clean = "__miss", "__plain", "__clean"
    # every other non-missing text: parsed by parse_numbers itself (distinct texts only)
    odd = con.execute(f"SELECT DISTINCT value_raw FROM long WHERE NOT {is_missing} AND NOT {plain} "
                      f"LIMIT 1000001").fetchall()
    if len(odd) > 1_000_000:
        raise Fallback("more than a million distinct texts that are not plain numbers")
    odd_raw = pd.Series([r[0] for r in odd], dtype=object)
    nums = parse_numbers(odd_raw.str.strip(), decimal, thousands) if len(odd_raw) else pd.Series([], dtype="float64")
    fmt = format_mismatch(odd_raw, decimal, thousands) if len(odd_raw) else pd.Series([], dtype=bool)
    con.register("odd_df", pd.DataFrame({"t": odd_raw, "x": nums.astype("float64")}))
    con.execute("CREATE TEMP TABLE odd AS SELECT t::VARCHAR AS t, x::DOUBLE AS x FROM odd_df")
    con.unregister("odd_df")
    bad_txt = [t for t, x, f in zip(odd_raw, nums, fmt) if pd.isna(x) and not f]
    fmt_txt = [t for t, x, f in zip(odd_raw, nums, fmt) if pd.isna(x) and f]
    neg_txt = [t for t, x in zip(odd_raw, nums) if pd.notna(x) and x < 0]
    names = "CASE __k " + " ".join(f"WHEN 'v{k}' THEN {_lit(c)}" for k, (c, _, _) in enumerate(vcols)) + " END"
    for txts, key in ((bad_txt, "value_not_number"), (fmt_txt, "value_not_in_format"), (neg_txt, "value_negative")):
        if not txts:
            continue
        con.register("probe_df", pd.DataFrame({"t": pd.Series(txts, dtype=object)}))
        rows = con.execute(f"SELECT __line, {names}, value_raw FROM long WHERE value_raw IN "
                           f"(SELECT t::VARCHAR FROM probe_df) ORDER BY {kidx}, __line "
                           f"LIMIT {MAX_PROBLEMS}").fetchall()
        con.unregister("probe_df")
        params = number_format_problem(decimal, thousands)[1] if key == "value_not_in_format" else {}
        problems.extend(Problem(file_name, int(ln), c, "V1", value=str(v), key=key, params=params)
                        for ln, c, v in rows)
    if problems:
        raise SubmissionError(problems[:MAX_PROBLEMS])

    lap("values")
    # final projection, in RAW_COLUMNS order ----------------------------------------------------------------
    defaults = {**DEFAULTS, **(values.get("defaults") or {})}

    def per_column(key: str, base: str | None) -> str:
        """A column that value columns may set (dims), else the role, else the default."""
        whens = [f"WHEN 'v{k}' THEN {_lit(d[key])}" for k, (_, d, _) in enumerate(vcols) if key in d]
        expr = base or "NULL"
        if whens:
            expr = f"(CASE __k {' '.join(whens)} ELSE {expr} END)"
        if key in defaults:
            expr = f"coalesce({expr}, {_lit(defaults[key])})"
        return expr

    note = layout.get("missing_note", "empty cell: not reported (not zero)")
    good_odd = [(t, float(x)) for t, x in zip(odd_raw, nums) if pd.notna(x)]
    if len(good_odd) <= 2000:
        odd_expr = ("(CASE value_raw " + " ".join(f"WHEN {_lit(t)} THEN CAST('{x!r}' AS DOUBLE)" for t, x in good_odd)
                    + " ELSE NULL END)") if good_odd else "NULL"
    else:
        odd_expr = "(SELECT x FROM odd WHERE t = value_raw)"
    value = f"(CASE WHEN {is_missing} THEN NULL WHEN {plain} THEN CAST({clean} AS DOUBLE) ELSE {odd_expr} END)"
    year_cols = {k: y for k, (_, _, y) in enumerate(vcols) if y is not None}
    if year_cols:  # a year column's year wins over a year role, as ``part["year"] = ...`` does
        year = "(CASE __k " + " ".join(f"WHEN 'v{k}' THEN {y}" for k, y in year_cols.items()) + \
               f" ELSE {year_role or 'NULL'} END)"
    else:
        year = year_role
    month_whens = [f"WHEN 'v{k}' THEN {int(d['month'])}" for k, (_, d, _) in enumerate(vcols) if "month" in d]
    month = month_role or "NULL"
    if month_whens:
        month = f"(CASE __k {' '.join(month_whens)} ELSE {month} END)"
    exprs = {
        "submission_id": _lit(submission_id), "source_id": _lit(source_id), "file_name": _lit(file_name),
        "line": "__line", "column_name": names, "year": f"CAST({year} AS BIGINT)",
        "month": f"CAST({month} AS BIGINT)", "value": value, "value_raw": "value_raw",
        "obs_status": f"(CASE WHEN {is_missing} THEN 'M' ELSE 'A' END)",
    }
    for role in ROLE_COLUMNS:
        if role in ("year", "month"):
            continue
        exprs.setdefault(role, per_column(role, mapped.get(role)))
    exprs["obs_note"] = (f"coalesce({exprs['obs_note']}, CASE WHEN {is_missing} THEN {_lit(note)} END)")
    select = ", ".join(f"{exprs[c]} AS {_ident(c)}" for c in RAW_COLUMNS)
    meta = _pandas_metadata().decode("utf-8")
    tmp = work / "out.parquet"
    try:
        con.execute(f"COPY (SELECT {select} FROM long) TO {_lit(str(tmp))} "
                    f"(FORMAT parquet, COMPRESSION zstd, KV_METADATA {{pandas: {_lit(meta)}}})")
    except duckdb.Error as exc:
        raise Fallback(f"DuckDB could not write the table: {str(exc).splitlines()[0]}") from exc
    import pyarrow.parquet as pq

    lap("copy")
    rows = pq.ParquetFile(tmp).metadata.num_rows
    os.replace(tmp, out_path)
    stats["rows"] = int(rows)
    stats["streamed"] = True
    return int(rows), stats
