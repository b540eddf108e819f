"""The record-level workbook reader (``adapters.tabular.xlsx_rows``, calamine) gives exactly the cells openpyxl
gives: every sheet of every real workbook in ../shared, read both ways, compared cell by cell as the adapters
render them (``_cell_text``), with the row numbers the problems name. Plus the cases real files do not have
(dates at midnight, a table that starts at C3, a missing sheet, a file that is no workbook).

One difference, in calamine's favour: OOXML escapes a control character in text as ``_xHHHH_`` (the UNODC ICCS
workbook has ``_x000D_``, a carriage return, at the end of some labels); calamine decodes it, openpyxl leaves
the escape in the text. The comparison decodes openpyxl's text the way the standard says."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import openpyxl
import pytest

from pipelines.adapters import SubmissionError
from pipelines.adapters.tabular import _cell_text, read_xlsx_records, xlsx_rows

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"


_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _text_rows(rows, unescape: bool = False) -> list[list[str]]:
    out = [[_cell_text(v) for v in r] for r in rows]
    if unescape:
        out = [[_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), c) for c in r] for r in out]
    for r in out:
        while r and r[-1] == "":
            r.pop()
    while out and not out[-1]:
        out.pop()
    return out


def _openpyxl_rows(path: Path, sheet: int) -> list[list[str]]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return _text_rows(wb.worksheets[sheet].iter_rows(values_only=True), unescape=True)
    finally:
        wb.close()


@pytest.mark.real
@pytest.mark.parametrize("path", sorted(SHARED.glob("*/*.xlsx")) or [pytest.param(None, marks=pytest.mark.skip)],
                         ids=lambda p: p.name if p else "none")
def test_every_real_workbook_reads_cell_for_cell_as_openpyxl_reads_it(path):
    wb = openpyxl.load_workbook(path, read_only=True)
    n = len(wb.worksheets)
    wb.close()
    for sheet in range(n):
        want = _openpyxl_rows(path, sheet)
        got = _text_rows(xlsx_rows(path, sheet, path.name))
        assert len(got) == len(want), (path.name, sheet)
        for line, (g, w) in enumerate(zip(got, want), 1):
            assert g == w, (path.name, sheet, line)


def test_dates_offsets_and_types_match_openpyxl(tmp_path):
    p = tmp_path / "cells.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "datos"
    ws["C3"], ws["D3"], ws["E3"], ws["F3"] = "FECHA", "HORA", "CANTIDAD", "CODIGO"
    ws["C4"], ws["D4"], ws["E4"], ws["F4"] = dt.datetime(2019, 1, 5), dt.time(13, 5), 3, "05001000"
    ws["C6"], ws["D6"], ws["E6"], ws["F6"] = dt.datetime(2019, 2, 1, 8, 30), None, 2.5, True
    wb.save(p)
    assert _text_rows(xlsx_rows(p, "datos", "cells.xlsx")) == _openpyxl_rows(p, 0)
    header, line, records = read_xlsx_records(p, {"format": "xlsx", "sheet": "datos", "header_contains": ["FECHA"]},
                                              "cells.xlsx")
    assert header == ["", "", "FECHA", "HORA", "CANTIDAD", "CODIGO"] and line == 3
    # row 5 is empty: skipped, and the line numbers stay the spreadsheet's
    assert [r[0] for r in records] == [4, 6]
    assert records[0][1][2:] == ["2019-01-05T00:00:00", "13:05:00", "3", "05001000"]
    assert records[1][1][2:] == ["2019-02-01T08:30:00", "", "2.5", "true"]
    assert records.typed_dates == {"FECHA": {4, 6}}


def test_a_missing_sheet_and_a_file_that_is_no_workbook_name_the_file(tmp_path):
    p = tmp_path / "one.xlsx"
    openpyxl.Workbook().save(p)
    with pytest.raises(SubmissionError) as e:
        list(xlsx_rows(p, "Hoja2", "one.xlsx"))
    assert e.value.problems[0].file == "one.xlsx" and "Sheet" in str(e.value.problems[0].params)
    with pytest.raises(SubmissionError):
        list(xlsx_rows(p, 3, "one.xlsx"))
    q = tmp_path / "text.xlsx"
    q.write_text("a,b\n1,2\n")
    with pytest.raises(SubmissionError) as e:
        list(xlsx_rows(q, 0, "text.xlsx"))
    assert e.value.problems[0].key == "not_xlsx" and e.value.problems[0].file == "text.xlsx"
