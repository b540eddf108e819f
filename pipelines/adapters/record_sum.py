"""The ``record_sum`` format family: record-level files (one row per event, victim or victim group)
aggregated to one cell per combination of roles, **summing a quantity column** or counting rows.

``tabular`` with ``values: {count_records: true}`` counts rows. Some publishers put several victims or
vehicles on one row with a quantity column (Colombia, Policía Nacional/DIJIN: ``CANTIDAD`` is usually 1
but up to 15), so the number of rows is not the number of victims. This family reads the file with the
``tabular`` reader and role machinery (same ``reader``, ``columns`` and ``drop_rows`` syntax) and then:

``values: {column: CANTIDAD}``
    the value of a cell is the **sum** of that column over the rows of the group (each entry must be a
    non-negative whole number). ``values: {count_records: true}`` counts rows instead.

``options`` (all optional)

``variants: [...]``
    One entry per file of the source that needs different roles, chosen by the file's **header** and,
    where files share a header, by the **file name** (``adapt_file`` hands a custom family the first
    custom layout without looking at the header, so the choice among files is made here). An entry has
    ``name``, ``columns`` (roles merged over the layout's, key by key), optionally ``values`` and
    ``drop_rows`` (added), ``absent_columns`` (header must not have them) and ``file_name`` (regular
    expression searched in the file name, case-insensitive). Exactly one variant must match, else the
    file is rejected (S1) with the reason each variant was refused. ``stats["variant"]`` names it.
``totals_over: [sex]``
    Roles read from a column that the publisher does not total: besides the cells by that role, the
    family emits the total with the role set to ``_T`` (so ``_T`` = sum of ``F`` + ``M`` + ``_U``).
``validate: {role: regex}`` / ``truncate: {role: n}``
    Check a role's text against a pattern (S1 problem otherwise; empty fails), then keep its first ``n``
    characters (Colombia: ``CODIGO DANE`` ``05001000`` = 5-digit DIVIPOLA municipality ``05001`` +
    ``000`` centro-poblado suffix, kept as ``05001``).
``zero_fill: true``
    A record-level file has no row for a month without events, so every series (one combination of the
    roles other than year and month) that has at least one record in a year gets an explicit ``0`` for
    each month from January to the **latest month the file reaches in that year** (file-wide, not
    per series). Empty (not reported) and zero are different things in aggregated files; in a
    record-level file the absence of records within the period it covers *is* zero recorded. Filled cells
    have ``column_name = "(no records)"``, the header's line and an ``obs_note`` saying so. The months
    reached come from dates read as the spec declares (``pipelines/adapters/dates.py``): a day-first
    file without ``date_format`` is refused, never read month-first into a "complete" year.

``line`` of a cell is the first spreadsheet row of its group; ``value_raw`` is the sum as text.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.adapters.dates import prepare_date_columns
from pipelines.adapters.errors import Problem, SubmissionError
from pipelines.adapters.tabular import (
    DEFAULTS,
    MAX_PROBLEMS,
    ROLE_COLUMNS,
    _role_series,
    check_header,
    drop_rows,
    parse_numbers,
    read_records,
    required_columns,
    to_raw_table,
)

KEY_ROLES = ["country_iso3", "subdivision_code", "year", "month", "national_code", "measure", "unit", "sex",
             "age", "relationship"]
CARRY_ROLES = ["subdivision_name", "national_label", "source_note", "obs_note"]
ZERO_NOTE = "no record in the file for this month: 0 recorded (record-level file)"
ZERO_COLUMN = "(no records)"


VARIANT_KEYS = {"name", "file_name", "absent_columns", "columns", "values", "drop_rows"}


def _check_layout_schema(merged: dict) -> None:
    """A variant merged over its layout must still be a valid layout (catches misspelt roles)."""
    from pipelines.specs.source import check_layout

    check_layout(merged)


def _merge(layout: dict, variant: dict) -> dict:
    merged = {k: v for k, v in layout.items() if k != "options"}
    merged["options"] = {k: v for k, v in (layout.get("options") or {}).items() if k != "variants"}
    merged["columns"] = {**(layout.get("columns") or {}), **(variant.get("columns") or {})}
    if "values" in variant:
        merged["values"] = variant["values"]
    merged["drop_rows"] = list(layout.get("drop_rows") or []) + list(variant.get("drop_rows") or [])
    merged["name"] = f"{layout['name']}/{variant['name']}"
    return merged


def select_variant(header: list[str], header_line: int, layout: dict, file_name: str) -> tuple[dict, str | None]:
    """The layout with the one matching variant merged in (or the layout itself when it has none)."""
    variants = (layout.get("options") or {}).get("variants")
    if not variants:
        return layout, None
    base = Path(file_name).name
    matches, refused = [], []
    for v in variants:
        unknown = sorted(set(v) - VARIANT_KEYS)
        if unknown or "name" not in v:
            raise ValueError(f"layout {layout['name']!r}: variant {v.get('name')!r} has unknown key(s) {unknown} "
                             f"or no name (allowed: {', '.join(sorted(VARIANT_KEYS))})")
        merged = _merge(layout, v)
        _check_layout_schema(merged)
        missing = [c for c in required_columns(merged) if c not in header]
        unexpected = [c for c in v.get("absent_columns", []) if c in header]
        pattern = v.get("file_name")
        if missing:
            refused.append({"key": "variant_needs_columns",
                            "params": {"variant": repr(v["name"]), "columns": ", ".join(missing)}})
        elif unexpected:
            refused.append({"key": "variant_expects_no_columns",
                            "params": {"variant": repr(v["name"]), "columns": ", ".join(unexpected)}})
        elif pattern and not re.search(pattern, base, flags=re.IGNORECASE):
            refused.append({"key": "variant_expects_file_name",
                            "params": {"variant": repr(v["name"]), "pattern": repr(pattern)}})
        else:
            matches.append((v["name"], merged))
    if len(matches) == 1:
        return matches[0][1], matches[0][0]
    if not matches:
        key, params = "no_variant_matches", {"layout": repr(layout["name"]), "refused": refused}
    else:
        key, params = "several_variants_match", {"variants": ", ".join(n for n, _ in matches)}
    raise SubmissionError([Problem(file_name, header_line, None, "S1", value=base, key=key, params=params)])


def _groups(base: pd.DataFrame, keys: list[str], carry: list[str]) -> pd.DataFrame:
    filled = base.copy()
    for c in keys:
        if filled[c].dtype != "int64":
            filled[c] = filled[c].astype(object).where(filled[c].notna(), "\x00")
    agg = {"__line": "min", "__qty": "sum"}
    agg.update({c: "first" for c in carry})
    g = filled.groupby(keys, sort=False, dropna=False).agg(agg).reset_index()
    for c in keys:
        if g[c].dtype != "int64":
            g[c] = g[c].where(g[c] != "\x00", None)
    return g


def adapt(path: Path, layout: dict, *, source_id: str, submission_id: str, file_name: str,
          allowed_countries: set[str] | None = None) -> tuple[pd.DataFrame, dict]:
    reader = layout.get("reader", {})
    header, header_line, records = read_records(path, reader, file_name)
    layout, variant = select_variant(header, header_line, layout, file_name)
    check_header(header, header_line, layout, file_name)
    opts = layout.get("options") or {}
    values = layout["values"]
    if not (values.get("column") or values.get("count_records")):
        raise SubmissionError([Problem(file_name, None, None, "S1", key="record_sum_no_quantity")])

    width = len(header)
    problems: list[Problem] = []
    good = []
    for line, fields in records:
        if len(fields) > width and all(not f.strip() for f in fields[width:]):
            fields = fields[:width]
        if len(fields) != width:
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
    df = pd.DataFrame([f for _, f in good], columns=header, dtype="str")
    df["__line"] = np.fromiter((ln for ln, _ in good), dtype="int64", count=len(good))
    stats = {"file_rows": len(df), "dropped_rows": 0, "out_of_scope_rows": 0}
    if variant:
        stats["variant"] = variant

    df = drop_rows(df, layout, stats)

    roles: dict[str, pd.Series] = {}
    prepare_date_columns(df, records, layout)
    dates: dict = {}  # one parse per date column: year and month of a column come from the same date
    for role, spec in (layout.get("columns") or {}).items():
        roles[role] = _role_series(df, role, spec, file_name, problems, dates)
    if problems:
        raise SubmissionError(problems[:MAX_PROBLEMS])
    for role in ("country_iso3", "national_code", "year"):
        if role not in roles:
            raise SubmissionError([Problem(file_name, None, None, "S1", key="spec_missing_role",
                                           params={"role": role})])

    def _col(role):
        spec = layout["columns"].get(role)
        if isinstance(spec, str):
            return spec
        return (spec or {}).get("column") or ", ".join((spec or {}).get("join", [])) or None

    for role, rx in (opts.get("validate") or {}).items():
        s = roles[role]
        bad = ~s.fillna("").str.fullmatch(rx)
        for idx in df.index[bad][:MAX_PROBLEMS]:
            problems.append(Problem(file_name, int(df.at[idx, "__line"]), _col(role), "S1",
                                    value=None if pd.isna(s.at[idx]) else str(s.at[idx]), key="value_does_not_match",
                                    params={"role": role, "pattern": repr(rx)}))
    for role in ("national_code", "year"):
        s = roles[role]
        for idx in df.index[s.isna() | (s.fillna("").str.strip() == "")][:MAX_PROBLEMS]:
            problems.append(Problem(file_name, int(df.at[idx, "__line"]), _col(role), "S1", key="empty_role",
                                    params={"role": role}))
    if problems:
        raise SubmissionError(problems[:MAX_PROBLEMS])
    for role, n in (opts.get("truncate") or {}).items():
        rest = roles[role].str.slice(int(n))
        # e.g. DIVIPOLA centro-poblado digits other than 000: rows of one municipality that are not its
        # cabecera; they are still that municipality's, but the count is worth seeing
        stats[f"{role}_truncated_nonzero"] = int((rest.fillna("").str.strip("0") != "").sum())
        roles[role] = roles[role].str.slice(0, int(n))

    if allowed_countries is not None and layout.get("scope") == "oas_members":
        keep = roles["country_iso3"].isin(allowed_countries)
        stats["out_of_scope_rows"] = int((~keep).sum())
        df = df[keep]
        roles = {k: v[keep] for k, v in roles.items()}

    year = pd.to_numeric(roles["year"], errors="coerce")
    for idx in df.index[year.isna() | (year % 1 != 0)][:MAX_PROBLEMS]:
        problems.append(Problem(file_name, int(df.at[idx, "__line"]), _col("year"), "S1",
                                value=str(roles["year"].at[idx]), key="year_not_integer"))

    # quantity per row ------------------------------------------------------------------------------
    if values.get("count_records"):
        qty = pd.Series(1.0, index=df.index)
        qty_col = "(records)"
    else:
        qty_col = values["column"]
        raw = df[qty_col].fillna("").str.strip()
        qty = parse_numbers(raw, reader.get("decimal", "."), reader.get("thousands"))
        bad = qty.isna() | (qty < 0) | (qty % 1 != 0)
        for idx in df.index[bad][:MAX_PROBLEMS]:
            problems.append(Problem(file_name, int(df.at[idx, "__line"]), qty_col, "V1",
                                    value=str(raw.at[idx]), key="quantity_not_whole"))
    if problems:
        raise SubmissionError(problems[:MAX_PROBLEMS])

    base = pd.DataFrame({"__line": df["__line"], "__qty": qty}, index=df.index)
    for role in ROLE_COLUMNS:
        if role in roles:
            base[role] = roles[role]
    base["year"] = year.astype("int64")
    for k, v in {**DEFAULTS, **(values.get("defaults") or {})}.items():
        if k not in base.columns:
            base[k] = v
        else:
            base[k] = base[k].fillna(v)
    if "month" not in base.columns:
        base["month"] = None
    for c in KEY_ROLES + CARRY_ROLES:
        if c not in base.columns:
            base[c] = None
    stats["records"] = len(base)
    stats["quantity_sum"] = float(base["__qty"].sum())

    # aggregate: by every role, plus the totals over the roles the publisher does not total -----------
    def _is_const(role):
        spec = layout["columns"][role]
        return isinstance(spec, dict) and "const" in spec

    totals_over = [r for r in (opts.get("totals_over") or []) if r in roles and not _is_const(r)]
    parts = []
    for k in range(len(totals_over) + 1):
        for subset in itertools.combinations(totals_over, k):
            b = base.copy()
            for r in subset:
                b[r] = "_T"
            parts.append(_groups(b, KEY_ROLES, CARRY_ROLES))
    out = pd.concat(parts, ignore_index=True)
    out["column_name"] = qty_col
    out["obs_status"] = "A"

    # zero-fill months without records (within the months the file reaches in each year) ------------
    if opts.get("zero_fill") and out["month"].notna().any():
        out["month"] = pd.to_numeric(out["month"]).astype("Int64")
        reach = out.dropna(subset=["month"]).groupby("year")["month"].max()
        series = [c for c in KEY_ROLES if c != "month"]
        s = out.dropna(subset=["month"])[series + CARRY_ROLES].copy()
        s = s.astype({c: object for c in s.columns if c != "year"})
        s = s.fillna({c: "\x00" for c in series if c != "year"}).drop_duplicates(series)
        grid = pd.concat([s.assign(month=m) for m in range(1, int(reach.max()) + 1)], ignore_index=True)
        grid = grid[grid["month"] <= grid["year"].map(reach)]
        have = out.dropna(subset=["month"])[series + ["month"]].astype({c: object for c in series if c != "year"})
        have = have.fillna({c: "\x00" for c in series if c != "year"})
        have["month"] = have["month"].astype("int64")
        grid = grid.merge(have.assign(__have=True), on=series + ["month"], how="left")
        grid = grid[grid["__have"].isna()].drop(columns="__have")
        for c in series:
            if c != "year":
                grid[c] = grid[c].where(grid[c] != "\x00", None)
        grid["__line"] = header_line
        grid["__qty"] = 0.0
        grid["column_name"] = ZERO_COLUMN
        grid["obs_status"] = "A"
        grid["obs_note"] = ZERO_NOTE
        stats["zero_filled"] = len(grid)
        out = pd.concat([out, grid], ignore_index=True)

    out["value"] = out.pop("__qty").astype("float64")
    out["value_raw"] = out["value"].map(lambda v: str(int(v)))
    out["line"] = out.pop("__line").astype("int64")
    out["month"] = pd.to_numeric(out["month"], errors="coerce").astype("Int64")
    out["year"] = out["year"].astype("int64")
    out = to_raw_table(out, submission_id=submission_id, source_id=source_id, file_name=file_name)
    out = out.sort_values(["national_code", "subdivision_code", "year", "month", "sex", "line"],
                          na_position="first", kind="stable").reset_index(drop=True)
    stats["rows"] = len(out)
    return out, stats
