"""The benchmark's child hands its result over in a file of its own: stdout also carries what libraries print
(DuckDB's progress bar ends without a newline, so the 12 M pipeline's result line once began with it and the
run read as "no output"), and a result left by an earlier run is never taken for this one."""

import json

from tools import bench


def test_a_childs_result_is_read_from_its_file_whatever_stdout_holds(tmp_path, capsys):
    from pipelines.samples.load import generate_load

    load = tmp_path / "load"
    generate_load(load, 0.002, 7)
    work = tmp_path / "floor"
    work.mkdir()
    print("100% ▕████▏ (<1 second remaining)     ", end="")   # what a progress bar leaves on stdout
    assert bench.main(["--child", "floor", str(load), str(work)]) == 0
    printed = capsys.readouterr().out
    saved = json.loads((work / "floor.result.json").read_text(encoding="utf-8"))
    assert saved["rows"] > 0 and printed.endswith(json.dumps(saved) + "\n") and not printed.startswith("{")


def test_a_result_of_an_earlier_run_is_never_read(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    (work / "nope.result.json").write_text(json.dumps({"rows": 123}), encoding="utf-8")
    res = bench._measure("nope", tmp_path, work)     # no such kind: the child fails
    assert res["exit"] != 0 and "rows" not in res and res["error"]
    assert not (work / "nope.result.json").exists()
