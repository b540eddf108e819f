"""The rules and GX on a Parquet file in bounded memory give what they give on the same table in pandas:
in_codelist as SQL names the same failures as the pandera check it replaced, breakdown checks are not
applicable when the table has no breakdown, no check brings more than MAX_FAILURES rows into pandas, and
the raw contract of a file names the line and column of each failing row."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.contracts.tables import ContractError, RawSchema, validate_parquet
from pipelines.harmonise import reference as ref
from pipelines.pipeline.validate import contract_problems
from pipelines.quality import evaluate, gx_suite, load_rules
from pipelines.quality.results import MAX_FAILURES
from tests.quality.conftest import REF, RULES, context, rule

COUNTRIES = ["ARG", "ATG", "BHS", "BLZ", "BOL", "BRA", "BRB", "CAN", "CHL", "COL", "CRI", "CUB", "DMA", "DOM",
             "ECU", "GRD", "GTM", "GUY", "HND", "HTI", "JAM", "KNA", "LCA", "MEX", "NIC", "PAN", "PER", "PRY",
             "SLV", "SUR", "TTO", "URY", "USA", "VCT", "VEN"]


def _hand_made(n: int = 5) -> pd.DataFrame:
    return pd.DataFrame({
        "submission_id": "s", "source_id": "ar_snic", "file_name": "f.csv", "line": [2, 3, 4, 5, 6][:n],
        "column_name": ["v", "v", "w", "v", "v"][:n], "country_iso3": ["ARG", "ARG", "ESP", None, "ARG"][:n],
        "subdivision_code": [None, "02", None, None, None][:n], "year": [2020] * n,
        "month": pd.array([None, 1, None, None, None][:n], dtype="Int64"),
        "national_code": ["a", "b", "c", "d", "e"][:n], "measure": ["offences"] * n,
        "unit": ["count", "tasa", "count", "count", None][:n], "sex": ["_T", "Mujer", "_T", None, "F"][:n],
        "age": "_T", "relationship": "_T", "value": [1.0, 2, 3, None, 5][:n], "obs_status": "A", "obs_note": None})


# what the pandera check (before the SQL one) gave on _hand_made(): column, line, value, observed
PANDERA_C3 = [
    ("country_iso3", 5, None, "not_nullable"),
    ("country_iso3", 4, "ESP", f"isin({COUNTRIES!r})"),
    ("sex", 5, None, "not_nullable"),
    ("sex", 3, "Mujer", "isin(['_T', 'F', 'M', '_U'])"),
    ("unit", 6, None, "not_nullable"),
    ("unit", 3, "tasa", "isin(['count', 'rate_per_100k', 'percent'])"),
]


@pytest.mark.parametrize("as_file", [False, True])
def test_in_codelist_sql_names_the_failures_pandera_named(tmp_path, as_file):
    df = _hand_made()
    table = df
    if as_file:
        table = tmp_path / "t.parquet"
        df.to_parquet(table)
    res = evaluate(table, [rule("C3", "ar_snic")], context("ar_snic", df))[0]
    assert res.status == "fail" and res.failing_rows == 6 and res.engine == "duckdb"
    f = res.failures
    got = [(c, int(ln), None if pd.isna(v) else v, o) for c, ln, v, o in
           zip(f["column_name"], f["line"], f["value"], f["observed"])]
    assert got == PANDERA_C3
    assert set(f["expected"]) == {"a code of the list"}
    assert list(f.loc[f["line"] == 3, "subdivision_code"]) == ["02", "02"]


def test_the_same_results_on_a_file_as_on_its_dataframe(pais_clean, tmp_path):
    p = tmp_path / "pais.parquet"
    pais_clean.to_parquet(p)
    rules = load_rules(RULES, "ar_snic", reference_dir=REF)
    ctx = context("ar_snic", pais_clean)
    on_df = evaluate(pais_clean, rules, ctx, layer="validated")
    on_file = evaluate(p, rules, ctx, layer="validated")
    for a, b in zip(on_df, on_file):
        assert (a.rule.id, a.status, a.failing_rows, a.observed, a.notes) == \
            (b.rule.id, b.status, b.failing_rows, b.observed, b.notes)
        # (some checks' queries have no order: the same rows, in any order)
        assert sorted(a.failures.astype(str).values.tolist()) == sorted(b.failures.astype(str).values.tolist())


def test_a_breakdown_check_is_not_applicable_without_breakdowns(tmp_path):
    df = _hand_made().assign(sex="_T", unit="count", country_iso3="ARG")
    res = evaluate(df, [rule("I1", "ar_snic")], context("ar_snic", df))[0]
    assert res.status == "not_applicable" and "no breakdown by sex" in res.notes[0]
    with_parts = pd.concat([df.assign(sex="F", value=1.0, line=df["line"] + 10), df], ignore_index=True)
    res = evaluate(with_parts, [rule("I1", "ar_snic")], context("ar_snic", with_parts))[0]
    assert res.status in ("pass", "fail")


def test_failure_rows_are_capped_in_duckdb_and_counted_in_full(tmp_path):
    n = MAX_FAILURES + 250
    df = pd.concat([_hand_made(1)] * n, ignore_index=True).assign(
        line=range(2, n + 2), value=-1.0, obs_status="Z", national_code=[f"c{i}" for i in range(n)])
    p = tmp_path / "t.parquet"
    df.to_parquet(p)
    for rid in ("V1", "F1", "C4"):
        r = rule(rid, "ar_snic")
        if rid == "C4":
            p2 = tmp_path / "dup.parquet"
            pd.concat([df, df], ignore_index=True).to_parquet(p2)
            res = evaluate(p2, [r], context("ar_snic", None))[0]
        else:
            res = evaluate(p, [r], context("ar_snic", None))[0]
        assert res.status == "fail" and res.failing_rows == n and len(res.failures) == MAX_FAILURES, rid
        first = res.failures["line"].astype(str).str.split(",").str[0].astype(int)
        assert first.is_monotonic_increasing and first.iloc[0] == 2, rid


def test_gx_on_a_file_gives_what_it_gives_on_the_dataframe(pais_clean, tmp_path):
    bad = pais_clean.assign(sex=pais_clean["sex"].where(pais_clean.index != 3, "Mayor de edad"),
                            value=pais_clean["value"].where(pais_clean.index != 5, 2.5))
    p = tmp_path / "bad.parquet"
    bad.to_parquet(p)
    rules = [r for r in load_rules(RULES, "ar_snic", reference_dir=REF) if r.check in gx_suite.GX_CHECKS]
    countries = set(ref.countries(REF)["iso3"])
    a, b = gx_suite.run_suite(bad, rules, countries), gx_suite.run_suite(p, rules, countries)
    assert a["verdicts"] == b["verdicts"] == {"C3": "fail", "C4": "pass", "V1": "fail", "F1": "pass"}
    assert [(x["rule_id"], x["unexpected_count"]) for x in a["results"]] == \
        [(x["rule_id"], x["unexpected_count"]) for x in b["results"]]
    results = evaluate(p, rules, context("ar_snic", bad))
    gx_suite.run_for_submission(results, p, rules, countries, name="ar_snic", docs=None)
    assert {r.rule.id: (r.as_row()["gx_status"], r.as_row()["gx_unexpected"]) for r in results} == \
        {"C3": ("fail", 1), "C4": ("pass", 0), "V1": ("fail", 1), "F1": ("pass", 0)}


def test_the_contract_of_a_file_names_line_and_column(tmp_path):
    df = _hand_made().assign(country_iso3="ARG", sex="_T", unit="count", subdivision_name=None, national_label=None,
                             value_raw=None, source_note=None)
    df.loc[2, "value"] = -4.0           # line 4, file column w
    df.loc[1, "year"] = 1800            # line 3
    p = tmp_path / "raw.parquet"
    df[[c for c in df.columns]].to_parquet(p)
    with pytest.raises(ContractError) as exc:
        validate_parquet(p, RawSchema, batch_rows=2)   # three batches
    probs = contract_problems(None, exc.value, "f.csv")
    assert {(p.line, p.column, p.value) for p in probs} == {(4, "w", "-4.0"), (3, "year", "1800")}
    # a whole-table failure (a column the contract does not know) is found in every batch, reported once
    df.assign(extra=1).to_parquet(p)
    with pytest.raises(ContractError) as exc:
        validate_parquet(p, RawSchema, batch_rows=2)
    probs = contract_problems(None, exc.value, "f.csv")
    assert [(p.line, p.value) for p in probs if p.value == "extra"] == [(None, "extra")]


def test_other_vintages_read_in_place_give_what_their_dataframes_give(pais_clean, tmp_path):
    """build_context keeps the previous vintage and the related submissions as files: R1, R2 and X3 on them
    give what they give on the same tables in pandas."""
    old = pais_clean.assign(value=pais_clean["value"] * 1.5, submission_id="ar_snic__20240101__00000000")
    p = tmp_path / "old.parquet"
    old.to_parquet(p)
    rules = [r for r in load_rules(RULES, "ar_snic", reference_dir=REF) if r.id in ("R1", "R2", "X3")]
    on_df = evaluate(pais_clean, rules, context("ar_snic", pais_clean, previous=old, related=old))
    on_file = evaluate(pais_clean, rules, context("ar_snic", pais_clean, previous=p, related=[p]))
    assert [r.status for r in on_df] == [r.status for r in on_file]
    assert any(r.status == "fail" for r in on_df)
    for a, b in zip(on_df, on_file):
        assert (a.failing_rows, a.observed, a.notes) == (b.failing_rows, b.observed, b.notes), a.rule.id
        assert sorted(a.failures.astype(str).values.tolist()) == sorted(b.failures.astype(str).values.tolist())


def test_the_contract_unique_key_is_checked_on_the_whole_file(tmp_path):
    """The table-wide key (a hash count first, the keys grouped only where a hash repeats): a key repeated in
    different batches is found and named with its count; a file without one passes, empty keys included."""
    import pandera.pandas as pa_

    schema = pa_.DataFrameSchema({"k": pa_.Column(str, nullable=True), "y": pa_.Column("int64")},
                                 unique=["k", "y"], name="t")
    ok = tmp_path / "ok.parquet"
    pd.DataFrame({"k": ["a", "b", None, "a"], "y": [1, 1, 1, 2]}).to_parquet(ok)
    assert validate_parquet(ok, schema, batch_rows=2) == 4
    bad = tmp_path / "bad.parquet"
    pd.DataFrame({"k": ["a", "b", None, "a", None], "y": [1, 1, 1, 1, 1]}).to_parquet(bad)
    with pytest.raises(ContractError) as exc:
        validate_parquet(bad, schema, batch_rows=2)
    found = set(exc.value.failures["failure_case"].astype(str))
    assert found == {"('a', 1) x2", "(nan, 1) x2"}   # the empty key as pandas shows it


def test_integer_columns_with_empty_cells_read_as_nullable_integers():
    """arrow_to_pandas: an integer column with an empty cell is Int64 (exact, never float), whatever its width;
    one without stays int64."""
    import pyarrow as pa

    from pipelines.contracts.tables import arrow_to_pandas

    big = 2 ** 53 + 1                       # not representable as a float
    t = pa.table({"month": pa.array([1, None, 12], pa.int32()), "n": pa.array([big, None, 3], pa.int64()),
                  "year": pa.array([2020, 2021, 2022], pa.int64())})
    df = arrow_to_pandas(t)
    assert [str(df[c].dtype) for c in ("month", "n", "year")] == ["Int64", "Int64", "int64"]
    assert df["n"].tolist()[0] == big and df["n"].isna().tolist() == [False, True, False]
    assert df["month"].tolist()[::2] == [1, 12]
    assert str(arrow_to_pandas(t.slice(0, 0))["month"].dtype) in ("Int64", "int32")


def _clean_raw(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({
        "submission_id": "s", "source_id": "ar_snic", "file_name": "f.csv", "line": list(range(2, 2 + n)),
        "column_name": "v", "country_iso3": "ARG", "subdivision_code": [None, "02"] * (n // 2),
        "subdivision_name": None, "year": 2020, "month": pd.array([None, 1] * (n // 2), dtype="Int64"),
        "national_code": [f"c{i}" for i in range(n)], "national_label": None, "measure": "offences",
        "unit": "count", "sex": "_T", "age": "_T", "relationship": "_T",
        "value": [1.0, None, 3.0, float("nan"), 5.0, 0.0][:n], "value_raw": None, "obs_status": "A",
        "obs_note": None, "source_note": None}).astype({"subdivision_name": "str", "national_label": "str",
                                                      "value_raw": "str", "obs_note": "str", "source_note": "str"})


# one corruption each (column, value) of _clean_raw's row 2: the SQL screen and pandera must agree on every one
CORRUPTIONS = [("country_iso3", "ar"), ("country_iso3", None), ("country_iso3", "ARGX"), ("year", 1899),
               ("year", 2101), ("month", 13), ("month", 0), ("measure", "Offences"), ("unit", None),
               ("sex", "Mujer"), ("obs_status", "Z"), ("value", -1.0), ("line", 0), ("national_code", None),
               ("age", None), ("submission_id", None)]


def test_the_sql_screen_agrees_with_pandera_on_every_single_corruption(tmp_path):
    """The contract's column checks run first as one DuckDB pass (``_screen_sql``): a clean file — nulls and
    NaN where the contract allows them, included — is clean for both; each single corruption, a column of
    another type, a column missing or extra, is not clean for the screen and fails pandera; the file is then
    judged by pandera, so the failure names the same line and column as before the screen existed."""
    import duckdb

    from pipelines.contracts.tables import _screen_sql, validate_layer

    con = duckdb.connect()
    clean = _clean_raw()
    p = tmp_path / "clean.parquet"
    clean.to_parquet(p)
    assert _screen_sql(con, str(p), RawSchema) == (True, 6)
    validate_layer(clean, RawSchema)
    assert validate_parquet(p, RawSchema) == 6
    # a text column with no value at all, written with Arrow's null type (as DuckDB and pyarrow write one):
    # clean for both; a number column so written is left to pandera (here the file's pandas metadata types it
    # Int64, and pandera passes it)
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.Table.from_pandas(clean, preserve_index=False)
    pq.write_table(t.set_column(t.schema.get_field_index("source_note"), "source_note", pa.nulls(6)), p)
    assert _screen_sql(con, str(p), RawSchema) == (True, 6) and validate_parquet(p, RawSchema) == 6
    pq.write_table(t.set_column(t.schema.get_field_index("month"), "month", pa.nulls(6)), p)
    assert _screen_sql(con, str(p), RawSchema) == (False, 0) and validate_parquet(p, RawSchema) == 6
    variants = [(f"{c}={v!r}", clean.assign(**{c: clean[c].astype(object).where(clean.index != 2, v)
                                               if clean[c].dtype == object or v is None
                                               else clean[c].where(clean.index != 2, v)}))
                for c, v in CORRUPTIONS]
    variants += [("line as int32", clean.astype({"line": "int32"})), ("extra column", clean.assign(extra=1)),
                 ("no unit column", clean.drop(columns=["unit"])),
                 ("value as text", clean.assign(value=clean["value"].astype(str)))]
    for label, df in variants:
        q = tmp_path / "v.parquet"
        df.to_parquet(q)
        screened = _screen_sql(con, str(q), RawSchema)
        assert screened is not None and screened[0] is False, label
        with pytest.raises(ContractError) as exc:
            validate_parquet(q, RawSchema)
        if "=" in label:   # the corrupted row (file line 4; the line column itself then reads 0)
            probs = contract_problems(None, exc.value, "f.csv")
            assert [p.line for p in probs] == [0 if label == "line=0" else 4], (label, probs)


def test_the_sql_screen_leaves_to_pandera_what_it_does_not_translate(tmp_path):
    """A check the screen does not know (a custom function), or a type it does not map, gives None: pandera
    judges the file, and a failure is still found."""
    import duckdb
    import pandera.pandas as pa_

    from pipelines.contracts.tables import _screen_sql

    schema = pa_.DataFrameSchema({"k": pa_.Column(str, pa_.Check(lambda s: s.str.len() < 3))}, name="t")
    p = tmp_path / "t.parquet"
    pd.DataFrame({"k": ["ab", "abcd"]}).to_parquet(p)
    assert _screen_sql(duckdb.connect(), str(p), schema) is None
    with pytest.raises(ContractError):
        validate_parquet(p, schema)
    boolean = pa_.DataFrameSchema({"b": pa_.Column(bool)}, name="b")
    q = tmp_path / "b.parquet"
    pd.DataFrame({"b": [True, False]}).to_parquet(q)
    assert _screen_sql(duckdb.connect(), str(q), boolean) is None
    assert validate_parquet(q, boolean) == 2


def test_only_allow_listed_column_names_reach_the_contract_sql(tmp_path):
    """A contract column whose name is outside the identifier allow-list never enters the screen's SQL (pandera
    judges the file), and a unique key naming one is refused."""
    import duckdb
    import pandera.pandas as pa_

    from pipelines.contracts.tables import _screen_sql

    p = tmp_path / "q.parquet"
    pd.DataFrame({'a"; drop': [1]}).to_parquet(p)
    odd = pa_.DataFrameSchema({'a"; drop': pa_.Column("int64", pa_.Check.ge(0))}, name="odd")
    assert _screen_sql(duckdb.connect(), str(p), odd) is None
    assert validate_parquet(p, odd) == 1
    keyed = pa_.DataFrameSchema({'a"; drop': pa_.Column("int64")}, unique=['a"; drop'], name="keyed")
    with pytest.raises(ValueError, match="unique-key column name outside"):
        validate_parquet(p, keyed)
