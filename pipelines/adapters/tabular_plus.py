"""The ``tabular`` family plus three small, declared extras (``family: tabular_plus`` in a layout).

Everything else — reader, column roles, value columns, missing markers, scope — is the generic
``tabular`` family, unchanged; the extras are set under the layout's ``options``:

``dedupe_header: true``
    A header that repeats a column name (OWID grapher downloads: ``…,time,time``) is refused by
    ``tabular`` (rule S1, rightly: ``time`` would be ambiguous). With this option the 2nd, 3rd …
    occurrence of a name is renamed ``name#2``, ``name#3`` so a role can point at it
    (``year: "time#2"``). Only the header row is renamed; every data line keeps its line number.

``scale: <number>``
    The parsed value is multiplied by this factor (``value_raw`` keeps the text as published), for a
    publisher whose unit is not one of the contract's: INEGI publishes a population share "per
    100,000 population aged 18+", i.e. ``scale: 0.001`` gives a percent.

``national_rows: {column: <name>, in: [...]}`` (or ``equals: <value>``)
    Rows whose ``column`` holds one of these values are the national total mixed in with the
    subdivisions (ENVIPE ``clave = "00"`` / ``entidad = "Nacional"``): their ``subdivision_code`` and
    ``subdivision_name`` are set to NULL, as for any national row.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from pathlib import Path

import pandas as pd

from pipelines.adapters.errors import Problem, SubmissionError
from pipelines.adapters.tabular import _decode, adapt_tabular, read_records

_NEWLINE = re.compile(r"\r\n|\n|\r")


def dedupe_names(header: list[str]) -> list[str]:
    """``['a', 'time', 'time']`` -> ``['a', 'time', 'time#2']`` (empty names are left alone)."""
    seen: dict[str, int] = {}
    out = []
    for h in header:
        if not h:
            out.append(h)
            continue
        seen[h] = seen.get(h, 0) + 1
        out.append(h if seen[h] == 1 else f"{h}#{seen[h]}")
    return out


def _rewrite_header(path: Path, reader: dict, file_name: str, tmp_dir: Path) -> Path:
    """A copy of the file whose header row has unique names; same lines, same line numbers."""
    if reader.get("format") == "xlsx":
        raise SubmissionError([Problem(file_name, None, None, "S1", key="dedupe_header_not_for_xlsx")])
    encoding = reader.get("encoding", "utf-8")
    text = _decode(path.read_bytes(), encoding, file_name)
    if text.startswith("\ufeff"):
        text = text[1:]
    skip = int(reader.get("skip_rows", 0))
    delimiter, quotechar = reader.get("delimiter", ","), reader.get("quotechar", '"')
    # physical lines with their terminators
    parts = _NEWLINE.split(text)
    ends = _NEWLINE.findall(text) + [""]
    # the header is the first non-skipped record; it must sit on one physical line to be renamed in place
    idx = skip
    while idx < len(parts) and not parts[idx].strip():
        idx += 1
    if idx >= len(parts):
        raise SubmissionError([Problem(file_name, skip + 1, None, "S1", key="no_header")])
    fields = next(csv.reader([parts[idx]], delimiter=delimiter, quotechar=quotechar))
    names = dedupe_names([f.strip() for f in fields])
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, quotechar=quotechar, lineterminator="").writerow(names)
    parts[idx] = buf.getvalue()
    out = tmp_dir / path.name
    out.write_text("".join(p + e for p, e in zip(parts, ends)), encoding=encoding, newline="")
    return out


def _national_lines(path: Path, reader: dict, rule: dict, file_name: str) -> set[int]:
    header, header_line, records = read_records(path, reader, file_name)
    col = rule["column"]
    if col not in header:
        raise SubmissionError([Problem(file_name, header_line, col, "S1", key="national_rows_unknown_column")])
    i = header.index(col)
    wanted = {str(v) for v in rule.get("in", [])}
    if "equals" in rule:
        wanted.add(str(rule["equals"]))
    return {line for line, f in records if i < len(f) and f[i].strip() in wanted}


def adapt(path: Path, layout: dict, *, source_id: str, submission_id: str, file_name: str,
          allowed_countries: set[str] | None = None) -> tuple[pd.DataFrame, dict]:
    opts = layout.get("options") or {}
    unknown = set(opts) - {"dedupe_header", "scale", "national_rows"}
    if unknown:
        raise ValueError(f"layout {layout.get('name')!r}: unknown tabular_plus option(s) {sorted(unknown)}")
    reader = layout.get("reader", {})
    with tempfile.TemporaryDirectory(prefix="hemistat_tp_") as tmp:
        src = Path(path)
        if opts.get("dedupe_header"):
            src = _rewrite_header(src, reader, file_name, Path(tmp))
        df, stats = adapt_tabular(src, layout, source_id=source_id, submission_id=submission_id,
                                  file_name=file_name, allowed_countries=allowed_countries)
        if opts.get("national_rows"):
            lines = _national_lines(src, reader, opts["national_rows"], file_name)
            nat = df["line"].isin(lines)
            df.loc[nat, ["subdivision_code", "subdivision_name"]] = None
            stats["national_rows"] = int(nat.sum())
    if "scale" in opts:
        factor = float(opts["scale"])
        df["value"] = df["value"] * factor
        stats["scale"] = factor
    return df, stats
