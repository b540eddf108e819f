"""Issue 14, item 5: a future period and a count in a number format the spec does not declare are errors that
name file, line, column and rule and reject the submission — never warnings, never read some other way.

Inputs: the synthetic SNIC files (pipelines/samples/synthetic.py): snic-pais.csv declares a decimal comma,
snic-provincias.csv a decimal point, neither a thousands separator."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines import pipeline
from pipelines.adapters import SubmissionError, adapt_file, load_spec
from pipelines.adapters.tabular import parse_numbers
from pipelines.cli import app
from pipelines.quality.submission_checks import submission_problems
from pipelines.samples.synthetic import generate_sample
from pipelines.settings import REPO_ROOT
from pipelines.storage import submissions as subs


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    files = generate_sample(tmp_path_factory.mktemp("synth"))["ar_snic"]
    return {p.name.split(".")[0]: p for p in files}


def _edit(src, dest, line_no: int, column: str, new: str, delimiter: str):
    """Copy ``src`` to ``dest`` with the cell (file line, column name) replaced; returns the old text."""
    raw = src.read_bytes().decode("utf-8")
    eol = "\r\n" if "\r\n" in raw else "\n"
    lines = raw.split(eol)
    head = lines[0].split(delimiter)
    cells = lines[line_no - 1].split(delimiter)
    old = cells[head.index(column)]
    cells[head.index(column)] = new
    lines[line_no - 1] = delimiter.join(cells)
    dest.write_bytes(eol.join(lines).encode("utf-8"))
    return old


def _published_bytes(s):
    return s.duckdb_path.read_bytes() if s.duckdb_path.exists() else None


# ---- a future period -------------------------------------------------------------------------------------
def test_a_future_year_rejects_the_submission_naming_file_line_column_rule(data_env, sample, tmp_path):
    bad = tmp_path / "snic-pais-2099.csv"
    _edit(sample["snic-pais"], bad, 5, "anio", "2099", ";")

    r = CliRunner().invoke(app, ["validate", str(bad), "--source", "ar_snic", "--details"])
    assert r.exit_code == 1, r.output          # the dry run already says REJECTED (it used to be a warning)
    assert "snic-pais-2099.csv" in r.output and "2099" in r.output

    before = _published_bytes(data_env)
    sid = pipeline.submit(data_env, bad, "ar_snic")[0].submission_id
    pipeline.ingest(data_env, sid)
    with pytest.raises(SubmissionError) as ei:
        pipeline.validate(data_env, sid)
    probs = [p for p in ei.value.problems if "2099" in (p.message or "")]
    assert probs, [str(p) for p in ei.value.problems]
    p = probs[0]
    assert p.file == "snic-pais-2099.csv" and p.line == 5 and p.column == "anio" and p.rule == "S1"
    assert "is after the date the file was received" in p.message
    assert subs.read_status(data_env.landing_dir, sid)["status"] == "rejected"
    assert _published_bytes(data_env) == before


def test_a_month_after_receipt_is_refused_but_an_empty_future_month_is_not():
    spec = load_spec("ar_snic", REPO_ROOT / "reference")
    t = pd.DataFrame({"line": [2, 3, 4, 5], "column_name": ["Noviembre", "Diciembre", "Diciembre", "Enero"],
                      "year": [2026, 2026, 2026, 2027], "month": [11, 12, 12, 1],
                      "value": [5.0, 7.0, None, 1.0], "value_raw": ["5", "7", "", "1"],
                      "unit": ["count"] * 4})
    probs = submission_problems(t, spec, received_at=date(2026, 11, 30), file_name="f.csv")
    assert [(p.line, p.column, p.rule) for p in probs] == [(3, "Diciembre", "S1"), (5, "anio", "S1")]
    assert "period 2026-12 is after the date the file was received (2026-11-30)" in probs[0].message
    assert "period 2027-01" in probs[1].message


# ---- number formats --------------------------------------------------------------------------------------
def test_parse_numbers_reads_only_the_declared_format():
    s = pd.Series(["3.000", "3,5", ",72", "1.234,5", "12", " 7 ", "3,000"], dtype="str")
    comma = parse_numbers(s, ",", None).tolist()
    assert pd.isna(comma[0]) and comma[1:3] == [3.5, 0.72] and pd.isna(comma[3]) and comma[4:6] == [12.0, 7.0]
    assert parse_numbers(s, ",", ".").tolist()[3] == 1234.5
    assert parse_numbers(pd.Series(["3.000", "3,000"]), ".", ",").tolist() == [3.0, 3000.0]


@pytest.mark.parametrize("stream", [False, True], ids=["python", "streaming"])
def test_a_dot_thousands_count_in_a_decimal_comma_file_is_refused(sample, tmp_path, monkeypatch, stream):
    """'3.000' in the national file (decimal comma declared, no thousands separator) used to be read as 3."""
    monkeypatch.setenv("HEMISTAT_STREAM_MIN_BYTES", "0" if stream else str(1 << 40))
    bad = tmp_path / "snic-pais-miles.csv"
    _edit(sample["snic-pais"], bad, 7, "cantidad_hechos", "3.000", ";")
    spec = load_spec("ar_snic", REPO_ROOT / "reference")
    from pipelines.adapters import adapt_to_parquet

    with pytest.raises(SubmissionError) as ei:
        adapt_to_parquet(bad, spec, tmp_path / "raw.parquet", submission_id="s", file_name=bad.name)
    p = ei.value.problems[0]
    assert (p.file, p.line, p.column, p.rule, p.value) == (bad.name, 7, "cantidad_hechos", "V1", "3.000")
    assert p.key == "value_not_in_format" and "decimal mark ','" in p.message
    if not stream:
        with pytest.raises(SubmissionError):
            adapt_file(bad, spec, submission_id="s", file_name=bad.name)


def test_a_count_that_reads_as_thousands_in_a_decimal_point_file_is_refused(data_env, sample, tmp_path):
    """'3.000' in the provincial file (decimal point) reads as 3: a count, so a thousands separator the spec does
    not declare — rejected, naming the cell; a rate written 6.500 stays a rate."""
    bad = tmp_path / "snic-provincias-miles.csv"
    _edit(sample["snic-provincias"], bad, 4, "cantidad_hechos", "3.000", ",")
    sid = pipeline.submit(data_env, bad, "ar_snic")[0].submission_id
    pipeline.ingest(data_env, sid)
    with pytest.raises(SubmissionError) as ei:
        pipeline.validate(data_env, sid)
    probs = [p for p in ei.value.problems if p.value == "3.000"]
    assert probs, [str(p) for p in ei.value.problems]
    # reported by the blocking rule that carries the reading's problems (S1, as for a contract breach)
    assert (probs[0].file, probs[0].line, probs[0].column, probs[0].rule) == (bad.name, 4, "cantidad_hechos", "S1")
    assert "reads as 3 with the declared decimal mark '.'" in probs[0].message
    assert subs.read_status(data_env.landing_dir, sid)["status"] == "rejected"
