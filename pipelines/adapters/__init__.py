"""National file -> standard long table. One module per *format family*, driven by source specs.

Format families: ``tabular`` (delimited text). Spreadsheets and record-level files are added as
their own families; everything source-specific lives in ``reference/sources/<source>.yaml``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from pipelines.adapters import stream as _stream
from pipelines.adapters import guards
from pipelines.adapters.errors import Problem, SubmissionError
from pipelines.adapters.messages import nested
from pipelines.adapters.tabular import adapt_tabular, read_records, required_columns
from pipelines.specs import SourceSpec, load_all_specs, load_spec

FAMILIES = {"tabular": adapt_tabular}


def _family(layout: dict):
    """The format family of a layout: ``tabular`` (csv/xlsx driven by the spec) unless the layout
    names a genuinely new shape (``family: <name>`` -> ``pipelines/adapters/<name>.py:adapt``)."""
    name = layout.get("family", "tabular")
    if name not in FAMILIES:
        import importlib

        if not name.isidentifier():
            raise ValueError(f"bad family name {name!r}")
        FAMILIES[name] = importlib.import_module(f"pipelines.adapters.{name}").adapt
    return FAMILIES[name]

__all__ = ["adapt_file", "adapt_to_parquet", "choose_layout", "Problem", "SubmissionError", "SourceSpec", "load_spec",
           "load_all_specs"]


def _header(path: Path, reader: dict, file_name: str) -> list[str]:
    """The header ``read_records`` would find, without parsing every record (``stream.read_header``: the file is
    still decoded whole, so an encoding misfit is still found; lines that are not one record each fall back to
    ``read_records``). Any size: parsing a small file's records only to read its header was a quarter of its
    ingest (65 ms of a 2.7 MB template file, against 16 ms). A record the csv module cannot read is reported
    when the file is read (S1 ``unreadable_csv``, its line), as for a large file."""
    if reader.get("format", "csv") == "csv":
        try:
            return _stream.read_header(path, reader, file_name)[0]
        except _stream.Fallback:
            pass
    return read_records(path, reader, file_name)[0]


def _is_large(path: Path, stream: bool | None) -> bool:
    if stream is not None:
        return stream
    try:
        return Path(path).stat().st_size >= _stream.stream_min_bytes()
    except OSError:
        return False


def choose_layout(path: Path, spec: SourceSpec, file_name: str, *, stream: bool | None = None) -> dict:
    """Pick the first layout whose required columns all appear in the file's header. The format families read
    a layout as the dict the spec wrote (``Layout.as_dict``: the validated layout, the keys it sets).
    A delimited file's header is read without parsing its records, whatever its size (``_header``);
    ``stream`` is accepted for the callers that name the path they will take, and changes nothing here."""
    # bounded work: size, columns, cell length, a workbook's expanded size and DTDs, before any parser reads it
    guards.check_file(path, file_name, guards.csv_readers(spec))
    tried = []
    decode_errors: list[SubmissionError] = []
    for layout in (lay.as_dict() for lay in spec.layouts):
        if layout.get("family", "tabular") != "tabular":
            return layout  # custom families check their own shape
        try:
            header = _header(path, layout.get("reader", {}), file_name)
        except SubmissionError as exc:
            tried.append({"key": "layout_unreadable",
                          "params": {"layout": repr(layout["name"]), "detail": nested(exc.problems[0])}})
            if exc.problems[0].rule == "S2":
                decode_errors.append(exc)
            continue
        names = Counter(header)
        missing = [c for c in required_columns(layout) if c not in names]
        if not missing:
            return layout
        # a column renamed to another's name: say so, not only that a column is missing
        repeated = [c for c in required_columns(layout) if names.get(c, 0) > 1]
        if repeated:
            tried.append({"key": "layout_repeats_columns",
                          "params": {"layout": repr(layout["name"]), "repeated": ", ".join(repeated),
                                     "columns": ", ".join(missing)}})
            continue
        tried.append({"key": "layout_lacks_columns",
                      "params": {"layout": repr(layout["name"]), "columns": ", ".join(missing)}})
    if decode_errors and len(decode_errors) == len(tried):
        raise decode_errors[0]
    raise SubmissionError([Problem(file_name, None, None, "S1", key="no_layout_matches",
                                   params={"source": repr(spec.source_id), "tried": tried})])


def adapt_file(path: Path, spec: SourceSpec, *, submission_id: str, file_name: str,
               allowed_countries: set[str] | None = None) -> tuple[pd.DataFrame, dict]:
    """The standard long table as a DataFrame (the Python path; small files, tests, tools)."""
    layout = choose_layout(path, spec, file_name, stream=False)
    family = _family(layout)
    table, stats = family(path, layout, source_id=spec.source_id, submission_id=submission_id,
                          file_name=file_name, allowed_countries=allowed_countries)
    stats["layout"] = layout["name"]
    return table, stats


def adapt_to_parquet(path: Path, spec: SourceSpec, out_path: Path, *, submission_id: str, file_name: str,
                     allowed_countries: set[str] | None = None, stream: bool | None = None,
                     memory_limit: str | None = None) -> tuple[Path, int, dict]:
    """The standard long table written to ``out_path`` (Parquet, zstd, atomically): ``(out_path, rows, stats)``.

    A delimited file whose layout the streaming path can do (``stream.unsupported``) goes landing -> Parquet in
    DuckDB without a DataFrame (``stream=None``: when the file has at least ``STREAM_MIN_BYTES``; True: always
    when possible; False: never); ``stats["streamed"]`` says which path ran and ``stats["stream_fallback"]``
    why not. Every other file goes through ``adapt_file`` and ``write_parquet_atomic``. Same table, same
    problems either way."""
    from pipelines.storage.files import write_parquet_atomic

    large = _is_large(path, stream)
    layout = choose_layout(path, spec, file_name, stream=large)
    why = _stream.unsupported(layout) if large else "small file"
    if why is None:
        try:
            rows, stats = _stream.adapt_stream(path, layout, out_path, source_id=spec.source_id,
                                               submission_id=submission_id, file_name=file_name,
                                               allowed_countries=allowed_countries, memory_limit=memory_limit)
            stats["layout"] = layout["name"]
            return Path(out_path), rows, stats
        except _stream.Fallback as exc:
            why = str(exc)
    family = _family(layout)
    table, stats = family(path, layout, source_id=spec.source_id, submission_id=submission_id,
                          file_name=file_name, allowed_countries=allowed_countries)
    stats["layout"] = layout["name"]
    stats["streamed"] = False
    stats["stream_fallback"] = why
    write_parquet_atomic(table, Path(out_path))
    return Path(out_path), len(table), stats
