"""What is wrong with a file is told in the reader's language.

The adapters report problems as a key + params of the catalogue quality_rules/messages/problems.yaml
(pipelines/adapters/messages.py); rules S1/V1/C3/S2 carry the key into their failure rows and the
report renders it in en/es/pt/fr, so a Spanish-speaking office reads a sentence wholly in Spanish.
"""

from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipelines.adapters import SubmissionError, adapt_file, load_spec
from pipelines.adapters.errors import Problem
from pipelines.adapters.messages import DEFAULT_CATALOGUE, catalogue, catalogue_path, load_catalogue, nested, render
from pipelines.i18n import LANGUAGES as LANGS
from tests.conftest import real

REPO = Path(__file__).resolve().parents[2]
ADAPTERS = REPO / "pipelines" / "adapters"
CHECK_MODULES = sorted((REPO / "pipelines" / "quality" / "checks").glob("*.py")) + \
    [REPO / "pipelines" / "quality" / "submission_checks.py"]   # blocking problems of one submission
CATALOGUE = REPO / "quality_rules" / "messages" / "problems.yaml"

# English words that must not appear in a translated (es/pt/fr) text (technical names such as
# options.regions or record_sum are left out of the check)
ENGLISH_ONLY = {"the", "is", "are", "must", "and", "of", "with", "should", "missing", "value", "values", "file",
                "line", "not", "please", "than", "has", "from", "year", "row", "rows", "header", "sheet", "found",
                "no", "column", "columns", "layout", "matches", "does", "needs", "expects"}
ENGLISH_OK = {"pt": {"no"}, "es": {"no"}, "fr": set()}  # "no" is Spanish/Portuguese too (pt: "no" = em+o)


def _doc() -> dict:
    return yaml.safe_load(CATALOGUE.read_text("utf-8"))


def _fields(template: str) -> set[str]:
    out = set()
    for _, field, spec, conv in string.Formatter().parse(template):
        if field is not None:
            assert field.isidentifier(), f"placeholder {field!r} in {template!r} must be a plain {{name}}"
            assert not spec and not conv, f"format spec/conversion not allowed in {template!r}"
            out.add(field)
    return out


def _words(text: str) -> set[str]:
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"'[^']*'", " ", text)                      # quoted names ('Medida')
    text = re.sub(r"[\w.-]*[._][\w.-]*", " ", text)           # options.regions, record_sum, utf-8
    return {w.lower() for w in re.findall(r"[A-Za-zÀ-ÿ]+", text)}


# ---------------------------------------------------------------------------------------------------
# the catalogue
# ---------------------------------------------------------------------------------------------------
def test_catalogue_is_where_the_code_reads_it_and_not_a_rule_file():
    assert DEFAULT_CATALOGUE == CATALOGUE and CATALOGUE.is_file()
    assert catalogue_path().is_file()
    # quality_rules/*.yaml are rule files (load_rules globs them): the catalogue must not be one
    assert CATALOGUE.parent != REPO / "quality_rules"


def test_every_key_has_four_languages_with_the_same_placeholders():
    doc = _doc()
    assert isinstance(doc, dict) and len(doc) >= 40
    for key, entry in doc.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", key), key
        assert isinstance(entry, dict) and set(entry) == set(LANGS), (key, sorted(entry))
        want = _fields(entry["en"])
        for lang in LANGS:
            text = entry[lang]
            assert isinstance(text, str) and text.strip() and text == text.strip(), (key, lang)
            assert _fields(text) == want, (key, lang, _fields(text), want)


def test_translations_are_translations():
    for key, entry in _doc().items():
        for lang in ("es", "pt", "fr"):
            assert entry[lang] != entry["en"], (key, lang)
            english = (_words(entry[lang]) & ENGLISH_ONLY) - ENGLISH_OK[lang]
            assert not english, (key, lang, english, entry[lang])
        # French typography: a (non-breaking or plain) space before ':' and ';'
        assert not re.search(r"[^\s\d][:;](\s|$)", entry["fr"]), (key, entry["fr"])


