"""Dates are read as the source spec declares them, never guessed (issue 9, item 8).

``5/3/2023`` is 5 March in Latin America and 3 May month-first. The adapter used to read date columns
with ``pd.to_datetime(format="mixed")``: a day-first record-level file moved its cases to other months
and, with record_sum's zero-fill up to the latest month reached, a three-month file became a twelve-month
year. Now (pipelines/adapters/dates.py) a date column accepts workbook date cells, ISO 8601 text when the
spec declares no format, and otherwise only text matching the role's ``date_format``.

The main test writes the REAL Costa Rica OIJ 2023 workbook as a Spanish-locale spreadsheet exports it
(``;`` separator, cp1252, ``d/m/yyyy`` dates without zero padding) and compares hemistat's months with
counts computed here from the original workbook with openpyxl (not with hemistat).
"""

from __future__ import annotations

import collections
import copy
import csv
import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from pipelines.adapters import SubmissionError, adapt_file, load_spec
from tests.conftest import real

REPO = Path(__file__).resolve().parents[2]
REF = REPO / "reference"
CR_FILE = "estadisticaspoliciales2023.xlsx"
CSV_READER = {"format": "csv", "encoding": "cp1252", "delimiter": ";"}
DAY_FIRST = "%d/%m/%Y"


# ---------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------
def _spec(tmp_path: Path, *, reader: dict | None = None, date_format=None, family: str = "record_sum",
          month_format=None, name: str = "ref"):
    """cr_oij's spec with its layout adapted (reader, date_format), written to a private reference
    folder and loaded (so the schema and the spec checks run as for the real specs)."""
    raw = yaml.safe_load((REF / "sources" / "cr_oij.yaml").read_text(encoding="utf-8"))
    layout = raw["layouts"][0]
    if reader is not None:
        layout["reader"] = reader
    for role, fmt in (("year", date_format), ("month", month_format if month_format is not None else date_format)):
        if fmt is not None:
            layout["columns"][role]["date_format"] = fmt
    if family == "tabular":
        layout["family"] = "tabular"
        layout.pop("options", None)
    ref = tmp_path / name
    (ref / "sources").mkdir(parents=True)
    shutil.copyfile(REF / "sources" / "source.schema.json", ref / "sources" / "source.schema.json")
    (ref / "sources" / "cr_oij.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
                                                 encoding="utf-8")
    return load_spec("cr_oij", ref)


def _adapt(path: Path, spec):
    return adapt_file(path, spec, submission_id="t", file_name=path.name)


def _problems(path: Path, spec):
    with pytest.raises(SubmissionError) as exc:
        _adapt(path, spec)
    return exc.value.problems


def _spanish_csv_text(v) -> str:
    """A cell as a Spanish-locale spreadsheet writes it to CSV: d/m/yyyy, decimal comma."""
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return f"{v.day}/{v.month}/{v.year}" + (f" {v:%H:%M}" if v.time() != dt.time(0) else "")
    if isinstance(v, float):
        return (str(int(v)) if v.is_integer() else repr(v)).replace(".", ",")
    return str(v)


def _write_csv(path: Path, rows, encoding: str = "cp1252") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=";", lineterminator="\r\n").writerows(rows)
    return path


@pytest.fixture(scope="module")
def oij():
    """The real OIJ workbook read with openpyxl: (rows as values, independent counts)."""
    wb = openpyxl.load_workbook(real(f"cr_oij/{CR_FILE}"), read_only=True, data_only=True)
    try:
        rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()
    header = [str(c).strip() for c in rows[0]]
    fecha, prov = header.index("Fecha"), header.index("Provincia")
    assert all(isinstance(r[fecha], dt.datetime) for r in rows[1:])
    by_month = collections.Counter((r[fecha].year, r[fecha].month) for r in rows[1:])
    by_prov_month = collections.Counter((r[prov], r[fecha].year, r[fecha].month) for r in rows[1:])
    return rows, by_month, by_prov_month


@pytest.fixture(scope="module")
def oij_csv(oij, tmp_path_factory) -> Path:
    """The real OIJ records as a Spanish-locale spreadsheet exports them to CSV."""
    rows, _, _ = oij
    p = tmp_path_factory.mktemp("oij_csv") / "estadisticaspoliciales2023.csv"
    return _write_csv(p, [[_spanish_csv_text(v) for v in r] for r in rows])


def _months(df: pd.DataFrame) -> dict[tuple[int, int], float]:
    return {(int(y), int(m)): v for (y, m), v in df.groupby(["year", "month"])["value"].sum().items()}


