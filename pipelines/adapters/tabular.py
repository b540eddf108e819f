"""The delimited-text format family: any CSV-like national file described by a source spec.

Handles encodings (utf-8, utf-8-sig, cp1252/latin-1), delimiters, decimal marks (``,72`` = 0.72),
preamble lines, wide value columns (months, measures, sexes) melted to long, missing-value markers
(empty ≠ 0), constant or mapped dimension columns, dates (``date_part``: workbook date cells, ISO 8601 or
the spec's ``date_format``, never guessed — ``pipelines/adapters/dates.py``), and rows to drop. Every output
row keeps the physical line number and column of the cell it came from.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.adapters.dates import declared_formats, parse_dates, prepare_date_columns
from pipelines.adapters.errors import Problem, SubmissionError
from pipelines.contracts.tables import RAW_COLUMNS

ROLE_COLUMNS = ["country_iso3", "subdivision_code", "subdivision_name", "year", "month",
                "national_code", "national_label", "measure", "unit", "sex", "age", "relationship",
                "source_note", "obs_note"]
DEFAULTS = {"measure": "offences", "unit": "count", "sex": "_T", "age": "_T", "relationship": "_T"}
MAX_PROBLEMS = 200


def _decode(data: bytes, encoding: str, file_name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SubmissionError([Problem(file_name, line, None, "S2", value=repr(data[exc.start:exc.start + 8]),
                                       key="not_valid_encoding", params={"encoding": encoding})]) from exc


def _cell_text(v) -> str:
    import datetime as _dt

    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, (_dt.datetime, _dt.date)):
        return v.isoformat()
    return str(v)


class Records(list):
    """``[(line, fields), ...]``; ``typed_dates`` = ``{column: {line, ...}}`` of the workbook cells that are
    typed dates (rendered as ISO text by ``_cell_text``), so that dates are never read from text alone."""

    def __init__(self, *args):
        super().__init__(*args)
        self.typed_dates: dict[str, set[int]] = {}


def _calamine_value(v):
    """A cell as openpyxl (``data_only``) gives it, so that every reading renders the same text: an empty cell
    is None and a date cell a ``datetime`` (calamine gives a ``date`` when the time of day is 0:00)."""
    if v == "":
        return None
    if type(v) is _dt.date:
        return _dt.datetime(v.year, v.month, v.day)
    return v


def xlsx_rows(path: Path, sheet, file_name: str):
    """The cell values of one sheet, row by row from A1 (so that a row's position is its spreadsheet row
    number and a cell's its column), read by calamine (Rust; 5-6x faster than openpyxl and no second pass to
    find the sheet's size). ``sheet``: an index or a name. Values are openpyxl's (``_calamine_value``): a
    test reads every real workbook both ways and compares every cell. A file that is no workbook, or a
    missing sheet, is a ``SubmissionError`` naming the file."""
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
    except (pc.CalamineError, OSError, ValueError) as exc:
        raise SubmissionError([Problem(file_name, None, None, "S1", key="not_xlsx",
                                       params={"error": str(exc)[:300]})]) from exc
    names = wb.sheet_names
    try:
        if isinstance(sheet, int) and 0 <= sheet < len(names):
            ws = wb.get_sheet_by_index(sheet)
        elif not isinstance(sheet, int) and sheet in names:
            ws = wb.get_sheet_by_name(sheet)
        else:
            raise SubmissionError([Problem(file_name, None, None, "S1", key="sheet_not_found",
                                           params={"sheet": repr(sheet), "sheets": ", ".join(names)})])
        rows = ws.to_python(skip_empty_area=False)
    except pc.CalamineError as exc:
        raise SubmissionError([Problem(file_name, None, None, "S1", key="not_xlsx",
                                       params={"error": str(exc)[:300]})]) from exc
    finally:
        wb.close()
    for row in rows:
        yield [_calamine_value(v) for v in row]


def read_xlsx_records(path: Path, reader: dict, file_name: str):
    """Rows of one sheet as text; line numbers are the spreadsheet's row numbers. The header is
    ``header_row`` (1-based) or the first row whose cells include every name in ``header_contains``.
    Date cells become ISO 8601 text and are listed in ``records.typed_dates``. The workbook is read by
    ``xlsx_rows`` (calamine); a workbook with a DTD was refused before (adapters/guards.py)."""
    import datetime as _dt

    from pipelines.adapters.guards import FileLimits, check_record

    limits = FileLimits.from_settings()
    want = reader.get("header_contains")
    hrow = int(reader.get("header_row", 1))
    header, header_line, records = None, 0, Records()
    for i, row in enumerate(xlsx_rows(path, reader.get("sheet", 0), file_name), 1):
        cells = [_cell_text(v).strip() if isinstance(v, str) else _cell_text(v) for v in row]
        check_record(cells, i, file_name, limits)     # columns and cell length (adapters/guards.py)
        if header is None:
            if (want and all(w in cells for w in want)) or (not want and i == hrow):
                while cells and cells[-1] == "":
                    cells.pop()
                header, header_line = [c.strip() for c in cells], i
            continue
        if not any(c.strip() for c in cells):
            continue
        records.append((i, cells[:len(header)] + [""] * (len(header) - len(cells))))
        for j, v in enumerate(row[:len(header)]):
            if isinstance(v, (_dt.datetime, _dt.date)):
                records.typed_dates.setdefault(header[j], set()).add(i)
    if header is None:
        raise SubmissionError([Problem(file_name, None, None, "S1", key="no_header_found_containing",
                                       params={"columns": str(want)})] if want else
                              [Problem(file_name, None, None, "S1", key="no_header_found")])
    return header, header_line, records


def read_records(path: Path, reader: dict, file_name: str) -> tuple[list[str], int, list[tuple[int, list[str]]]]:
    """Return (header, header_line, [(line, fields), ...]) using only the csv module (no guessing)."""
    if reader.get("format") == "xlsx":
        return read_xlsx_records(path, reader, file_name)
    text = _decode(path.read_bytes(), reader.get("encoding", "utf-8"), file_name)
    if text.startswith("\ufeff"):
        text = text[1:]
    skip = int(reader.get("skip_rows", 0))
    rdr = csv.reader(io.StringIO(text, newline=""), delimiter=reader.get("delimiter", ","),
                     quotechar=reader.get("quotechar", '"'))
    header: list[str] | None = None
    header_line = 0
    records: list[tuple[int, list[str]]] = []
    try:
        for fields in rdr:
            line = rdr.line_num
            if line <= skip:
                continue
            if header is None:
                header = [h.strip() for h in fields]
                header_line = line
                continue
            # a blank record (every field whitespace) is skipped; the first field decides most rows without a
            # generator per row (a tenth of a 16,000-row template file's reading)
            if not fields or (not fields[0].strip() and not "".join(fields).strip()):
                continue
            records.append((line, fields))
    except csv.Error as exc:
        raise SubmissionError([Problem(file_name, rdr.line_num, None, "S1", key="unreadable_csv",
                                       params={"error": str(exc)})]) from exc
    if header is None:
        raise SubmissionError([Problem(file_name, skip + 1, None, "S1", key="no_header")])
    return header, header_line, records


def check_header(header: list[str], header_line: int, layout: dict, file_name: str) -> None:
    problems = []
    counts = Counter(h for h in header if h)        # linear: header.count(h) per name was quadratic
    dup = sorted(h for h, n in counts.items() if n > 1)
    if dup:
        problems.append(Problem(file_name, header_line, ", ".join(dup), "S1", key="duplicate_columns"))
    missing = [c for c in required_columns(layout) if c not in counts]
    if missing:
        problems.append(Problem(file_name, header_line, ", ".join(missing), "S1", key="missing_columns",
                                params={"header": ", ".join(header)}))
    if problems:
        raise SubmissionError(problems)


def required_columns(layout: dict) -> list[str]:
    cols: list[str] = []
    for role, spec in (layout.get("columns") or {}).items():
        cols.extend(_spec_columns(spec))
    values = layout["values"]
    if "column" in values:
        cols.append(values["column"])
    elif "columns" in values:
        cols.extend(c for c, v in values["columns"].items() if not (isinstance(v, dict) and v.get("optional")))
    for d in layout.get("drop_rows", []):
        cols.append(d["column"])
    for d in layout.get("example_rows", []):
        cols.append(d["column"])
    seen, out = set(), []
    for c in cols:
        if c not in seen:
            seen.add(c)
            out.append(c)
    return out


def _spec_columns(spec) -> list[str]:
    if isinstance(spec, str):
        return [spec]
    if "column" in spec:
        return [spec["column"]]
    if "join" in spec:
        return list(spec["join"])
    return []


def _role_series(df: pd.DataFrame, role: str, spec, file_name: str, problems: list[Problem],
                 dates: dict | None = None) -> pd.Series:
    """One role's text per row. ``dates`` caches the parsed date columns of the file, so that the year and
    the month of one column come from one parse (and its problems are reported once)."""
    if isinstance(spec, str):
        spec = {"column": spec}
    if "const" in spec:
        return pd.Series([str(spec["const"])] * len(df), index=df.index, dtype="str")
    if "join" in spec:
        parts = [df[c].str.strip() for c in spec["join"]]
        s = parts[0]
        for p in parts[1:]:
            s = s + spec.get("sep", "|") + p
    else:
        s = df[spec["column"]]
        if spec.get("strip", True):
            s = s.str.strip()
    if spec.get("date_part"):
        # never guessed: typed workbook dates, ISO 8601, or the spec's date_format (pipelines/adapters/dates.py)
        formats = declared_formats(spec)
        key = (spec["column"], formats, spec.get("strip", True))
        dates = {} if dates is None else dates
        if key not in dates:
            dates[key] = parse_dates(df, s, spec["column"], formats, file_name, problems)
        part = dates[key][spec["date_part"]]
        s = part.astype("str").where(part.notna(), None)
    if spec.get("empty_as_null", role in ("subdivision_code", "subdivision_name", "obs_note", "source_note")):
        s = s.where(s.fillna("") != "", None)
    if spec.get("zero_pad"):
        n = int(spec["zero_pad"])
        s = s.where(~s.str.fullmatch(r"\d+").fillna(False).astype(bool), s.str.zfill(n))
    if "map" in spec:
        mapping = {str(k): (None if v is None else str(v)) for k, v in spec["map"].items()}
        mapped = s.map(mapping)
        if "default" in spec:
            mapped = mapped.where(s.isin(list(mapping)), spec["default"])
        else:
            bad = ~s.isin(list(mapping))
            for idx in df.index[bad][:20]:
                problems.append(Problem(file_name, int(df.at[idx, "__line"]), spec.get("column"), "C3",
                                        value=str(s.at[idx]), key="not_in_spec_codelist",
                                        params={"role": role, "codes": ", ".join(sorted(mapping))}))
        s = mapped
    return s.astype("str").where(s.notna(), None) if s.dtype != object else s


_NUM_RE_CACHE: dict[tuple[str, str], re.Pattern] = {}


def number_format(decimal: str, thousands: str | None) -> re.Pattern:
    """The spec's declared number format as a regex (``fullmatch`` on stripped text): digits, the declared
    thousands separator only in groups of three, the declared decimal mark, an optional sign and exponent.
    '3.000' in a source that declares a decimal comma and no thousands separator does not match."""
    key = (decimal, thousands or "")
    if key not in _NUM_RE_CACHE:
        d = re.escape(decimal)
        whole = r"[0-9]+" if not thousands else rf"(?:[0-9]+|[0-9]{{1,3}}(?:{re.escape(thousands)}[0-9]{{3}})+)"
        _NUM_RE_CACHE[key] = re.compile(rf"[+-]?(?:{whole}(?:{d}[0-9]*)?|{d}[0-9]+)(?:[eE][+-]?[0-9]+)?")
    return _NUM_RE_CACHE[key]


def parse_numbers(values: pd.Series, decimal: str, thousands: str | None, strict: bool = True) -> pd.Series:
    """Parse number text: '1.234,5' / ',72' / '.52' / '12'. Unparseable -> NaN (caller reports). ``strict``
    (default): a text not written in the declared format (``number_format``) is NaN too, never read some other
    way ('3.000' with a decimal comma declared is not 3); ``format_mismatch`` tells those apart."""
    s = values.str.strip()
    ok = s.str.fullmatch(number_format(decimal, thousands).pattern, na=False).astype(bool) if strict else None
    if thousands:
        s = s.str.replace(thousands, "", regex=False)
    if decimal != ".":
        s = s.str.replace(decimal, ".", regex=False)
    out = pd.to_numeric(s, errors="coerce").astype("float64")
    return out.where(ok, np.nan) if strict else out


def number_format_problem(decimal: str, thousands: str | None) -> tuple[str, dict]:
    """(key, params) of a V1 problem for a value not written in the declared number format."""
    key, params = "value_not_in_format", {"decimal": decimal, "thousands": thousands or "none"}
    return key, params


def format_mismatch(values: pd.Series, decimal: str, thousands: str | None) -> pd.Series:
    """Texts that read as a number some way but are not written in the declared format."""
    return parse_numbers(values, decimal, thousands, strict=False).notna() \
        & parse_numbers(values, decimal, thousands).isna()


TEXT_COLUMNS = [c for c in RAW_COLUMNS if c not in ("line", "year", "month", "value")]


def to_raw_table(out: pd.DataFrame, *, submission_id: str, source_id: str, file_name: str) -> pd.DataFrame:
    """Stamp the submission, keep exactly the standard columns in order, text columns as str/None."""
    out["submission_id"] = submission_id
    out["source_id"] = source_id
    out["file_name"] = file_name
    for c in RAW_COLUMNS:
        if c not in out.columns:
            out[c] = None
    out = out[RAW_COLUMNS]
    for c in TEXT_COLUMNS:
        out[c] = out[c].astype("str").where(out[c].notna(), None) if len(out) else out[c].astype("str")
    return out


def drop_rows(df: pd.DataFrame, layout: dict, stats: dict) -> pd.DataFrame:
    """Remove the rows a layout declares (filter blocks, subtotals); counts them in ``stats``."""
    for rule in layout.get("drop_rows", []):
        col = df[rule["column"]].str.strip()
        mask = pd.Series(False, index=df.index)
        if "equals" in rule:
            mask |= col == str(rule["equals"])
        if "in" in rule:
            mask |= col.isin([str(v) for v in rule["in"]])
        if "matches" in rule:
            mask |= col.str.fullmatch(rule["matches"]).fillna(False)
        stats["dropped_rows"] += int(mask.sum())
        df = df[~mask]
    return df


def refuse_example_rows(df: pd.DataFrame, layout: dict, file_name: str) -> list[Problem]:
    """One blocking problem (S1) per row a layout refuses (``example_rows``: a template's fictitious EXAMPLE
    rows left in the file), naming file, line and column; at most MAX_PROBLEMS."""
    out: list[Problem] = []
    for rule in layout.get("example_rows", []):
        col = df[rule["column"]].fillna("").str.strip()
        mask = pd.Series(False, index=df.index)
        if "equals" in rule:
            mask |= col == str(rule["equals"])
        if "in" in rule:
            mask |= col.isin([str(v) for v in rule["in"]])
        if rule.get("starts_with"):
            mask |= col.str.lower().str.startswith(str(rule["starts_with"]).lower())
        n = int(mask.sum())
        for idx in df.index[mask][:MAX_PROBLEMS - len(out)]:
            out.append(Problem(file_name, int(df.at[idx, "__line"]), rule["column"], "S1", value=str(col.at[idx]),
                               key="example_row", params={"column": rule["column"], "rows": n}))
    return out


def adapt_tabular(path: Path, layout: dict, *, source_id: str, submission_id: str, file_name: str,
                  allowed_countries: set[str] | None = None) -> tuple[pd.DataFrame, dict]:
    """Read one national file with one layout into the standard long table.

    Returns (table, stats). Raises SubmissionError listing every problem found (up to 200).
    """
    reader = layout.get("reader", {})
    header, header_line, records = read_records(path, reader, file_name)
    check_header(header, header_line, layout, file_name)
    problems: list[Problem] = []
    width = len(header)
    good = []
    for line, fields in records:
        if len(fields) != width:
            if len(fields) > width and all(not f.strip() for f in fields[width:]):
                fields = fields[:width]
            else:
                problems.append(Problem(file_name, line, None, "S1", key="row_field_count",
                                        params={"fields": len(fields), "width": width}))
                if len(problems) >= MAX_PROBLEMS:
                    break
                continue
        good.append((line, fields))
    if problems:
        raise SubmissionError(problems)
    if not good:
        raise SubmissionError([Problem(file_name, header_line, None, "S1", key="header_no_data")])
    lines = np.fromiter((ln for ln, _ in good), dtype="int64", count=len(good))
    df = pd.DataFrame([f for _, f in good], columns=header, dtype="str")
    df["__line"] = lines
    stats = {"file_rows": len(df), "dropped_rows": 0, "out_of_scope_rows": 0}

    df = drop_rows(df, layout, stats)
    refused = refuse_example_rows(df, layout, file_name)
    if refused:
        raise SubmissionError(refused)

    roles: dict[str, pd.Series] = {}
    prepare_date_columns(df, records, layout)
    dates: dict = {}
    for role, spec in (layout.get("columns") or {}).items():
        roles[role] = _role_series(df, role, spec, file_name, problems, dates)
    if problems:
        raise SubmissionError(problems)

    if "country_iso3" not in roles:
        raise SubmissionError([Problem(file_name, None, None, "S1", key="spec_missing_role",
                                       params={"role": "country_iso3"})])
    if allowed_countries is not None and layout.get("scope") == "oas_members":
        keep = roles["country_iso3"].isin(allowed_countries)
        stats["out_of_scope_rows"] = int((~keep).sum())
        df = df[keep]
        roles = {k: v[keep] for k, v in roles.items()}

    # year must be an integer (unless the year comes from wide year columns)
    base = pd.DataFrame({"__line": df["__line"]}, index=df.index)
    if "year" in roles:
        year_txt = roles["year"]
        year = pd.to_numeric(year_txt, errors="coerce")
        for idx in df.index[year.isna() | (year % 1 != 0)][:MAX_PROBLEMS]:
            problems.append(Problem(file_name, int(df.at[idx, "__line"]), _spec_columns(layout["columns"]["year"])[0],
                                    "S1", value=str(year_txt.at[idx]), key="year_not_integer"))
    if problems:
        raise SubmissionError(problems)
    for role in ROLE_COLUMNS:
        if role in roles:
            base[role] = roles[role]
    if "year" in roles:
        base["year"] = year.astype("int64")

    # melt value columns ----------------------------------------------------------------------
    values = layout["values"]
    missing_markers = [str(m) for m in layout.get("missing_values", [""])]
    decimal = reader.get("decimal", ".")
    thousands = reader.get("thousands")
    parts = []
    if values.get("count_records"):
        # record-level file: one row per event/victim -> count rows per combination of roles
        keys = [c for c in base.columns if c != "__line"]
        g = base.fillna({c: "\x00" for c in keys if base[c].dtype != "int64"}) \
            .groupby(keys, dropna=False, sort=False)["__line"].agg(["min", "count"]).reset_index()
        for c in keys:
            if g[c].dtype != "int64":
                g[c] = g[c].where(g[c] != "\x00", None)
        g = g.rename(columns={"min": "__line"})
        g["column_name"] = "(records)"
        g["value_raw"] = g.pop("count").astype("str")
        stats["records"] = len(base)
        parts.append(g)
    elif "column" in values:
        part = base.copy()
        part["column_name"] = values["column"]
        part["value_raw"] = df[values["column"]]
        parts.append(part)
    elif "year_columns" in values:
        rx = re.compile(values["year_columns"])
        for col in df.columns:
            if not col.startswith("__") and rx.fullmatch(col):
                part = base.copy()
                part["column_name"] = col
                part["value_raw"] = df[col]
                part["year"] = int(re.search(r"\d{4}", col).group(0))
                parts.append(part)
        if not parts:
            raise SubmissionError([Problem(file_name, header_line, None, "S1", key="no_year_column",
                                           params={"pattern": repr(values["year_columns"])})])
    else:
        for col, dims in values["columns"].items():
            if col not in df.columns:
                continue  # optional column absent
            part = base.copy()
            part["column_name"] = col
            part["value_raw"] = df[col]
            for k, v in (dims or {}).items():
                if k in ("optional",):
                    continue
                part[k] = v
            parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["year"] = out["year"].astype("int64")
    for k, v in {**DEFAULTS, **(values.get("defaults") or {})}.items():
        if k not in out.columns:
            out[k] = v
        else:
            out[k] = out[k].fillna(v) if out[k].isna().any() else out[k]

    raw_txt = out["value_raw"].fillna("").str.strip()
    is_missing = raw_txt.isin(missing_markers)
    num = parse_numbers(raw_txt.where(~is_missing, None).fillna(""), decimal, thousands)
    bad = (~is_missing) & num.isna()
    fmt = format_mismatch(raw_txt, decimal, thousands) if bad.any() else bad
    for idx in out.index[bad][:MAX_PROBLEMS]:
        key, params = "value_not_number", {}
        if fmt.at[idx]:
            key, params = number_format_problem(decimal, thousands)
        problems.append(Problem(file_name, int(out.at[idx, "__line"]), out.at[idx, "column_name"], "V1",
                                value=str(out.at[idx, "value_raw"]), key=key, params=params))
    neg = (~is_missing) & (num < 0)
    for idx in out.index[neg][:MAX_PROBLEMS]:
        problems.append(Problem(file_name, int(out.at[idx, "__line"]), out.at[idx, "column_name"], "V1",
                                value=str(out.at[idx, "value_raw"]), key="value_negative"))
    if problems:
        raise SubmissionError(problems[:MAX_PROBLEMS])
    out["value"] = num.where(~is_missing, np.nan)
    out["obs_status"] = np.where(is_missing, "M", "A")
    note = layout.get("missing_note", "empty cell: not reported (not zero)")
    missing_note = pd.Series(np.where(is_missing, note, None), index=out.index, dtype=object)
    if "obs_note" in out.columns:
        out["obs_note"] = out["obs_note"].where(out["obs_note"].notna(), missing_note)
    else:
        out["obs_note"] = missing_note

    if "month" in out.columns:
        out["month"] = pd.to_numeric(out["month"], errors="coerce").astype("Int64")
    else:
        out["month"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["line"] = out.pop("__line").astype("int64")
    out = to_raw_table(out, submission_id=submission_id, source_id=source_id, file_name=file_name)
    stats["rows"] = len(out)
    return out.reset_index(drop=True), stats
