"""The streaming path (landing -> Parquet in DuckDB) gives the Python path's table and problems.

The real delimited files are read both ways and compared cell by cell (the row *order* is DuckDB's, so rows
are compared sorted by line and column); hand-made files check the problems and the fall-backs.
"""

import json
from pathlib import Path

import pandas as pd
import pytest

from pipelines.adapters import SubmissionError, adapt_file, adapt_to_parquet, choose_layout, load_spec
from pipelines.adapters import stream
from tests.conftest import real

REF = Path(__file__).resolve().parents[2] / "reference"
SOME = {"MEX", "ARG", "USA", "BRA", "CHL", "COL", "CAN"}

REAL = [
    ("mx_sesnsp", "mx_sesnsp/estatal.csv", None),
    ("ar_snic", "ar_snic/snic-pais.csv", None),
    ("ar_snic", "ar_snic/snic-provincias.csv", None),
    ("unodc_cts", "unodc_cts/data_cts_corruption_and_economic_crime.csv", SOME),
    ("unodc_cts", "unodc_cts/data_cts_violent_and_sexual_crime.csv", SOME),
    ("us_fbi", "us_fbi/estimated_crimes_1979_2019.csv", None),
    ("wb_wdi", "wb_wdi/API_VC.IHR.PSRC.P5_DS2_en_csv_v2_4355130.csv", SOME),
]


def _both(path: Path, source: str, tmp_path: Path, countries=None, file_name=None):
    spec = load_spec(source, REF)
    name = file_name or path.name
    df, st = adapt_file(path, spec, submission_id="t", file_name=name, allowed_countries=countries)
    out, rows, st2 = adapt_to_parquet(path, spec, tmp_path / "raw.parquet", submission_id="t", file_name=name,
                                      allowed_countries=countries, stream=True)
    return df, st, pd.read_parquet(out), rows, st2


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    key = ["line", "column_name"]
    pd.testing.assert_frame_equal(a.sort_values(key).reset_index(drop=True),
                                  b.sort_values(key).reset_index(drop=True), check_exact=True)


@pytest.mark.parametrize("source,rel,countries", REAL, ids=[r for _, r, _ in REAL])
def test_real_file_streamed_is_the_python_table(source, rel, countries, tmp_path):
    df, st, streamed, rows, st2 = _both(real(rel), source, tmp_path, countries)
    assert st2["streamed"] is True, st2.get("stream_fallback")
    assert rows == len(df) == len(streamed)
    for k in ("file_rows", "dropped_rows", "out_of_scope_rows", "rows", "layout"):
        assert st[k] == st2[k], k
    _same(df, streamed)


def test_large_file_header_only_layout_choice_is_the_same():
    for source, rel, _ in REAL:
        spec = load_spec(source, REF)
        p = real(rel)
        assert choose_layout(p, spec, p.name, stream=True) == choose_layout(p, spec, p.name, stream=False)


# --- hand-made files ------------------------------------------------------------------------------------
HEAD = "Año,Clave_Ent,Entidad,Bien jurídico afectado,Tipo de delito,Subtipo de delito,Modalidad," \
       "Enero,Febrero,Marzo,Abril,Mayo,Junio,Julio,Agosto,Septiembre,Octubre,Noviembre,Diciembre\r\n"


def _row(year=2020, ent=1, name="Aguascalientes", vals=None, modalidad="Con arma de fuego"):
    vals = vals or [str(i) for i in range(12)]
    return f"{year},{ent},{name},La vida,Homicidio,Homicidio doloso,{modalidad}," + ",".join(vals) + "\r\n"


def _write(tmp_path, text: str, encoding="cp1252", raw: bytes | None = None) -> Path:
    p = tmp_path / "estatal.csv"
    p.write_bytes(raw if raw is not None else text.encode(encoding))
    return p


def _problems(fn):
    with pytest.raises(SubmissionError) as ei:
        fn()
    return [p.as_dict() for p in ei.value.problems]