def _keys_used_in_code() -> tuple[set[str], list[str]]:
    """Every catalogue key the adapters (and rule S2) use, and every Problem(...) call without a key."""
    used, without_key = set(), []
    for path in (sorted(ADAPTERS.glob("*.py")) + CHECK_MODULES + sorted((REPO / "pipelines" / "pipeline").glob("*.py"))
                 + [REPO / "pipelines" / "quality" / "run.py"]):   # run.py: the raw contract's problems
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Problem":
                kws = {k.arg: k.value for k in node.keywords}
                if "key" not in kws:
                    # pipeline.validate re-wraps the report's failures (already rendered in the four languages)
                    # as an exception for the CLI and Dagster: no catalogue key needed there
                    if path.name != "validate.py":
                        without_key.append(f"{path.name}:{node.lineno}")
                elif isinstance(kws["key"], ast.Constant):
                    used.add(kws["key"].value)
            elif isinstance(node, ast.Dict):  # nested problems {"key": ...}; failure rows {"observed_key": ...}
                for k, v in zip(node.keys, node.values):
                    if (isinstance(k, ast.Constant) and k.value in ("key", "observed_key")
                            and isinstance(v, ast.Constant) and isinstance(v.value, str)):
                        used.add(v.value)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):  # key, params = "...", {...}
                for t in node.targets:
                    if isinstance(t, ast.Tuple) and t.elts and getattr(t.elts[0], "id", None) == "key":
                        first = node.value.elts[0]
                        if isinstance(first, ast.Constant):
                            used.add(first.value)
    return used, without_key


def test_every_problem_in_the_adapters_has_a_catalogued_key():
    used, without_key = _keys_used_in_code()
    assert not without_key, f"Problem(...) without key=: {without_key}"
    doc = _doc()
    assert used, "no key found in pipelines/adapters"
    missing = sorted(used - set(doc))
    assert not missing, f"keys used but not in {CATALOGUE.name}: {missing}"
    unused = sorted(set(doc) - used)
    assert not unused, f"keys in {CATALOGUE.name} that no code uses: {unused}"


def test_catalogue_is_read_once():
    load_catalogue.cache_clear()
    a = catalogue()
    b = catalogue(CATALOGUE)
    assert a is b and load_catalogue.cache_info().misses == 1


# ---------------------------------------------------------------------------------------------------
# Problem and render
# ---------------------------------------------------------------------------------------------------
def test_problem_keeps_its_old_shape_and_english_text():
    old = Problem("f.csv", 3, "x", "S1", "free text", "v")            # positional, as before
    assert (old.message, old.value, old.key, old.params) == ("free text", "v", None, {})
    assert old.render("es") == "free text"
    p = Problem("f.csv", 7, "anio, mes", "S1", key="missing_columns", params={"header": "a, b"})
    assert p.message == "required column(s) missing; the header has: a, b"
    assert str(p) == "f.csv, line 7, column 'anio, mes': [S1] required column(s) missing; the header has: a, b"
    d = p.as_dict()
    assert list(d)[:6] == ["file", "line", "column", "rule", "message", "value"]
    assert (d["key"], d["params"]) == ("missing_columns", {"header": "a, b"})
    again = Problem(**json.loads(json.dumps(d)))                      # report.json -> cli round trip
    assert again == p
    assert p.render("es") == "faltan columnas obligatorias; el encabezado contiene: a, b"
    assert p.render("xx") == p.message                                # unknown language: English


def test_english_renderings_are_the_old_sentences():
    cases = [
        ("no_header", {}, "the file has no header row"),
        ("header_no_data", {}, "the file has a header but no data rows"),
        ("row_field_count", {"fields": 5, "width": 4}, "row has 5 fields but the header has 4"),
        ("not_valid_encoding", {"encoding": "utf-8"}, "bytes are not valid utf-8 text as the source spec declares"),
        ("sheet_not_found", {"sheet": "'Datos'", "sheets": "A, B"}, "sheet 'Datos' not found; the workbook has A, B"),
        ("value_not_number", {}, "value is not a number (and not a declared missing-value marker)"),
        ("filter_not_declared", {"filter": "'Medida'", "option": "units", "allowed": "Frecuencia"},
         "filter 'Medida' missing or not declared in the source spec options.units (Frecuencia)"),
        ("subtotal_mismatch", {"label": "'Robos'", "subtotal": "10", "n": 2, "lines": "5, 6", "total": "9"},
         "subtotal 'Robos' (10) differs from the sum of its 2 sub-rows (lines 5, 6: 9); the hierarchy read from "
         "the indentation is not reliable"),
        ("encoding_not_declared", {"layout": "pais"}, "layout pais: encoding not declared (utf-8 assumed)"),
    ]
    for key, params, text in cases:
        assert render(key, params) == text, key


