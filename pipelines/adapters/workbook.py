"""The ``workbook`` format family: several sheets of one xlsx file, each read by the tabular family.

``adapt_file`` applies exactly one layout to a file, and a tabular layout reads one sheet. Some
publishers split one release over several sheets of the same workbook (Brazil SINESP:
``Ocorrências`` and ``Vítimas``, with different crime lists and different measures). A layout with
``family: workbook`` lists the sheets under ``options.sheets``; every entry is merged over the shared
layout (``reader`` key by key, every other key replaced) and read with
:func:`pipelines.adapters.tabular.adapt_tabular`. The tables are concatenated.

    layouts:
      - name: uf_workbook
        family: workbook
        reader: {format: xlsx, encoding: utf-8, header_row: 1}     # shared
        columns: {...}                                             # shared
        values: {columns: {Ocorrências: {measure: offences}}}     # shared default
        options:
          sheets:
            - {sheet: "Ocorrências"}
            - {sheet: "Vítimas", values: {columns: {Vítimas: {measure: victims}}}}

Each merged sheet layout is checked against the ``layout`` definition of
``reference/sources/source.schema.json``. ``line`` stays the spreadsheet row of the sheet the value
came from; so that (line, column_name) still points at one cell, the value column names of the sheets
must differ (checked). Every sheet listed must exist (a missing sheet is an S1 problem).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.adapters.errors import Problem, SubmissionError
from pipelines.adapters.messages import nested
from pipelines.adapters.tabular import adapt_tabular
from pipelines.specs.source import check_layout

_SHARED_KEYS = ("reader", "columns", "values", "missing_values", "missing_note", "drop_rows", "scope")


def sheet_layouts(layout: dict) -> list[dict]:
    """The tabular layout of every sheet: the shared layout with the sheet entry merged over it."""
    sheets = (layout.get("options") or {}).get("sheets")
    if not sheets:
        raise ValueError(f"layout {layout.get('name')!r}: family workbook needs options.sheets (a list)")
    out = []
    for i, entry in enumerate(sheets):
        entry = dict(entry)
        if "sheet" not in entry:
            raise ValueError(f"layout {layout.get('name')!r}: options.sheets[{i}] has no 'sheet'")
        merged = {k: layout[k] for k in _SHARED_KEYS if k in layout}
        merged["name"] = f"{layout.get('name')}[{entry['sheet']}]"
        merged["reader"] = {**(layout.get("reader") or {}), **(entry.pop("reader", None) or {}),
                            "sheet": entry.pop("sheet"), "format": "xlsx"}
        merged.update(entry)
        check_layout(merged)
        out.append(merged)
    value_cols = [c for lay in out for c in _value_columns(lay)]
    dup = sorted({c for c in value_cols if value_cols.count(c) > 1})
    if dup:
        raise ValueError(f"layout {layout.get('name')!r}: value column(s) {dup} appear in several sheets; "
                         "(line, column_name) would not identify one cell")
    return out


def _value_columns(layout: dict) -> list[str]:
    v = layout["values"]
    if "column" in v:
        return [v["column"]]
    return list(v.get("columns") or {})


def adapt(path: Path, layout: dict, *, source_id: str, submission_id: str, file_name: str,
          allowed_countries: set[str] | None = None) -> tuple[pd.DataFrame, dict]:
    parts, per_sheet, problems = [], {}, []
    for lay in sheet_layouts(layout):
        sheet = lay["reader"]["sheet"]
        try:
            table, st = adapt_tabular(path, lay, source_id=source_id, submission_id=submission_id,
                                      file_name=file_name, allowed_countries=allowed_countries)
        except SubmissionError as exc:
            problems.extend(Problem(p.file, p.line, p.column, p.rule, value=p.value, key="in_sheet",
                                    params={"sheet": repr(sheet), "detail": nested(p)})
                            for p in exc.problems)
            continue
        parts.append(table)
        per_sheet[str(sheet)] = st
    if problems:
        raise SubmissionError(problems)
    out = pd.concat(parts, ignore_index=True)
    stats = {k: sum(st.get(k, 0) for st in per_sheet.values())
             for k in ("file_rows", "dropped_rows", "out_of_scope_rows")}
    stats["rows"] = len(out)
    stats["sheets"] = per_sheet
    return out, stats
