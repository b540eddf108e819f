"""National file -> standard long table. One module per *format family*, driven by source specs.

Format families: ``tabular`` (delimited text). Spreadsheets and record-level files are added as
their own families; everything source-specific lives in ``reference/sources/<source>.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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

__all__ = ["adapt_file", "choose_layout", "Problem", "SubmissionError", "SourceSpec", "load_spec",
           "load_all_specs"]


def choose_layout(path: Path, spec: SourceSpec, file_name: str) -> dict:
    """Pick the first layout whose required columns all appear in the file's header. The format families read
    a layout as the dict the spec wrote (``Layout.as_dict``: the validated layout, the keys it sets)."""
    tried = []
    decode_errors: list[SubmissionError] = []
    for layout in (lay.as_dict() for lay in spec.layouts):
        if layout.get("family", "tabular") != "tabular":
            return layout  # custom families check their own shape
        try:
            header, header_line, _ = read_records(path, layout.get("reader", {}), file_name)
        except SubmissionError as exc:
            tried.append({"key": "layout_unreadable",
                          "params": {"layout": repr(layout["name"]), "detail": nested(exc.problems[0])}})
            if exc.problems[0].rule == "S2":
                decode_errors.append(exc)
            continue
        missing = [c for c in required_columns(layout) if c not in header]
        if not missing:
            return layout
        tried.append({"key": "layout_lacks_columns",
                      "params": {"layout": repr(layout["name"]), "columns": ", ".join(missing)}})
    if decode_errors and len(decode_errors) == len(tried):
        raise decode_errors[0]
    raise SubmissionError([Problem(file_name, None, None, "S1", key="no_layout_matches",
                                   params={"source": repr(spec.source_id), "tried": tried})])


def adapt_file(path: Path, spec: SourceSpec, *, submission_id: str, file_name: str,
               allowed_countries: set[str] | None = None) -> tuple[pd.DataFrame, dict]:
    layout = choose_layout(path, spec, file_name)
    family = _family(layout)
    table, stats = family(path, layout, source_id=spec.source_id, submission_id=submission_id,
                          file_name=file_name, allowed_countries=allowed_countries)
    stats["layout"] = layout["name"]
    return table, stats
