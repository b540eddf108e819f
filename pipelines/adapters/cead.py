"""The ``cead`` format family: Chile CEAD "reportes estadísticos por delito" (xlsx pivot exports).

The CEAD site (cead.minsegpublica.gob.cl) exports a pivot report, not a table:

* a **filter block** above the table (``Medida``, ``Tipo de Datos``, ``Regiones``, ``Provincias``,
  ``Comunas``, ``Familia de delitos`` / ``Grupo`` / ``Subgrupo``, ``Año``, ``Trimestre``, ``Mes``), label
  in column A and value in merged cells B:L. It says what the numbers are and for which territory;
* a **header row** (blank first cell, then one column per year);
* offence rows whose label in column A is indented with leading EM SPACEs (U+2003): family (0),
  group (1), subgroup (2). A level may be skipped (family -> subgroup: the export hides the group row
  of a family that has a single group, e.g. "Violencia intrafamiliar", "Delitos asociados a drogas"),
  and a group may have a single subgroup of the same name ("Robos con violencia o intimidación").
  Every row that has sub-rows is their **subtotal**.

Only **leaf rows** (rows with no sub-row) become observations, so nothing is counted twice; subtotal
rows are dropped after checking, for every year, that each equals the sum of its sub-rows (if not, the
hierarchy read from the indentation is wrong and the file is rejected with rule S1). A top-level row
labelled ``Total…`` is checked against the other top-level rows and dropped the same way. Rows with a
label but no value at all (the caption ``DELITOS O FALTAS``) are skipped.

The national code of a leaf is its label path, levels joined with ``|``
(``Delitos contra la vida o integridad de las personas|Homicidios y femicidios|Homicidios``); the
national label is the same path joined with `` > ``. ``line`` is the spreadsheet row, ``column_name``
the year header of the value's column.

The filter block decides the territory and the measure (spec ``options``):

* ``Regiones`` ``(Todas)`` -> national rows; one region -> ``subdivision_code`` from ``options.regions``
  (official region codes, e.g. ``Región de Atacama: "03"``), ``subdivision_name`` = the region name as
  written; several regions -> rejected (an aggregate of regions is not a subdivision);
* ``Provincias`` and ``Comunas`` must be ``(Todas)``, ``Trimestre`` and ``Mes`` ``(Todos)`` (a partial
  year or a sub-regional selection is rejected rather than mislabelled); ``Año`` must list the header years;
* ``Tipo de Datos`` -> ``measure`` via ``options.data_types``; ``Medida`` -> ``unit`` via ``options.units``.

Layout keys used: ``columns.country_iso3: {const: CHL}``, ``columns.national_code: path`` and
``columns.national_label: path`` (the only supported values), ``values.year_columns`` (regex of the
year headers), ``missing_values``, ``missing_note`` and ``options`` (``regions``, ``data_types``, ``units``,
``indent`` default U+2003, ``sheet`` default 0).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.adapters.errors import Problem, SubmissionError
from pipelines.contracts.tables import RAW_COLUMNS

ALL = {"(todas)", "(todos)"}
MAX_PROBLEMS = 200
_NUM = re.compile(r"\d+(\.\d+)?")


@dataclass(eq=False)
class Row:
    line: int
    depth: int
    label: str
    cells: list  # raw values under the year columns
    children: list["Row"] = field(default_factory=list)
    parent: "Row | None" = None

    @property
    def path(self) -> list[str]:
        return (self.parent.path if self.parent else []) + [self.label]


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _read_sheet(path: Path, sheet, file_name: str) -> list[tuple[int, tuple]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException   # a name openpyxl refuses (.csv)

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, InvalidFileException) as exc:
        raise SubmissionError([Problem(file_name, None, None, "S1", key="not_xlsx",
                                       params={"error": str(exc)})]) from exc
    try:
        if isinstance(sheet, int):
            ws = wb.worksheets[sheet]
        elif sheet in wb.sheetnames:
            ws = wb[sheet]
        else:
            raise SubmissionError([Problem(file_name, None, None, "S1", key="sheet_not_found",
                                           params={"sheet": repr(sheet), "sheets": ", ".join(wb.sheetnames)})])
        return [(i, row) for i, row in enumerate(ws.iter_rows(values_only=True), start=1)]
    finally:
        wb.close()


def parse_report(rows: list[tuple[int, tuple]], year_rx: str, indent: str, file_name: str):
    """Split the sheet into (filters, header_line, year_columns, data_rows).

    ``year_columns`` is a list of (sheet column index, header text, year)."""
    rx = re.compile(year_rx)
    filters: dict[str, tuple[int, str]] = {}
    header_line, years = None, []
    data: list[Row] = []
    for line, row in rows:
        cells = list(row)
        first = _text(cells[0]).strip() if cells else ""
        rest = [(j, _text(v).strip()) for j, v in enumerate(cells[1:], start=1) if _text(v).strip()]
        if header_line is None:
            if not first and rest and all(rx.fullmatch(t) for _, t in rest):
                header_line = line
                years = [(j, t, int(re.search(r"\d{4}", t).group(0))) for j, t in rest]
            elif first and rest:
                filters[first] = (line, rest[0][1])
            continue
        raw_label = _text(cells[0]) if cells else ""
        label = raw_label.lstrip(indent + " \t\xa0")
        if not label.strip():
            continue
        depth = len(raw_label) - len(raw_label.lstrip(indent))
        vals = [cells[j] if j < len(cells) else None for j, _, _ in years]
        data.append(Row(line, depth, label.strip(), vals))
    if header_line is None:
        raise SubmissionError([Problem(file_name, None, None, "S1", key="no_year_header",
                                       params={"pattern": repr(year_rx)})])
    return filters, header_line, years, data


def build_tree(data: list[Row]) -> tuple[list[Row], list[Row]]:
    """Attach every row to the nearest row above it with a smaller indentation.
    Rows without any value (captions such as ``DELITOS O FALTAS``) are returned apart and never used."""
    captions = [r for r in data if all(_text(v).strip() == "" for v in r.cells)]
    rows = [r for r in data if not any(r is c for c in captions)]
    stack: list[Row] = []
    for r in rows:
        while stack and stack[-1].depth >= r.depth:
            stack.pop()
        if stack:
            r.parent = stack[-1]
            stack[-1].children.append(r)
        stack.append(r)
    return rows, captions


def _number(v, missing: set[str]):
    """(value, is_missing, ok)"""
    if isinstance(v, bool):
        return np.nan, False, False
    if isinstance(v, (int, float)):
        return float(v), False, True
    t = _text(v).strip()
    if t in missing:
        return np.nan, True, True
    if _NUM.fullmatch(t):
        return float(t), False, True
    return np.nan, False, False


def adapt(path: Path, layout: dict, *, source_id: str, submission_id: str, file_name: str,
          allowed_countries: set[str] | None = None) -> tuple[pd.DataFrame, dict]:
    opts = layout.get("options") or {}
    cols = layout.get("columns") or {}
    country = (cols.get("country_iso3") or {}).get("const") if isinstance(cols.get("country_iso3"), dict) else None
    if not country:
        raise ValueError(f"layout {layout.get('name')!r}: family cead needs columns.country_iso3: {{const: ...}}")
    for role in ("national_code", "national_label"):
        if cols.get(role, "path") != "path":
            raise ValueError(f"layout {layout.get('name')!r}: family cead supports only {role}: path")
    year_rx = (layout.get("values") or {}).get("year_columns", r"\d{4}")
    indent = opts.get("indent", "\u2003")
    missing = {str(m) for m in layout.get("missing_values", [""])}

    rows = _read_sheet(path, opts.get("sheet", 0), file_name)
    filters, header_line, years, data = parse_report(rows, year_rx, indent, file_name)
    problems: list[Problem] = []

    def filt(name):
        return filters.get(name, (None, None))

    # --- what the numbers are and where ---------------------------------------------------------
    units, data_types = opts.get("units") or {}, opts.get("data_types") or {}
    ln, medida = filt("Medida")
    if medida not in units:
        problems.append(Problem(file_name, ln, "Medida", "S1", value=medida, key="filter_not_declared",
                                params={"filter": "'Medida'", "option": "units", "allowed": ", ".join(units)}))
    ln, tipo = filt("Tipo de Datos")
    if tipo not in data_types:
        problems.append(Problem(file_name, ln, "Tipo de Datos", "S1", value=tipo, key="filter_not_declared",
                                params={"filter": "'Tipo de Datos'", "option": "data_types",
                                        "allowed": ", ".join(data_types)}))
    ln, region = filt("Regiones")
    sub_code = sub_name = None
    if region is None:
        problems.append(Problem(file_name, None, "Regiones", "S1", key="filter_line_missing",
                                params={"filter": "'Regiones'"}))
    elif region.lower() not in ALL:
        regions = opts.get("regions") or {}
        if "," in region:
            problems.append(Problem(file_name, ln, "Regiones", "S1", value=region, key="several_regions"))
        elif region not in regions:
            problems.append(Problem(file_name, ln, "Regiones", "C3", value=region, key="region_not_declared"))
        else:
            sub_code, sub_name = str(regions[region]), region
    for name in ("Provincias", "Comunas", "Trimestre", "Mes"):
        ln, v = filt(name)
        if v is not None and v.lower() not in ALL:
            problems.append(Problem(file_name, ln, name, "S1", value=v, key="filtered_export",
                                    params={"filter": name, "value": repr(v)}))
    ln, listed = filt("Año")
    if listed is not None:
        listed_years = sorted(int(y) for y in re.findall(r"\d{4}", listed))
        if listed_years != sorted(y for _, _, y in years):
            problems.append(Problem(file_name, ln, "Año", "S1", value=listed, key="filter_years_differ",
                                    params={"row": header_line}))
    if allowed_countries is not None and country not in allowed_countries:
        problems.append(Problem(file_name, None, None, "C3", value=country, key="country_not_allowed"))
    if problems:
        raise SubmissionError(problems)

    # --- hierarchy: leaves only, subtotals checked then dropped -----------------------------------
    rows_, captions = build_tree(data)
    parsed = {}
    for r in rows_:
        for k, (j, head, _) in enumerate(years):
            val, miss, ok = _number(r.cells[k], missing)
            if not ok or (not miss and val < 0):
                problems.append(Problem(file_name, r.line, head, "V1", value=_text(r.cells[k]),
                                        key="value_not_non_negative"))
            parsed[(r.line, k)] = (val, miss)
    if problems:
        raise SubmissionError(problems[:MAX_PROBLEMS])
    # a top-level row labelled "Total..." (none in the exports seen so far) is a grand total of the
    # other top-level rows: checked like a subtotal, never emitted
    totals = [r for r in rows_ if r.parent is None and not r.children and r.label.casefold().startswith("total")]
    tops = [r for r in rows_ if r.parent is None and not any(r is t for t in totals)]
    checks = [(r, r.children) for r in rows_ if r.children] + [(t, tops) for t in totals]
    for r, kids_rows in checks:
        for k, (_, head, _) in enumerate(years):
            val, miss = parsed[(r.line, k)]
            kids = [parsed[(c.line, k)] for c in kids_rows]
            if miss or any(m for _, m in kids):
                continue
            total = sum(v for v, _ in kids)
            if total != val:
                problems.append(Problem(file_name, r.line, head, "S1", value=_text(r.cells[k]),
                                        key="subtotal_mismatch",
                                        params={"label": repr(r.label), "subtotal": f"{val:g}", "n": len(kids),
                                                "lines": ", ".join(str(c.line) for c in kids_rows),
                                                "total": f"{total:g}"}))
    if problems:
        raise SubmissionError(problems[:MAX_PROBLEMS])
    leaves = [r for r in rows_ if not r.children and not any(r is t for t in totals)]
    if not leaves:
        raise SubmissionError([Problem(file_name, header_line, None, "S1", key="no_offence_rows")])

    # --- long table -------------------------------------------------------------------------------
    note = layout.get("missing_note", "empty cell: not reported (not zero)")
    src_note = f"CEAD report filter: {tipo}; {medida}; Regiones={region}"
    recs = []
    for r in leaves:
        for k, (_, head, year) in enumerate(years):
            val, miss = parsed[(r.line, k)]
            recs.append({"line": r.line, "column_name": head, "year": year, "national_code": "|".join(r.path),
                         "national_label": " > ".join(r.path), "value": val,
                         "value_raw": _text(r.cells[k]).strip(), "obs_status": "M" if miss else "A",
                         "obs_note": note if miss else None})
    out = pd.DataFrame.from_records(recs)
    out["submission_id"], out["source_id"], out["file_name"] = submission_id, source_id, file_name
    out["country_iso3"], out["subdivision_code"], out["subdivision_name"] = country, sub_code, sub_name
    out["month"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["measure"], out["unit"] = str(data_types[tipo]), str(units[medida])
    out["sex"] = out["age"] = out["relationship"] = "_T"
    out["source_note"] = src_note
    out["line"] = out["line"].astype("int64")
    out["year"] = out["year"].astype("int64")
    out["value"] = out["value"].astype("float64")
    for c in ("subdivision_code", "subdivision_name", "obs_note"):
        out[c] = out[c].astype("str").where(out[c].notna(), None)
    out = out[RAW_COLUMNS]
    stats = {"file_rows": len(data), "leaf_rows": len(leaves), "subtotal_rows": len(rows_) - len(leaves) - len(totals),
             "total_rows": len(totals), "caption_rows": len(captions),
             "dropped_rows": len(rows_) - len(leaves) + len(captions),
             "out_of_scope_rows": 0, "rows": len(out), "header_line": header_line,
             "filters": {k: v for k, (_, v) in filters.items()}}
    return out, stats