def test_nested_problems_are_rendered_in_the_same_language():
    inner = Problem("f.csv", 2, None, "S1", key="no_header")
    outer = Problem("f.csv", None, None, "S1", key="no_layout_matches", params={"source": "'ar_snic'", "tried": [
        {"key": "layout_unreadable", "params": {"layout": "'a'", "detail": nested(inner)}},
        {"key": "layout_lacks_columns", "params": {"layout": "'b'", "columns": "x, y"}}]})
    assert outer.message == ("the file matches no layout of source 'ar_snic': layout 'a': the file has no header "
                             "row; layout 'b' lacks column(s) x, y")
    es = outer.render("es")
    assert es == ("el archivo no corresponde a ningún formato de la fuente 'ar_snic': formato 'a': el archivo no "
                  "tiene fila de encabezado; el formato 'b' exige columnas que faltan: x, y")
    assert " ; le format 'b'" in outer.render("fr")
    # a nested free-text problem stays as it is
    assert nested(Problem("f", 1, None, "S1", "raw text")) == "raw text"


def test_render_falls_back_to_english_then_to_the_message():
    assert render("no_header", {}, "de") == "the file has no header row"
    assert render("no_such_key", {}, "es", fallback="raw") == "raw"
    assert render("missing_columns", {}, "es", fallback="raw") == "raw"  # a placeholder without its param
    assert Problem("f", 1, None, "S1", "raw", key="no_such_key").message == "raw"


# ---------------------------------------------------------------------------------------------------
# end to end: the report of a defective file
# ---------------------------------------------------------------------------------------------------
def _header_only(tmp_path: Path) -> Path:
    header = real("ar_snic/snic-pais.csv").read_bytes().split(b"\r\n")[0]
    p = tmp_path / "snic-pais-vacio.csv"
    p.write_bytes(header + b"\r\n")
    return p


def _s1(report: dict) -> dict:
    [s1] = [r for r in report["rules"] if r["rule_id"] == "S1"]
    assert s1["status"] == "fail"
    return s1["failures"][0]


def test_header_only_csv_report_is_spanish_in_spanish(data_env, tmp_path):
    from pipelines.quality.dryrun import dry_run

    report = dry_run(data_env, _header_only(tmp_path), "ar_snic")
    assert report["verdict"] == "rejected"
    f = _s1(report)
    assert f["observed"] == "the file has a header but no data rows"   # English kept in the row
    assert f["observed_key"] == "header_no_data" and json.loads(f["observed_params"]) == {}
    es = f["message"]["es"]
    assert "el archivo tiene encabezado pero ninguna fila de datos" in es
    assert "the file has a header" not in es and "no data rows" not in es
    assert es.startswith("No se puede leer el archivo snic-pais-vacio.csv en la línea 1")
    assert "le fichier a un en-tête mais aucune ligne de données" in f["message"]["fr"]
    assert "o arquivo tem cabeçalho, mas nenhuma linha de dados" in f["message"]["pt"]
    assert "the file has a header but no data rows" in f["message"]["en"]
    # the text report in Spanish carries it too
    from pipelines.quality.report import render_text

    assert "ninguna fila de datos" in render_text(report, "es")


def test_missing_columns_report_is_spanish_in_spanish(data_env, tmp_path):
    from pipelines.quality.dryrun import dry_run

    p = tmp_path / "snic-incompleto.csv"
    p.write_bytes(b"anio;codigo_delito_snic_id;cantidad_hechos\r\n2000;1;5\r\n")
    report = dry_run(data_env, p, "ar_snic")
    assert report["verdict"] == "rejected"
    f = _s1(report)
    assert f["observed_key"] == "no_layout_matches"
    es = f["message"]["es"]
    assert "no corresponde a ningún formato de la fuente 'ar_snic'" in es
    assert "el formato 'pais' exige columnas que faltan: codigo_delito_snic_nombre" in es
    assert "lacks column" not in es and "matches no layout" not in es
    assert "lacks column(s) codigo_delito_snic_nombre" in f["observed"]