# ---------------------------------------------------------------------------------------------------
# (a) real OIJ records, day-first CSV, declared format: every case in its month
# ---------------------------------------------------------------------------------------------------
def test_day_first_csv_of_real_oij_records_puts_every_case_in_its_month(oij, oij_csv, tmp_path):
    rows, by_month, by_prov_month = oij
    text = oij_csv.read_text(encoding="cp1252")
    assert text.splitlines()[1].split(";")[2] == "31/3/2023"      # as exported: d/m/yyyy, no zero padding
    assert ";1/3/2023;" in text and ";5/1/2023;" in text           # 5 January, not 1 May
    assert sum(by_month.values()) == 23_256 and set(by_month) == {(2023, 1), (2023, 2), (2023, 3)}

    df, stats = _adapt(oij_csv, _spec(tmp_path, reader=CSV_READER, date_format=DAY_FIRST))
    assert stats["records"] == 23_256 and df["value"].sum() == 23_256
    assert _months(df) == {k: float(v) for k, v in by_month.items()}
    assert _months(df) == {(2023, 1): 7_793.0, (2023, 2): 7_662.0, (2023, 3): 7_801.0}
    # by province and month too (names as published; the 2 DESCONOCIDO rows included)
    got = df.groupby(["subdivision_name", "year", "month"])["value"].sum()
    assert {(p, int(y), int(m)): v for (p, y, m), v in got.items() if v} == \
        {k: float(v) for k, v in by_prov_month.items()}
    # zero-fill stays within the months the file reaches: January to March, never a full year
    assert set(df["month"]) == {1, 2, 3}


