"""The member-state template (reference/templates/): the three example files adapt to the same table,
they are what tools/templates.py generates, and mistakes are refused with line and column."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tools import templates
from pipelines.adapters import SubmissionError, adapt_file, load_spec
from tests.conftest import REPO

REF = REPO / "reference"
TPL = REF / "templates"
SHIPPED = {"csv": ("iccs_template", TPL / "hemistat_template.csv"),
           "xlsx": ("iccs_template", TPL / "hemistat_template.xlsx"),
           "sdmx": ("iccs_template_sdmx", TPL / "hemistat_template_sdmx.csv")}
_FILLED_DIR = Path(__import__("tempfile").mkdtemp(prefix="hemistat-template-test-"))


def filled(src: Path) -> Path:
    """The shipped example as an office fills it: the same rows, without the EXAMPLE marker in their comment
    (the template's example rows sent back unchanged are refused: see test_unchanged_template_is_refused)."""
    out = _FILLED_DIR / src.name
    if out.exists():
        return out
    if src.suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(src)
        ws = wb["data"]
        j = templates.CSV_COLUMNS.index("comment") + 1
        for row in range(2, ws.max_row + 1):
            c = ws.cell(row=row, column=j)
            if isinstance(c.value, str):
                c.value = c.value.replace(templates.EXAMPLE_MARK, "filled test figures")
        wb.save(out)
    else:
        out.write_text(src.read_text("utf-8").replace(templates.EXAMPLE_MARK, "filled test figures"), "utf-8")
    return out


FILES = {k: (sid, filled(p)) for k, (sid, p) in SHIPPED.items()}
KEY = ["country_iso3", "subdivision_code", "year", "month", "national_code", "measure", "sex", "age", "relationship"]
SAME = KEY + ["unit", "value", "obs_status", "obs_note", "source_note", "line"]


def _adapt(source_id: str, path: Path):
    return adapt_file(path, load_spec(source_id, REF), submission_id="t", file_name=path.name,
                      allowed_countries={"PRY", "PER", "ARG"})


def _norm(df: pd.DataFrame) -> pd.DataFrame:
    return df[SAME].sort_values(KEY, na_position="first").reset_index(drop=True)


def test_generated_files_are_up_to_date():
    for rel, text in templates.text_outputs(REF).items():
        assert (REF / rel).read_text("utf-8") == text, f"{rel} is stale: run `python -m tools.templates`"


def test_workbook_matches_the_csv_and_has_help():
    import openpyxl

    wb = openpyxl.load_workbook(TPL / "hemistat_template.xlsx")
    assert {"README", "data", "codes"} <= set(wb.sheetnames)
    rows = [[("" if v is None else str(v)) for v in r] for r in wb["data"].iter_rows(values_only=True)]
    with open(TPL / "hemistat_template.csv", encoding="utf-8", newline="") as fh:
        assert rows == list(csv.reader(fh))
    lists = {str(dv.sqref).split(":")[0][0]: dv.formula1 for dv in wb["data"].data_validations.dataValidation}
    col = {n: chr(ord("A") + i) for i, n in enumerate(templates.CSV_COLUMNS)}
    assert {col["sex"], col["measure"], col["iccs_code"], col["obs_status"]} <= set(lists)
    iccs = pd.read_csv(REF / "iccs" / "iccs.csv", dtype=str, keep_default_na=False)
    codes = [c.value for c in wb["codes"]["A"][1:] if c.value]
    assert codes == list(iccs["code"])  # the drop-down offers every ICCS code, as text
    assert "EXAMPLE" in (TPL / "hemistat_template.csv").read_text("utf-8")


@pytest.mark.parametrize("kind", list(FILES))
def test_example_adapts_without_problems(kind):
    source_id, path = FILES[kind]
    table, stats = _adapt(source_id, path)
    assert stats["layout"] == {"csv": "csv", "xlsx": "xlsx", "sdmx": "sdmx_csv"}[kind]
    assert len(table) == 30 and stats["file_rows"] == 30
    assert set(table["country_iso3"]) == {"PRY"}
    assert set(table["subdivision_code"].dropna()) == {"PY-ASU", "PY-11"}
    assert table["subdivision_code"].isna().sum() == 10  # national rows
    assert set(table["sex"]) == {"_T", "F", "M", "_U"}
    assert set(table["national_code"]) == {"0101", "0102", "020111", "0401", "0502", "05021"}
    missing = table[table["national_code"] == "020111"]
    assert missing["value"].isna().all() and set(missing["obs_status"]) == {"M"}
    prov = table[table["national_code"] == "0102"]
    assert prov["obs_note"].str.contains("provisional").all()


def test_three_forms_give_the_same_table():
    tables = {k: _norm(_adapt(*FILES[k])[0]) for k in FILES}
    pd.testing.assert_frame_equal(tables["csv"], tables["xlsx"])
    pd.testing.assert_frame_equal(tables["csv"], tables["sdmx"])


def test_spreadsheet_saved_csv_variants_adapt_the_same(tmp_path):
    text = FILES["csv"][1].read_text("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    for name, enc in (("semicolon_utf8.csv", "utf-8-sig"), ("excel_windows.csv", "cp1252")):
        buf = io.StringIO()
        csv.writer(buf, delimiter=";", lineterminator="\r\n").writerows(rows)
        p = tmp_path / name
        p.write_bytes(buf.getvalue().encode(enc))
        table, stats = _adapt("iccs_template", p)
        assert stats["layout"] == {"semicolon_utf8.csv": "csv_semicolon", "excel_windows.csv": "csv_excel_windows"}[name]
        base = _adapt(*FILES["csv"])[0]
        pd.testing.assert_frame_equal(_norm(table), _norm(base))
        assert set(table["subdivision_name"].dropna()) == {"Asunción", "Central"}


def _copy_with(tmp_path: Path, src: Path, line: int, column: str, value: str) -> Path:
    with open(src, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[line - 1][rows[0].index(column)] = value
    p = tmp_path / src.name
    with open(p, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return p


@pytest.mark.parametrize("source_id,src,column", [("iccs_template", FILES["csv"][1], "sex"),
                                                  ("iccs_template_sdmx", FILES["sdmx"][1], "SEX")])
def test_wrong_sex_code_is_refused_with_line_and_column(tmp_path, source_id, src, column):
    p = _copy_with(tmp_path, src, 9, column, "Mujer")
    with pytest.raises(SubmissionError) as ei:
        _adapt(source_id, p)
    [prob] = ei.value.problems
    assert (prob.line, prob.column, prob.rule, prob.value) == (9, column, "C3", "Mujer")
    assert "_T" in prob.message and "F" in prob.message


def test_wrong_sex_code_in_the_workbook_is_refused(tmp_path):
    import openpyxl

    p = tmp_path / "filled.xlsx"
    shutil.copyfile(FILES["xlsx"][1], p)
    wb = openpyxl.load_workbook(p)
    wb["data"].cell(row=12, column=templates.CSV_COLUMNS.index("sex") + 1, value="mujer")
    wb.save(p)
    with pytest.raises(SubmissionError) as ei:
        _adapt("iccs_template", p)
    assert [(x.line, x.column, x.value) for x in ei.value.problems] == [(12, "sex", "mujer")]


@pytest.mark.parametrize("source_id,src,column", [("iccs_template", FILES["csv"][1], "iccs_code"),
                                                  ("iccs_template_sdmx", FILES["sdmx"][1], "ICCS")])
def test_wrong_iccs_code_is_refused_with_line_and_column(tmp_path, data_env, monkeypatch, source_id, src, column):
    """A code that is not in ICCS has no row in the identity crosswalk: rule C1 (error) rejects the file,
    naming the line and the column (the national-code role, read from the ICCS column)."""
    from pipelines.quality.dryrun import dry_run

    p = _copy_with(tmp_path, src, 5, column, "0499")
    report = dry_run(data_env, p, source_id)
    assert report["verdict"] == "rejected"
    [c1] = [x for x in report["problems"] if x["rule"] == "C1"]
    assert (c1["line"], c1["column_name"], c1["value"]) == (5, "national_code", "0499")
    assert "0499" in c1["message"]["es"]
    # a code stored as a number ('101' for 0101) is refused the same way
    p = _copy_with(tmp_path, src, 2, column, "101")
    assert dry_run(data_env, p, source_id)["verdict"] == "rejected"


def test_example_is_accepted_by_every_rule(data_env):
    from pipelines.quality.dryrun import dry_run

    for source_id, path in FILES.values():
        report = dry_run(data_env, path, source_id)
        assert report["verdict"] == "accepted", [r["rule_id"] for r in report["rules"] if r["status"] == "fail"]


def test_identity_crosswalk_covers_every_iccs_code():
    iccs = pd.read_csv(REF / "iccs" / "iccs.csv", dtype=str, keep_default_na=False)
    xw = pd.read_csv(REF / "crosswalks" / "iccs_template.csv", dtype=str, keep_default_na=False)
    assert list(xw["national_code"]) == list(iccs["code"]) == list(xw["iccs_code"])
    assert set(xw["relation"]) == {"equivalent"} and set(xw["rationale"]) == {"template is filled in ICCS terms"}
    assert load_spec("iccs_template", REF).crosswalk == load_spec("iccs_template_sdmx", REF).crosswalk == "iccs_template"


def test_template_schemas_check_the_examples():
    from pipelines.contracts.table_schema import check_table, validate_descriptor

    schema = json.loads((TPL / "hemistat_template.schema.json").read_text("utf-8"))
    assert validate_descriptor(schema) == []
    assert check_table(TPL / "hemistat_template.csv", TPL / "hemistat_template.schema.json") == 30
    assert check_table(TPL / "hemistat_template_sdmx.csv", TPL / "hemistat_template_sdmx.schema.json") == 30


def test_template_harmonises_with_parent_residual(tmp_path):
    """0502 and its child 05021 are both reported: the roll-up gives 0502 back, not 0502 + 05021."""
    from pipelines.adapters import load_all_specs
    from pipelines.harmonise import harmonise

    table, _ = _adapt(*FILES["csv"])
    p = tmp_path / "v.parquet"
    table.to_parquet(p)
    res = harmonise(pd.DataFrame([{"submission_id": "t", "source_id": "iccs_template", "received_at": "2024-01-01",
                                   "validated_path": str(p)}]), load_all_specs(REF), REF)
    ind = res.indicators
    nat = ind[ind["subdivision_code"].isna() & (ind["measure"] == "offences") & (ind["sex"] == "_T")]
    val = dict(zip(nat["iccs_code"], nat["value"]))
    assert val["0502"] == 13000 and val["05021"] == 2300 and val["05"] == 13000
    assert val["0101"] == 210 and val["01"] == 210 + 130


@pytest.mark.parametrize("kind", list(SHIPPED))
def test_unchanged_template_is_refused(kind):
    """Issue 13 item 5: the template sent back unchanged — its rows marked as fictitious EXAMPLE — is an error
    naming the file, every example row and the column that marks it, in the reader's language (the specs'
    ``example_rows``)."""
    source_id, path = SHIPPED[kind]
    with pytest.raises(SubmissionError) as ei:
        _adapt(source_id, path)
    probs = ei.value.problems
    col = "COMMENT" if kind == "sdmx" else "comment"
    assert len(probs) == 30 and {p.rule for p in probs} == {"S1"} and {p.column for p in probs} == {col}
    assert [p.line for p in probs] == list(range(2, 32)) and {p.file for p in probs} == {path.name}
    assert "EXAMPLE" in probs[0].message and "delete the example rows" in probs[0].message
    assert "borre las filas de ejemplo" in probs[0].render("es")


def test_unchanged_template_is_rejected_by_validate(data_env):
    from pipelines.quality.dryrun import dry_run

    report = dry_run(data_env, TPL / "hemistat_template.csv", "iccs_template")
    assert report["verdict"] == "rejected"
    assert {p["rule"] for p in report["problems"]} == {"S1"} and report["problems"][0]["line"] == 2


def test_example_rows_streamed_the_same(tmp_path):
    """A large template is read by the streaming path: it refuses the example rows the same way."""
    from pipelines.adapters import adapt_to_parquet

    text = (TPL / "hemistat_template.csv").read_text("utf-8")
    head, *rows = text.splitlines()
    big = tmp_path / "hemistat_template_big.csv"
    filler = [r.replace(templates.EXAMPLE_MARK, "real").replace("2023", str(1990 + i % 30))
              for i, r in enumerate(rows * 40)]
    big.write_text("\n".join([head] + filler + rows) + "\n", "utf-8")
    spec = load_spec("iccs_template", REF)
    import os

    os.environ["HEMISTAT_STREAM_MIN_BYTES"] = "1"
    try:
        with pytest.raises(SubmissionError) as ei:
            adapt_to_parquet(big, spec, tmp_path / "o.parquet", submission_id="t", file_name=big.name)
    finally:
        del os.environ["HEMISTAT_STREAM_MIN_BYTES"]
    lines = [p.line for p in ei.value.problems]
    assert lines == list(range(len(filler) + 2, len(filler) + 32)), lines[:5]
