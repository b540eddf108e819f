"""Export files are written by fixed COPY statements with the path and the Parquet metadata bound: a quote in
either is data, never SQL."""

import duckdb
import pyarrow.parquet as pq

from pipelines.publication import tabular


def test_paths_and_metadata_with_quotes_are_written_as_given(tmp_path):
    con = duckdb.connect()
    folder = tmp_path / "it's here"
    folder.mkdir()
    meta = {"citation": "O'Higgins'); drop table x; --", "release": "r1"}
    n = tabular.copy_parquet(con, "select * from range(5) t(i) where i < ?", [3], folder / "a'b.parquet", meta)
    assert n == 3
    got = pq.ParquetFile(folder / "a'b.parquet").metadata.metadata
    assert got[b"citation"] == meta["citation"].encode() and got[b"release"] == b"r1"
    assert pq.read_table(folder / "a'b.parquet").column("i").to_pylist() == [0, 1, 2]
    assert tabular.copy_parquet(con, "select 1 as i", [], folder / "plain.parquet") == 1
    assert tabular.copy_out(con, "select 'x' as c", [], folder / "c'sv.csv", "csv") == 1
    assert (folder / "c'sv.csv").read_text().splitlines() == ["c", "x"]