def _same_problems(path: Path, source: str, tmp_path: Path, countries=None):
    spec = load_spec(source, REF)
    py = _problems(lambda: adapt_file(path, spec, submission_id="t", file_name="estatal.csv",
                                      allowed_countries=countries))
    try:
        lay = choose_layout(path, spec, "estatal.csv", stream=False)
    except SubmissionError:  # (undecodable: the layout is the source's first)
        lay = spec.layouts[0].as_dict()
    st = _problems(lambda: stream.adapt_stream(path, lay, tmp_path / "o.parquet", source_id=source,
                                               submission_id="t", file_name="estatal.csv",
                                               allowed_countries=countries))
    assert st == py
    via = _problems(lambda: adapt_to_parquet(path, spec, tmp_path / "o.parquet", submission_id="t",
                                             file_name="estatal.csv", allowed_countries=countries, stream=True))
    assert via == py
    assert not (tmp_path / "o.parquet").exists()
    return py


def test_cp1252_invalid_byte_same_problem(tmp_path):
    # 0x81 is undefined in cp1252 (latin-1 would accept it)
    body = (HEAD + _row() + _row(ent=2)).encode("cp1252") + b"2020,3,Baja\x81,x,y,z,w," + b",".join(
        [b"1"] * 12) + b"\r\n" + _row(ent=4).encode("cp1252")
    p = _write(tmp_path, "", raw=body)
    probs = _same_problems(p, "mx_sesnsp", tmp_path)
    assert probs[0]["rule"] == "S2" and probs[0]["line"] == 4 and probs[0]["value"].startswith("b'\\x81")


def test_invalid_byte_in_a_later_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "CHUNK_BYTES", 64)
    body = (HEAD + "".join(_row(ent=i) for i in range(1, 9))).encode("cp1252") + b"2021,9,\x9d\r\n"
    p = _write(tmp_path, "", raw=body)
    probs = _same_problems(p, "mx_sesnsp", tmp_path)
    assert probs[0]["line"] == 10


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_invalid_utf8_same_problem_as_decode(tmp_path, encoding):
    from pipelines.adapters.tabular import _decode

    data = ("\ufeff" if encoding == "utf-8-sig" else "").encode() + b"a,b\n1,2\n3,\xc3(\n"
    p = tmp_path / "x.csv"
    p.write_bytes(data)
    with pytest.raises(SubmissionError) as want:
        _decode(data, encoding, "x.csv")
    for chunk in (4, 1 << 20):
        with pytest.raises(SubmissionError) as got:
            list(stream.iter_text(p, encoding, "x.csv", chunk_bytes=chunk))
        assert got.value.problems[0].as_dict() == want.value.problems[0].as_dict()


def test_unparsable_and_negative_numbers_same_problems(tmp_path):
    vals = ["1", "x2", "3", "", "-4", "6", "7", "8", "9", "1e1", " 12 ", "n/a"]
    p = _write(tmp_path, HEAD + _row() + _row(ent=2, vals=vals) + _row(ent=3, vals=["-1"] + ["2"] * 11))
    probs = _same_problems(p, "mx_sesnsp", tmp_path)
    got = [(x["line"], x["column"], x["value"], x["key"]) for x in probs]
    assert got[:3] == [(3, "Febrero", "x2", "value_not_number"), (3, "Diciembre", "n/a", "value_not_number"),
                       (4, "Enero", "-1", "value_negative")]


def test_odd_but_valid_numbers_are_parsed_by_pandas(tmp_path):
    vals = ["1e1", " 12 ", "0007", "5.", ".5", "+3", "12345678901234567890", "1.00000000000000001", "0", "", "2",
            "3"]
    p = _write(tmp_path, HEAD + _row(vals=vals) + _row(ent=2))
    df, _, streamed, _, st2 = _both(p, "mx_sesnsp", tmp_path)
    assert st2["streamed"]
    _same(df, streamed)


def test_quoted_field_spanning_lines_falls_back_with_exact_lines(tmp_path):
    text = HEAD + _row() + _row(ent=2, modalidad='"Con arma\r\nde fuego"') + _row(ent=3)
    p = _write(tmp_path, text)
    df, _, streamed, _, st2 = _both(p, "mx_sesnsp", tmp_path)
    assert st2["streamed"] is False and "spans lines" in st2["stream_fallback"]
    _same(df, streamed)
    assert sorted(set(streamed.line)) == [2, 4, 5]


def test_quoted_delimiters_and_blank_lines_stream_with_exact_lines(tmp_path):
    text = HEAD + _row(name='"Coahuila, de Zaragoza"') + "\r\n" + ",,,,,,,,,,,,,,,,,,\r\n  \r\n" + \
        _row(ent=2, modalidad='"Con ""otro"" elemento"')
    p = _write(tmp_path, text)
    df, _, streamed, _, st2 = _both(p, "mx_sesnsp", tmp_path)
    assert st2["streamed"] is True
    _same(df, streamed)
    assert sorted(set(streamed.line)) == [2, 6]
    assert "Coahuila, de Zaragoza" in set(streamed.subdivision_name)


