"""`from pipelines import warehouse` (issue 15 item 5) on a small warehouse published from the synthetic SNIC
national file: the helpers filter with bound parameters, agree with SQL on the views, and the connection is
read-only and locked to the published folder."""

from __future__ import annotations

import duckdb
import pytest

from pipelines import pipeline, warehouse
from pipelines.samples.synthetic import generate_sample
from pipelines.settings import get_settings
from pipelines.storage.readonly import ReadOnlyQueryError
from tests.conftest import environ


@pytest.fixture(scope="module")
def s(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wh_api")
    with environ({"HEMISTAT_DATA_DIR": str(tmp / "data"), "DAGSTER_HOME": str(tmp / "data" / "dagster_home")}):
        st = get_settings()
        st.ensure_dirs()
        with pytest.raises(FileNotFoundError, match="run `hemistat run`"):
            warehouse.connect(st)
        pais = next(p for p in generate_sample(tmp / "sample")["ar_snic"] if p.name.startswith("snic-pais"))
        sid = pipeline.submit(st, pais, "ar_snic")[0].submission_id
        pipeline.ingest(st, sid)
        pipeline.validate(st, sid)
        if pipeline.failing_warnings(st, sid):
            pipeline.acknowledge(st, sid, pipeline.failing_warnings(st, sid), by="test", reason="synthetic sample")
        pipeline.harmonise_all(st)
        pipeline.publish_all(st)
        yield st


def test_helpers_filter_like_sql_on_the_views(s):
    con = warehouse.connect(s)
    try:
        sql = con.execute("select year, value from published.comparable where country_iso3 = 'ARG' and "
                          "iccs_code = '0101' and measure = 'offences' and sex = '_T' and age = '_T' and "
                          "subdivision_code is null and year between 2016 and 2018 order by year").fetchall()
        n_regional = con.execute("select count(*) from published.regional where iccs_code = '0101'").fetchone()[0]
    finally:
        con.close()
    assert len(sql) == 3
    df = warehouse.comparable(iccs="0101", countries="ARG", years=(2016, 2018), sex="_T", measure="offences",
                              settings=s)
    assert list(zip(df["year"], df["value"])) == sql
    assert warehouse.comparable(iccs="0101", countries=["ARG"], years=[2016, 2018], sex="_T", measure="offences",
                                settings=s)["year"].tolist() == [2016, 2018]
    assert len(warehouse.regional(iccs="0101", settings=s)) == n_regional > 0
    ser = warehouse.series("ARG", measure="offences", years=range(2016, 2019), settings=s)
    assert list(zip(ser["year"], ser["value"])) == sql and set(ser["source_id"]) == {"ar_snic"}
    q = warehouse.quality(countries="ARG", settings=s)
    assert {"quality_score", "accuracy", "completeness"} <= set(q.columns) and len(q) > 0
    # quality_score of published.comparable is the one of published.quality_summary (mean of the dimensions)
    row = df.iloc[0]
    assert row["quality_score"] == pytest.approx(q.set_index("year").loc[row["year"], "quality_score"])
    cov = warehouse.coverage(countries="ARG", years=2017, settings=s)
    assert list(cov.iloc[0]["sources"]) == ["ar_snic"]
    ind = warehouse.indicators(countries="ARG", years=2017, sources="ar_snic", sex="_T", measure="offences",
                               settings=s)
    assert ind["value"].tolist() == [sql[1][1]]
    arrow = warehouse.comparable(countries="ARG", years=2017, arrow=True, settings=s)
    assert arrow.num_rows == len(warehouse.comparable(countries="ARG", years=2017, settings=s))


def test_filters_are_values_never_sql(s):
    assert warehouse.comparable(countries="ARG' or '1'='1", settings=s).empty
    assert warehouse.query("select count(*) as n from published.comparable where country_iso3 = ?",
                           ["ARG'; drop view published.comparable; --"], settings=s)["n"].tolist() == [0]
    assert warehouse.query("select count(*) as n from published.comparable", settings=s)["n"][0] > 0
    with pytest.raises(ValueError, match="empty list"):
        warehouse.comparable(countries=[], settings=s)


def test_the_connection_is_read_only_and_locked(s):
    with pytest.raises(ReadOnlyQueryError):
        warehouse.query("copy (select 1) to 'x.csv'", settings=s)
    con = warehouse.connect(s)
    try:
        with pytest.raises(duckdb.Error):
            con.execute("create table published.x as select 1")
        with pytest.raises(duckdb.Error, match="Permission|access"):
            con.execute("select * from read_csv('/etc/passwd')")
        with pytest.raises(duckdb.Error):
            con.execute("set enable_external_access = true")
    finally:
        con.close()
    loose = warehouse.connect(s, locked=False)      # read-only only
    try:
        with pytest.raises(duckdb.Error):
            loose.execute("create table published.x as select 1")
    finally:
        loose.close()
    assert warehouse.releases(s)[-1]["current"] is True


def test_a_broken_precedence_file_stops_the_publish_naming_file_and_line(s, tmp_path):
    import shutil

    from pipelines.publication.comparable import PrecedenceError

    ref = tmp_path / "reference"
    shutil.copytree(s.reference_dir, ref)
    p = ref / "precedence.yaml"
    text = p.read_text("utf-8").replace("sources: [owid_homicide]", "sources: [owid_homicide, owid_homicides]")
    p.write_text(text, "utf-8")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "owid_homicides" in ln)
    before = (warehouse.releases(s), (s.published_dir / "COMMITTED.json").read_bytes(), s.duckdb_path.read_bytes())
    broken = s.model_copy(update={"reference_dir": ref})
    with pytest.raises(PrecedenceError, match=rf"{p}, line {line}: unknown source 'owid_homicides'"):
        pipeline.publish_all(broken)
    # nothing published changed
    assert (warehouse.releases(s), (s.published_dir / "COMMITTED.json").read_bytes(),
            s.duckdb_path.read_bytes()) == before
