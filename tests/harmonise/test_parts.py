"""Harmonisation in parts of whole countries (engine.harmonise, ``part_cells``) gives the same tables as one
run over every country: the vintage units, hierarchy residuals, national sums, roll-up and rates all keep
within a country, and the tables that cross countries (excluded cells, unused crosswalk rows, the codes
without a crosswalk row) are merged from the parts."""

from pathlib import Path

import pandas as pd
import pytest

from pipelines.adapters import load_all_specs
from pipelines.harmonise import HarmoniseError, harmonise
from pipelines.harmonise.engine import OUTPUTS, Part, _country_parts, _year_scoped_countries
from tests.harmonise.test_engine import _cells, _subs as _write

REF = Path(__file__).resolve().parents[2] / "reference"


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    """A table as a multiset: every column, rows in one order (None/NaN compare equal as strings)."""
    key = df.astype(str)
    return df.iloc[key.sort_values(list(df.columns)).index.map(key.index.get_loc)].reset_index(drop=True)


def assert_same_tables(one, split):
    for name in OUTPUTS:
        a, b = one.frame(name), split.frame(name)
        assert list(a.columns) == list(b.columns), name
        assert [str(t) for t in a.dtypes] == [str(t) for t in b.dtypes], name
        assert len(a) == len(b), (name, len(a), len(b))
        pd.testing.assert_frame_equal(_sorted(a), _sorted(b), check_dtype=True, obj=name)
    # the indicators keep their published order (national rows first, then country, year, ICCS code)
    pd.testing.assert_frame_equal(one.indicators.reset_index(drop=True), split.indicators.reset_index(drop=True))
    how = ("parts", "parts_by_year", "parts_reused")     # how the run was cut and what it reused, not what it gives
    assert {k: v for k, v in one.stats.items() if k not in how} == {k: v for k, v in split.stats.items() if k not in how}


def _two_sources(tmp_path):
    """SNIC-like files for ARG and for CHL (parent code 11 with child 11_2 only in ARG), a newer ARG vintage
    that revises one cell and withdraws another, and a CTS-like file covering three countries."""
    y = {"year": 2023}
    arg_old = _cells([{"national_code": "1", "value": 10.0, **y}, {"national_code": "11", "value": 50.0, **y},
                      {"national_code": "11_2", "value": 20.0, **y}, {"national_code": "2", "value": 3.0, **y},
                      {"national_code": "3", "value": 8.0, **y}],
                     sid="ar_snic__20240101__aaaaaaaa")
    arg_new = _cells([{"national_code": "1", "value": 12.0, **y}, {"national_code": "11", "value": 50.0, **y},
                      {"national_code": "11_2", "value": 20.0, **y}, {"national_code": "3", "value": 9.0, **y}],
                     sid="ar_snic__20250101__bbbbbbbb")
    chl = _cells([{"national_code": "1", "value": 7.0, "country_iso3": "CHL", **y},
                  {"national_code": "11", "value": 30.0, "country_iso3": "CHL", **y},
                  {"national_code": "3", "value": None, "country_iso3": "CHL", **y}],
                 sid="ar_snic__20250101__cccccccc")
    sub = _cells([{"national_code": "1", "value": 4.0, "subdivision_code": "AR-B", "subdivision_name": "Buenos Aires",
                   "year": 2024},
                  {"national_code": "1", "value": 5.0, "subdivision_code": "AR-C", "subdivision_name": "CABA",
                   "year": 2024}], sid="ar_snic__20250601__dddddddd")
    return _write(tmp_path, [(arg_old, "2024-01-01T00:00:00"), (arg_new, "2025-01-01T00:00:00"),
                             (chl, "2025-01-01T00:00:00"), (sub, "2025-06-01T00:00:00")])


def test_parts_give_the_tables_of_one_run(tmp_path):
    subs = _two_sources(tmp_path)
    specs = load_all_specs(REF)
    one = harmonise(subs, specs, REF, part_cells=10 ** 12)
    split = harmonise(subs, specs, REF, part_cells=1)
    assert one.stats["parts"] == 1 and split.stats["parts"] == 3    # ARG 2023, ARG 2024 (years), CHL
    assert one.stats["parts_by_year"] == 0 and split.stats["parts_by_year"] == 3   # each larger than a part
    assert_same_tables(one, split)
    # and the values are the engine's, not merely equal to each other
    ind = split.indicators
    nat = ind[ind.subdivision_code.isna() & (ind.iccs_code == "0101")].set_index(["country_iso3", "year"])["value"]
    assert nat.to_dict() == {("ARG", 2023): 12.0, ("ARG", 2024): 9.0, ("CHL", 2023): 7.0}   # 2024: 4 + 5
    assert set(split.revisions.kind) == {"revised", "withdrawn"}
    assert split.excluded.set_index("national_code")["cells"].to_dict() == {"3": 2}   # ARG (newest) and CHL
    assert sorted(split.used.submission_id) == sorted(subs.submission_id.drop(0))   # the old ARG vintage lost