def test_short_row_falls_back_and_reports_the_same_problem(tmp_path):
    p = _write(tmp_path, HEAD + _row() + "2020,2,Baja\r\n")
    spec = load_spec("mx_sesnsp", REF)
    py = _problems(lambda: adapt_file(p, spec, submission_id="t", file_name="estatal.csv"))
    via = _problems(lambda: adapt_to_parquet(p, spec, tmp_path / "o.parquet", submission_id="t",
                                             file_name="estatal.csv", stream=True))
    assert via == py and py[0]["key"] == "row_field_count" and py[0]["line"] == 3


def test_bad_year_and_unknown_code_same_problems(tmp_path):
    p = _write(tmp_path, HEAD + _row() + _row(year="20x0", ent=2) + _row(year="", ent=3))
    probs = _same_problems(p, "mx_sesnsp", tmp_path)
    assert [(x["line"], x["key"]) for x in probs] == [(3, "year_not_integer"), (4, "year_not_integer")]
    tpl = tmp_path / "t"
    tpl.mkdir()
    q = tpl / "estatal.csv"
    q.write_text("country_iso3,subdivision_code,subdivision_name,year,month,iccs_code,iccs_label,measure,sex,age,"
                 "obs_status,comment,value\nMEX,,,2020,1,0101,Homicide,offences,X,_T,,,5\n"
                 "MEX,,,2020,13,0101,Homicide,victims,_T,_T,,,5\n", encoding="utf-8")
    probs = _same_problems(q, "iccs_template", tpl)
    assert {x["key"] for x in probs} == {"not_in_spec_codelist"}


def test_unsupported_layouts_say_why():
    for source in ("co_policia", "cr_oij", "br_sinesp"):
        for lay in load_spec(source, REF).layouts:
            assert stream.unsupported(lay.as_dict())
    assert stream.unsupported(load_spec("mx_sesnsp", REF).layouts[0].as_dict()) is None


def test_whitespace_is_pythons(tmp_path):
    assert stream.WHITESPACE == "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
    # str.strip() removes more than spaces: no-break space, tab, vertical tab, information separators
    vals = ["\u00a01\u00a0", "\x1c2", "\t3", "4\x0b", "", "", "", "", "", "", "", ""]
    p = _write(tmp_path, HEAD + _row(name="\u00a0Aguascalientes ", vals=vals, modalidad="x\x1f"))
    df, _, streamed, _, st2 = _both(p, "mx_sesnsp", tmp_path)
    assert st2["streamed"]
    _same(df, streamed)
    assert streamed.subdivision_name.iloc[0] == "Aguascalientes"


TEMPLATES = Path(__file__).resolve().parents[2] / "reference" / "templates"


@pytest.mark.parametrize("source,name", [("iccs_template", "hemistat_template.csv"),
                                         ("iccs_template_sdmx", "hemistat_template_sdmx.csv")])
def test_templates_streamed_are_the_python_table(source, name, tmp_path):
    from tools.templates import EXAMPLE_MARK

    filled = tmp_path / name   # as an office fills it: the example rows without their EXAMPLE marker
    filled.write_text((TEMPLATES / name).read_text("utf-8").replace(EXAMPLE_MARK, "filled"), "utf-8")
    df, st, streamed, _, st2 = _both(filled, source, tmp_path, SOME)
    assert st2["streamed"] is True, st2.get("stream_fallback")
    _same(df, streamed)
    # the template sent back unchanged: both paths refuse the same example rows
    probs = []
    for stream in (False, True):
        with pytest.raises(SubmissionError) as ei:
            adapt_to_parquet(TEMPLATES / name, load_spec(source, REF), tmp_path / "r.parquet", submission_id="t",
                             file_name=name, allowed_countries=SOME, stream=stream)
        probs.append([(p.line, p.column, p.value, p.message) for p in ei.value.problems])
    assert probs[0] == probs[1] and len(probs[0]) == 30


def test_synthetic_sample_streamed_is_the_python_table(tmp_path):
    from pipelines.samples.synthetic import generate_sample

    files = generate_sample(tmp_path / "sample")
    n = 0
    for source, paths in files.items():
        for p in paths:
            if p.suffix != ".csv":
                continue
            try:
                df, _, streamed, _, st2 = _both(p, source, tmp_path, SOME)
            except SubmissionError:
                continue
            n += bool(st2["streamed"])
            _same(df, streamed)
    assert n >= 3