def test_day_first_csv_gives_the_same_table_as_the_workbook(oij_csv, tmp_path):
    """(d) the real xlsx with typed date cells reads as before, and the day-first CSV of the same
    records gives exactly the same cells."""
    from_csv, _ = _adapt(oij_csv, _spec(tmp_path, reader=CSV_READER, date_format=DAY_FIRST))
    from_xlsx, st = _adapt(real(f"cr_oij/{CR_FILE}"), load_spec("cr_oij", REF))
    assert st["records"] == 23_256 and _months(from_xlsx) == {(2023, 1): 7_793.0, (2023, 2): 7_662.0,
                                                              (2023, 3): 7_801.0}
    cols = ["subdivision_code", "subdivision_name", "year", "month", "national_code", "value", "line",
            "column_name", "obs_note"]
    a = from_csv[cols].sort_values(cols[:5]).reset_index(drop=True)
    b = from_xlsx[cols].sort_values(cols[:5]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------------------------------------------
# (b) the same file without the declaration is refused; (c) a value off the declared format
# ---------------------------------------------------------------------------------------------------
def test_day_first_csv_without_declared_format_is_refused(oij_csv, tmp_path):
    """Regression: the code before the fix read this file month-first, without a word, and published
    cases in all twelve months of 2023."""
    probs = _problems(oij_csv, _spec(tmp_path, reader=CSV_READER))
    assert len(probs) == 1                                  # one per column (year and month share it)
    p = probs[0]
    assert (p.file, p.line, p.column, p.value, p.rule, p.key) == \
        ("estadisticaspoliciales2023.csv", 2, "Fecha", "31/3/2023", "S1", "date_format_undeclared")
    assert p.params["count"] == 23_256
    text = str(p)
    for part in ("estadisticaspoliciales2023.csv", "line 2", "'Fecha'", "'31/3/2023'", "date_format",
                 "never guessed"):
        assert part in text, (part, text)
    es = p.render("es")
    assert "'31/3/2023'" in es and "'Fecha'" in es and "date_format" in es and "nunca se adivinan" in es


def test_unambiguous_looking_dates_are_not_guessed_either(tmp_path):
    """25/3/2023 can only be day-first, but the column's 5/3/2023 cannot: no format is inferred."""
    p = _write_csv(tmp_path / "f.csv", [["Delito", "SubDelito", "Fecha", "Provincia"],
                                        ["ROBO", "ROBO", "25/3/2023", "LIMON"],
                                        ["ROBO", "ROBO", "26/3/2023", "LIMON"]])
    [prob] = _problems(p, _spec(tmp_path, reader=CSV_READER))
    assert (prob.line, prob.column, prob.value, prob.key) == (2, "Fecha", "25/3/2023", "date_format_undeclared")
    assert prob.params["count"] == 2
    p2 = _write_csv(tmp_path / "g.csv", [["Delito", "SubDelito", "Fecha", "Provincia"],
                                         ["ROBO", "ROBO", "05-03-2023", "LIMON"]])
    [prob] = _problems(p2, _spec(tmp_path, reader=CSV_READER, name="ref2"))
    assert (prob.line, prob.value, prob.key) == (2, "05-03-2023", "date_format_undeclared")


def test_value_not_matching_the_declared_format_is_refused_with_its_line(tmp_path):
    rows = [["Delito", "SubDelito", "Fecha", "Provincia"]]
    rows += [["ROBO", "ROBO", f"{d}/1/2023", "LIMON"] for d in range(1, 30)]
    rows[5][2] = "2023-01-05"          # line 6: ISO text in a column declared d/m/yyyy
    rows[10][2] = "1/31/2023"          # line 11: month-first
    rows[15][2] = "15/01/23"           # line 16: two-digit year
    rows[20][2] = "30/2/2023"          # line 21: no such day
    p = _write_csv(tmp_path / "denuncias.csv", rows)
    probs = _problems(p, _spec(tmp_path, reader=CSV_READER, date_format=DAY_FIRST))
    assert [(x.line, x.column, x.value, x.key) for x in probs] == [
        (6, "Fecha", "2023-01-05", "date_not_in_format"), (11, "Fecha", "1/31/2023", "date_not_in_format"),
        (16, "Fecha", "15/01/23", "date_not_in_format"), (21, "Fecha", "30/2/2023", "date_not_in_format")]
    assert all(x.file == "denuncias.csv" and x.rule == "S1" for x in probs)
    assert "'1/31/2023'" in probs[1].message and "'%d/%m/%Y'" in probs[1].message
    assert "'%d/%m/%Y'" in probs[1].render("fr")


def test_several_declared_formats_and_ambiguity(tmp_path):
    rows = [["Delito", "SubDelito", "Fecha", "Provincia"],
            ["ROBO", "ROBO", "5/3/2023", "LIMON"],
            ["ROBO", "ROBO", "5/3/2023 14:30", "LIMON"],
            ["ROBO", "ROBO", "28/12/2023", "LIMON"]]
    p = _write_csv(tmp_path / "f.csv", rows)
    df, _ = _adapt(p, _spec(tmp_path, reader=CSV_READER, date_format=[DAY_FIRST, "%d/%m/%Y %H:%M"]))
    assert _months(df)[(2023, 3)] == 2 and _months(df)[(2023, 12)] == 1
    # two formats that read 5/3/2023 as different dates: refused, never picked
    probs = _problems(p, _spec(tmp_path, reader=CSV_READER, date_format=[DAY_FIRST, "%m/%d/%Y"], name="r2"))
    assert [(x.line, x.value, x.key) for x in probs] == [(2, "5/3/2023", "date_formats_ambiguous"),
                                                         (3, "5/3/2023 14:30", "date_not_in_format")]


def test_spec_date_format_checks(tmp_path):
    with pytest.raises(ValueError, match="different date_format"):
        _spec(tmp_path, reader=CSV_READER, date_format=DAY_FIRST, month_format="%m/%d/%Y", name="a")
    with pytest.raises(ValueError, match="invalid source spec"):           # %y: a guessed century
        _spec(tmp_path, reader=CSV_READER, date_format="%d/%m/%y", name="b")
    with pytest.raises(ValueError, match="no month"):
        _spec(tmp_path, reader=CSV_READER, date_format="%Y", name="c")


# ---------------------------------------------------------------------------------------------------
# the zero-fill cannot turn misread months into a complete year
# ---------------------------------------------------------------------------------------------------
def test_day_first_nine_month_file_publishes_months_1_to_9_only(tmp_path):
    """Every day 1..28 of January..September 2023, day-first, days <= 12 included (month-first they
    would be months 1..12). The zero-fill reaches September, not December."""
    rows = [["Delito", "SubDelito", "Fecha", "Provincia"]]
    expected = collections.Counter()
    for m in range(1, 10):
        for d in range(1, 29):
            prov = ["SAN JOSE", "LIMON"][(d + m) % 2]
            sub = ["ROBO", "HURTO"][d % 2]
            rows.append([sub, sub, f"{d}/{m}/2023", prov])
            expected[m] += 1
    p = _write_csv(tmp_path / "nueve_meses.csv", rows)
    df, stats = _adapt(p, _spec(tmp_path, reader=CSV_READER, date_format=DAY_FIRST))
    assert stats["records"] == 9 * 28
    per_year = df.groupby("year")["month"].agg(["min", "max", "nunique"])
    assert per_year.loc[2023].tolist() == [1, 9, 9]
    assert _months(df) == {(2023, m): float(n) for m, n in expected.items()}
    # every series (province x offence) has the nine months, zero-filled where it had no record
    assert (df.groupby(["subdivision_code", "national_code"])["month"].nunique() == 9).all()
    # the same file without the declaration is refused instead of becoming a twelve-month year
    [prob] = _problems(p, _spec(tmp_path, reader=CSV_READER, name="ref2"))
    assert (prob.line, prob.value, prob.key) == (2, "1/1/2023", "date_format_undeclared")


# ---------------------------------------------------------------------------------------------------
# (e) ISO 8601 without declaration; typed workbook cells with and without a declared format
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["record_sum", "tabular"])
def test_iso_dates_need_no_declaration(tmp_path, family):
    rows = [["Delito", "SubDelito", "Fecha", "Provincia"],
            ["ROBO", "ROBO", "2023-03-05", "LIMON"],
            ["ROBO", "ROBO", "2023-03-05T14:30:00", "LIMON"],
            ["ROBO", "ROBO", "2023-12-01 08:00", "LIMON"],
            ["ROBO", "ROBO", "2024-01-31", "LIMON"]]
    p = _write_csv(tmp_path / "iso.csv", rows)
    df, _ = _adapt(p, _spec(tmp_path, reader=CSV_READER, family=family))
    got = {k: v for k, v in _months(df).items() if v}
    assert got == {(2023, 3): 2.0, (2023, 12): 1.0, (2024, 1): 1.0}
    rows[2][2] = "2023-02-30"
    p = _write_csv(tmp_path / "iso_bad.csv", rows)
    [prob] = _problems(p, _spec(tmp_path, reader=CSV_READER, family=family, name="ref2"))
    assert (prob.line, prob.column, prob.value, prob.key) == (3, "Fecha", "2023-02-30", "not_a_date")
    assert "'2023-02-30'" in prob.message


