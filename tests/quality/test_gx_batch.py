"""Great Expectations in batches (``pipeline.validate_many``, ``gx_suite.prefetch``): one suite run for many
files of a source gives every file the same GX verdicts and counts as judging it alone; a batch where any
expectation fails is not used, so a failing file's counts are its own, never the batch's."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines import pipeline
from pipelines.quality import gx_suite
from tests.conftest import REPO

HEADER = (REPO / "reference" / "templates" / "hemistat_template.csv").read_text(encoding="utf-8").splitlines()[0]


def _file(tmp: Path, iso3: str, base: int, duplicate: bool = False) -> Path:
    rows = [f"{iso3},,,{y},,0101,Homicidio intencional,offences,_T,_T,{base + y - 2020},A," for y in (2020, 2021, 2022)]
    if duplicate:  # the same key twice (rule unique_key: an error)
        rows.append(rows[0])
    p = tmp / f"plantilla_{iso3}{'_dup' if duplicate else ''}.csv"
    p.write_text("\n".join([HEADER] + rows) + "\n", encoding="utf-8")
    return p


def _land(settings, paths: list[tuple[Path, str]]) -> list[str]:
    sids = []
    for path, iso3 in paths:
        man, _ = pipeline.submit(settings, path, "iccs_template", country_iso3=iso3)
        pipeline.ingest(settings, man.submission_id)
        sids.append(man.submission_id)
    return sids


def _gx_columns(settings, sid: str) -> pd.DataFrame:
    q = pd.read_parquet(settings.data_dir / "quality" / f"{sid}.parquet")
    return q[q["gx_status"].notna()][["rule_id", "status", "gx_status", "gx_unexpected"]] \
        .sort_values("rule_id").reset_index(drop=True)


def test_a_passing_batch_gives_each_file_what_it_gets_alone(data_env, tmp_path, monkeypatch):
    s = data_env
    sids = _land(s, [(_file(tmp_path, c, 100 * i), c) for i, c in enumerate(["ARG", "BRA", "CHL"], 1)])
    runs = []
    real = gx_suite.run_suite
    monkeypatch.setattr(gx_suite, "run_suite", lambda *a, **k: runs.append(a[0]) or real(*a, **k))
    out = pipeline.validate_many(s, sids)
    assert all(not isinstance(r, Exception) for r in out.values()), out
    assert len(runs) == 1 and isinstance(runs[0], list) and len(runs[0]) == 3   # one suite run for three files
    batch = {sid: _gx_columns(s, sid) for sid in sids}
    assert not gx_suite._BATCH  # nothing left cached
    for sid in sids:  # the same submission judged alone: the same GX columns
        pipeline.validate(s, sid)
        alone = _gx_columns(s, sid)
        assert len(alone) >= 3 and set(alone["gx_status"]) == {"pass"}
        pd.testing.assert_frame_equal(batch[sid], alone)


def test_a_failing_batch_is_not_used(data_env, tmp_path):
    s = data_env
    sids = _land(s, [(_file(tmp_path, "ARG", 100), "ARG"), (_file(tmp_path, "BRA", 200, duplicate=True), "BRA")])
    out = pipeline.validate_many(s, sids)
    assert not isinstance(out[sids[0]], Exception)
    assert isinstance(out[sids[1]], Exception)                    # the duplicate key rejects Brazil's file
    bra = _gx_columns(s, sids[1]).set_index("rule_id")
    arg = _gx_columns(s, sids[0]).set_index("rule_id")
    dup = bra[bra["status"] == "fail"]
    assert len(dup) == 1 and dup["gx_status"].iloc[0] == "fail" and dup["gx_unexpected"].iloc[0] >= 1
    assert set(arg["gx_status"]) == {"pass"}                      # Argentina's file, judged alone, passes
    assert int(arg["gx_unexpected"].sum()) == 0


def test_batches_are_bounded_by_rows_as_well_as_files():
    """A batch's uniqueness expectations group all its rows: batches stop at max_rows (a larger file is
    judged alone) and at chunk files, and keep the files' order."""
    files = [(Path(f"f{i}"), n) for i, n in enumerate([400, 500, 200, 2_000, 100, 100, 100])]
    got = [[p.name for p in b] for b in gx_suite._batches(files, chunk=200, max_rows=1_000)]
    assert got == [["f0", "f1"], ["f2"], ["f3"], ["f4", "f5", "f6"]]
    got = [[p.name for p in b] for b in gx_suite._batches(files, chunk=2, max_rows=10_000)]
    assert got == [["f0", "f1"], ["f2", "f3"], ["f4", "f5"], ["f6"]]


def test_files_above_the_row_bound_are_judged_alone_with_the_same_verdicts(data_env, tmp_path, monkeypatch):
    """With the bound below a file's rows, no batch runs: each file is judged alone, and its GX columns
    are those a batch gives."""
    s = data_env
    sids = _land(s, [(_file(tmp_path, c, 100 * i), c) for i, c in enumerate(["ARG", "BRA"], 1)])
    batched = pipeline.validate_many(s, sids)
    assert all(not isinstance(r, Exception) for r in batched.values()), batched
    before = {sid: _gx_columns(s, sid) for sid in sids}
    runs = []
    real = gx_suite.run_suite
    monkeypatch.setattr(gx_suite, "BATCH_MAX_ROWS", 2)    # each file has 3 rows
    monkeypatch.setattr(gx_suite, "run_suite", lambda *a, **k: runs.append(a[0]) or real(*a, **k))
    out = pipeline.validate_many(s, sids)
    assert all(not isinstance(r, Exception) for r in out.values()), out
    assert len(runs) == 2 and not any(isinstance(r, list) for r in runs)   # two runs, each on one file
    for sid in sids:
        pd.testing.assert_frame_equal(before[sid], _gx_columns(s, sid))