def test_codes_without_crosswalk_are_named_from_every_part(tmp_path):
    """C1 is checked in each part; the error names the codes of every part, as one run would."""
    arg = _cells([{"national_code": "NOPE", "value": 1.0}], sid="ar_snic__20250101__aaaaaaaa")
    chl = _cells([{"national_code": "NOPE", "value": 2.0, "country_iso3": "CHL", "line": 9},
                  {"national_code": "ALSO_NOT", "value": 2.0, "country_iso3": "CHL"}],
                 sid="ar_snic__20250101__cccccccc")
    subs = _write(tmp_path, [(arg, "2025-01-01T00:00:00"), (chl, "2025-01-02T00:00:00")])
    specs = load_all_specs(REF)
    errors = []
    for part_cells in (10 ** 12, 1):
        with pytest.raises(HarmoniseError) as exc:
            harmonise(subs, specs, REF, part_cells=part_cells)
        errors.append(exc.value.details.reset_index(drop=True))
    pd.testing.assert_frame_equal(errors[0], errors[1])
    nope = errors[1][errors[1].national_code == "NOPE"].iloc[0]
    assert nope.cells == 2 and nope.submissions == "ar_snic__20250101__aaaaaaaa,ar_snic__20250101__cccccccc"
    assert set(errors[1].national_code) == {"NOPE", "ALSO_NOT"}


def test_countries_are_cut_whole_in_order():
    census = pd.DataFrame({"country": ["ARG", "ARG", "BRA", "CHL", "MEX"], "year": [2023, 2024, 2023, 2023, 2023],
                           "n": [3, 3, 2, 9, 1]})
    assert _country_parts(census, 8) == [Part(("ARG", "BRA")), Part(("CHL",)), Part(("MEX",))]
    assert _country_parts(census, 100) == [Part(("ARG", "BRA", "CHL", "MEX"))]
    assert _country_parts(census.iloc[:0], 5) == [Part(None)]


def test_a_large_country_is_cut_in_whole_years_only_where_its_sources_allow_it():
    """A country larger than a part is cut into whole years, in year order, where every source it has replaces
    its cells year by year; its parts hold no other country. Elsewhere it stays whole."""
    census = pd.DataFrame({"country": ["ARG", "MEX", "MEX", "MEX", "MEX", "PER"],
                           "year": [2023, 2022, 2023, 2023, 2024, 2023], "n": [2, 2, 3, 2, 6, 1]})
    assert _country_parts(census, 8, {"MEX"}) == [Part(("ARG",)), Part(("MEX",), (2022, 2023)),
                                                   Part(("MEX",), (2024,)), Part(("PER",))]
    assert _country_parts(census, 8, set()) == [Part(("ARG",)), Part(("MEX",)), Part(("PER",))]
    assert _country_parts(census, 5, {"MEX"}) == [Part(("ARG",)), Part(("MEX",), (2022,)), Part(("MEX",), (2023,)),
                                                   Part(("MEX",), (2024,)), Part(("PER",))]   # a year is never cut
    # which countries may be cut: every source of theirs scoped by year
    specs = load_all_specs(REF)
    full = specs["ar_snic"].model_copy(update={"scope": specs["ar_snic"].scope.model_copy(
        update={"kind": "full", "by": None})})
    assert "year" not in full.scope_by
    cen = pd.DataFrame({"country": ["ARG", "CHL", "CHL", "MEX"], "year": [2023, 2023, 2023, 2024],
                        "source_id": ["ar_snic", "ar_snic", "unodc_cts", "mx_sesnsp"], "n": [1, 1, 1, 1]})
    assert _year_scoped_countries(cen, specs) == {"ARG", "CHL", "MEX"}
    assert _year_scoped_countries(cen, {**specs, "ar_snic": full}) == {"MEX"}
    assert _year_scoped_countries(cen.assign(year=[2023, None, 2023, 2024]), specs) == {"ARG", "MEX"}
    assert _year_scoped_countries(cen.assign(source_id=["nope", "ar_snic", "ar_snic", "mx_sesnsp"]), specs) \
        == {"CHL", "MEX"}   # a source without a spec: never cut


def test_indicators_of_parts_are_in_the_published_order(tmp_path):
    """The parts are put one after the other without a second sort: the file must still be in the published
    order (national rows first, then country, year, ICCS code …), with the types one run writes, in row groups
    of INDICATOR_ROW_GROUP rows."""
    import duckdb
    import pyarrow.parquet as pq

    from pipelines.harmonise.engine import INDICATOR_ROW_GROUP

    subs = _two_sources(tmp_path)
    specs = load_all_specs(REF)
    one = harmonise(subs, specs, REF, out_dir=tmp_path / "one", part_cells=10 ** 12).paths["indicators"]
    split = harmonise(subs, specs, REF, out_dir=tmp_path / "split", part_cells=1).paths["indicators"]
    con = duckdb.connect()
    order = ("subdivision_code is not null, country_iso3, year, iccs_code, source_id, subdivision_code, "
             "month nulls first, measure, sex, age, relationship")
    for path in (one, split):
        out_of_order = con.execute(
            "with t as (select *, row_number() over () as rn from read_parquet(?)) "
            "select count(*) from (select rn, row_number() over (order by " + order + ") as k from t) where rn <> k",
            [str(path)]).fetchall()[0][0]
        assert out_of_order == 0, path
    assert con.execute("describe select * from read_parquet(?)", [str(one)]).fetchall() == \
           con.execute("describe select * from read_parquet(?)", [str(split)]).fetchall()
    meta = pq.ParquetFile(split).metadata
    assert meta.num_rows == pq.ParquetFile(one).metadata.num_rows > 0
    assert all(meta.row_group(i).num_rows <= INDICATOR_ROW_GROUP for i in range(meta.num_row_groups))
    # national rows of both countries come before any subdivision row
    subdiv = con.execute("select list(subdivision_code is not null) from read_parquet(?)", [str(split)]).fetchall()[0][0]
    assert subdiv == sorted(subdiv) and any(subdiv) and not all(subdiv)