def test_ingest_and_validate_a_streamed_file_as_before(data_env, monkeypatch, tmp_path):
    """Through the pipeline steps: the streamed raw table passes the raw contract and the rules exactly as the
    DataFrame path's table does (same verdict, same result per rule)."""
    from pipelines import pipeline
    from pipelines.settings import get_settings
    from pipelines.storage import submissions as subs

    src = real("ar_snic/snic-pais.csv")
    reports = {}
    for streamed, min_bytes in ((False, 1 << 40), (True, 0)):
        monkeypatch.setattr(stream, "STREAM_MIN_BYTES", min_bytes)
        # each in its own data folder (a second submission of the source would be compared with the first)
        monkeypatch.setenv("HEMISTAT_DATA_DIR", str(tmp_path / f"data-{streamed}"))
        data_env = get_settings()
        data_env.ensure_dirs()
        man, _ = pipeline.submit(data_env, src, "ar_snic")
        res = pipeline.ingest(data_env, man.submission_id)
        assert bool(res.stats.get("streamed")) is streamed
        assert res.rows == len(pd.read_parquet(res.path))
        pipeline.validate(data_env, man.submission_id)
        rep = json.loads((subs.submission_dir(data_env.landing_dir, man.submission_id) / "report.json").read_text())
        # (which failing rows a report shows first follows the row order, which is DuckDB's: counts compared)
        reports[streamed] = {"verdict": rep["verdict"],
                             **{r["rule_id"]: (r["status"], r.get("failing_rows")) for r in rep["rules"]}}
    assert reports[True] == reports[False]


def test_raw_asset_preview_reads_one_batch(tmp_path):
    from pipelines.defs.assets import _preview

    _, _, streamed, _, _ = _both(real("us_fbi/estimated_crimes_1979_2019.csv"), "us_fbi", tmp_path)
    head = _preview(tmp_path / "raw.parquet")
    assert len(head) == 10 and str(head.month.dtype) == "Int64" and list(head.columns) == list(streamed.columns)


def test_missing_role_text_is_reported_as_pandas_prints_it(tmp_path):
    from pipelines.adapters.tabular import adapt_tabular

    p = tmp_path / "m.csv"
    p.write_text("c,y,v\nMEX,2020,1\n,2020,2\nMEX,,3\n", encoding="utf-8")
    lay = {"name": "x", "reader": {"format": "csv"}, "values": {"column": "v"},
           "columns": {"country_iso3": {"column": "c", "empty_as_null": True, "map": {"MEX": "MEX"}},
                       "year": {"column": "y", "empty_as_null": True}, "national_code": {"const": "a"}}}
    for fix in (None, {"MEX": "MEX", "": "MEX"}):
        if fix:
            lay["columns"]["country_iso3"] = {"column": "c", "map": fix}
        py = _problems(lambda: adapt_tabular(p, lay, source_id="s", submission_id="t", file_name="m.csv"))
        st = _problems(lambda: stream.adapt_stream(p, lay, tmp_path / "o.parquet", source_id="s",
                                                   submission_id="t", file_name="m.csv"))
        assert st == py


def test_choose_layout_reads_a_small_files_header_without_parsing_its_records(tmp_path, monkeypatch):
    """The layout is chosen from the header alone at any size (a small file's records were parsed once to find
    the header and again to read it); a file the header reader cannot take exactly still falls back."""
    import pipelines.adapters as adapters

    spec = load_spec("mx_sesnsp", REF)
    path = tmp_path / "estatal.csv"
    path.write_bytes((HEAD + _row() + _row(2021)).encode("cp1252"))
    want = choose_layout(path, spec, "estatal.csv")
    calls = []
    real_read = adapters.read_records
    monkeypatch.setattr(adapters, "read_records", lambda *a, **k: calls.append(a) or real_read(*a, **k))
    assert choose_layout(path, spec, "estatal.csv") == want and calls == []
    # a header spanning two physical lines (a quoted name with a line break): the csv module reads it
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes(HEAD.replace("Entidad", '"Enti\r\ndad"').encode("cp1252") + _row().encode("cp1252"))
    with pytest.raises(SubmissionError):
        choose_layout(quoted, spec, "quoted.csv")
    assert len(calls) >= 1