def test_bad_number_is_reported_in_each_language(data_env, tmp_path):
    from pipelines.quality.dryrun import dry_run

    lines = real("ar_snic/snic-pais.csv").read_bytes().split(b"\r\n")
    f3 = lines[4].split(b";")
    f3[3] = b"muchos"
    lines[4] = b";".join(f3)
    p = tmp_path / "snic-pais-texto.csv"
    p.write_bytes(b"\r\n".join(lines))
    report = dry_run(data_env, p, "ar_snic")
    f = _s1(report)
    assert (f["line"], f["column_name"], f["value"]) == (5, "cantidad_hechos", "muchos")
    assert "el valor no es un número (ni un marcador de dato faltante declarado)" in f["message"]["es"]
    assert "value is not a number" not in f["message"]["es"]
    assert "la valeur n'est pas un nombre" in f["message"]["fr"]


def test_undeclared_encoding_is_translated(tmp_path):
    from pipelines.quality.engine import evaluate
    from pipelines.quality.results import QualityContext
    from pipelines.quality.report import build_report
    from tests.quality.conftest import rule

    from pipelines.adapters import load_spec

    spec = load_spec("ar_snic", REPO / "reference")
    spec = spec.model_copy(update={"layouts": [spec.layouts[0].model_copy(update={"name": "pais", "reader": None})]})
    ctx = QualityContext(reference_dir=REPO / "reference", spec=spec)
    [res] = evaluate(None, [rule("S2")], ctx, problems=[])
    rep = build_report([res], verdict="review", submission_id=None, source_id="x", file_name="f.csv")
    [f] = rep["rules"][0]["failures"]
    assert f["observed"] == "layout pais: encoding not declared (utf-8 assumed)"
    assert "formato pais: codificación no declarada (se supone utf-8)" in f["message"]["es"]
    assert "encoding not declared" not in f["message"]["es"]


def test_rejected_ingest_writes_keyed_failures_to_parquet(data_env, tmp_path):
    from pipelines import pipeline

    man, _ = pipeline.submit(data_env, _header_only(tmp_path), "ar_snic")
    with pytest.raises(SubmissionError) as ei:
        pipeline.ingest(data_env, man.submission_id)
    assert ei.value.problems[0].key == "header_no_data"
    fails = pd.read_parquet(pipeline.quality_dir(data_env) / f"{man.submission_id}_failures.parquet")
    row = fails[fails.rule_id == "S1"].iloc[0]
    assert row["observed_key"] == "header_no_data" and row["observed"] == "the file has a header but no data rows"
    from pipelines.storage import submissions as subs

    report = json.loads((subs.submission_dir(data_env.landing_dir, man.submission_id) / "report.json")
                        .read_text("utf-8"))
    probs = [Problem(**p) for p in report["problems"]]  # as the CLI reads them back
    assert probs[0].key == "header_no_data"
    assert probs[0].render("es") == "el archivo tiene encabezado pero ninguna fila de datos"


def test_workbook_sheet_prefix_is_translated(tmp_path):
    """The workbook family prefixes the sheet; the prefix and the inner problem are both translated."""
    inner = Problem("f.xlsx", 3, None, "S1", key="header_no_data")
    p = Problem(inner.file, inner.line, inner.column, inner.rule, value=inner.value, key="in_sheet",
                params={"sheet": repr("Hoja1"), "detail": nested(inner)})
    assert p.message == "sheet 'Hoja1': the file has a header but no data rows"
    assert p.render("es") == "hoja 'Hoja1': el archivo tiene encabezado pero ninguna fila de datos"


def test_adapter_problem_from_a_real_adapter_call_has_a_key(tmp_path):
    spec = load_spec("ar_snic", REPO / "reference")
    with pytest.raises(SubmissionError) as ei:
        adapt_file(_header_only(tmp_path), spec, submission_id="t", file_name="x.csv")
    [p] = ei.value.problems
    assert (p.rule, p.key, p.line) == ("S1", "header_no_data", 1)