def test_concatenation_cuts_full_row_groups_across_parts(tmp_path):
    """_concat_indicators on parts larger than a row group: national rows of every part come first in part order,
    each part's rows keep their order, nothing is lost or repeated, and no row group is larger than asked; a
    group is cut short only where a part's national or subdivision rows end (DuckDB writes the row groups it
    reads, up to the size asked, and at least 2,048 rows: the parts here are thousands of rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.harmonise.engine import _concat_indicators

    paths, want_nat, want_sub = [], [], []
    for i, (country, n_nat, n_sub) in enumerate([("ARG", 5000, 4000), ("BRA", 2000, 0), ("CHL", 4000, 7001)]):
        t = pa.table({"country_iso3": [country] * (n_nat + n_sub),
                      "subdivision_code": [None] * n_nat + [f"{country}-{k}" for k in range(n_sub)],
                      "value": [float(k) for k in range(n_nat + n_sub)]})
        paths.append(str(tmp_path / f"p{i}.parquet"))
        pq.write_table(t, paths[-1], row_group_size=4096)   # as a part is written: groups of the size asked
        want_nat += [(country, float(k)) for k in range(n_nat)]
        want_sub += [(country, float(k)) for k in range(n_nat, n_nat + n_sub)]
    out = _concat_indicators(paths, tmp_path / "all.parquet", row_group_size=4096)
    got = pq.read_table(out)
    assert list(zip(got.column("country_iso3").to_pylist(), got.column("value").to_pylist())) == want_nat + want_sub
    assert got.column("subdivision_code").null_count == 11000
    meta = pq.ParquetFile(out).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sum(sizes) == 22001 and max(sizes) == 4096
    assert len(sizes) <= -(-22001 // 4096) + 2 * len(paths)   # at most two short groups per part
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.parquet", "p0.parquet", "p1.parquet", "p2.parquet"]


def test_concatenation_keeps_the_connection_as_it_found_it(tmp_path):
    """On harmonisation's connection (insertion order not kept), the concatenation keeps order for its own two
    statements only, then puts the setting back."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.harmonise.engine import _concat_indicators, connect

    paths = []
    for i in range(2):
        pq.write_table(pa.table({"subdivision_code": [None, "X"], "value": [float(i), float(i) + 0.5]}),
                       tmp_path / f"p{i}.parquet")
        paths.append(str(tmp_path / f"p{i}.parquet"))
    con = connect()
    got = pq.read_table(_concat_indicators(paths, tmp_path / "all.parquet", con=con))
    assert got.column("value").to_pylist() == [0.0, 1.0, 0.5, 1.5]
    assert con.execute("select current_setting('preserve_insertion_order')").fetchall()[0][0] is False


def test_a_full_export_keeps_its_country_whole(tmp_path):
    """A source whose newer file replaces the whole series (``scope: full``) withdraws the years the newer file
    no longer has: its country is never cut by year, or the older year would be harmonised without the newer
    file beside it and kept. Scoped by year, the older year stays, cut or not."""
    old = _cells([{"national_code": "1", "value": 10.0, "year": 2022},
                  {"national_code": "1", "value": 11.0, "year": 2023}], sid="ar_snic__20240101__aaaaaaaa")
    new = _cells([{"national_code": "1", "value": 12.0, "year": 2023}], sid="ar_snic__20250101__bbbbbbbb")
    subs = _write(tmp_path, [(old, "2024-01-01T00:00:00"), (new, "2025-01-01T00:00:00")])
    specs = load_all_specs(REF)
    full = {**specs, "ar_snic": specs["ar_snic"].model_copy(update={"scope": specs["ar_snic"].scope.model_copy(
        update={"kind": "full", "by": None})})}
    for sp, years in ((full, {2023: 12.0}), (specs, {2022: 10.0, 2023: 12.0})):
        one = harmonise(subs, sp, REF, part_cells=10 ** 12)
        split = harmonise(subs, sp, REF, part_cells=1)
        assert (split.stats["parts"], split.stats["parts_by_year"]) == ((1, 0) if sp is full else (2, 2))
        assert_same_tables(one, split)
        nat = split.indicators[split.indicators.iccs_code == "0101"].set_index("year")["value"]
        assert nat.to_dict() == years
    assert set(harmonise(subs, full, REF, part_cells=1).revisions.kind) == {"withdrawn", "revised"}