def test_workbook_date_cells_are_dates_text_cells_need_the_format(tmp_path):
    """Typed date cells are read as the dates they are, with or without date_format; text cells in the
    same column follow the same rules as CSV text."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Delito", "SubDelito", "Fecha", "Provincia"])
    ws.append(["ROBO", "ROBO", dt.datetime(2023, 3, 5), "LIMON"])     # typed: 5 March
    ws.append(["ROBO", "ROBO", dt.datetime(2023, 1, 12), "LIMON"])    # typed: 12 January
    ws.append(["ROBO", "ROBO", "7/2/2023", "LIMON"])                  # text: day-first 7 February
    p = tmp_path / "mixto.xlsx"
    wb.save(p)
    reader = {"format": "xlsx", "sheet": 0, "header_row": 1}
    [prob] = _problems(p, _spec(tmp_path, reader=reader))
    assert (prob.line, prob.column, prob.value, prob.key) == (4, "Fecha", "7/2/2023", "date_format_undeclared")
    assert prob.params["count"] == 1
    df, _ = _adapt(p, _spec(tmp_path, reader=reader, date_format=DAY_FIRST, name="ref2"))
    assert {k: v for k, v in _months(df).items() if v} == {(2023, 1): 1.0, (2023, 2): 1.0, (2023, 3): 1.0}
    # only typed cells: no declaration needed (the real OIJ and Colombian workbooks)
    ws.delete_rows(4)
    wb.save(p)
    df, _ = _adapt(p, _spec(tmp_path, reader=reader, name="ref3"))
    assert {k: v for k, v in _months(df).items() if v} == {(2023, 1): 1.0, (2023, 3): 1.0}


def test_real_specs_with_date_parts_declare_no_format_and_read_typed_cells():
    """Every real spec that takes dates from a column reads workbook date cells (no format needed)."""
    users = {}
    for p in sorted((REF / "sources").glob("*.yaml")):
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
        for lay in raw["layouts"]:
            for role, spec in (lay.get("columns") or {}).items():
                if isinstance(spec, dict) and spec.get("date_part"):
                    users.setdefault(raw["source_id"], set()).add((lay["reader"].get("format"), role))
    assert users == {"cr_oij": {("xlsx", "year"), ("xlsx", "month")},
                     "co_policia": {("xlsx", "year"), ("xlsx", "month")}}
    spec = copy.deepcopy(load_spec("co_policia", REF))
    df, st = _adapt(real("co_policia/secuestro_2019_3.xlsx"), spec)
    assert set(df["year"]) == {2019} and df["month"].between(1, 12).all() and st["quantity_sum"] == 92
