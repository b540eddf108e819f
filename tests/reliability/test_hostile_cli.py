"""Every hostile or broken file (tests/reliability/hostile.py) through `hemistat validate` and `hemistat submit`:
a clear verdict or refusal naming the file and the problem, no traceback, and the published warehouse
byte-identical before and after each file (issue 14, "the attack as the project's own suite")."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import SHARED
from tests.reliability.conftest import build_warehouse, cli_invoke, fast_tmp, published_fingerprint
from tests.reliability.hostile import hostile_files

# a hostile *name* is the portal's to refuse (test_hostile_portal.py); the CLI is given a path it can open
CASES = [h for h in hostile_files(SHARED) if not h.case.startswith("name_")]
RESULTS: dict[str, dict] = {}
FORBIDDEN = ("Traceback", "Stack Trace", "unexpected failure", "dagster - ERROR", "TypeError", "KeyError")


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    with fast_tmp(tmp_path_factory, "hostile_cli") as tmp:
        env = build_warehouse(tmp / "data", tmp / "sample")
        files = tmp / "files"
        files.mkdir()
        yield env, files, tmp / "data"
    (tmp_path_factory.getbasetemp() / "hostile_cli_figures.json").write_text(json.dumps(RESULTS, indent=1))


def _verdict(out: str) -> str | None:
    m = re.search(r"\b(ACCEPTED|NEEDS REVIEW|REJECTED)\b", out)
    return m.group(1) if m else None


@pytest.mark.parametrize("h", CASES, ids=[h.case for h in CASES])
def test_hostile_file_through_the_cli(wh, h):
    env, files, data = wh
    f = files / h.disk_name
    f.write_bytes(h.data)
    before = published_fingerprint(data)

    vcode, vout = cli_invoke(env, "validate", f, "--source", h.source)
    scode, sout = cli_invoke(env, "submit", f, "--source", h.source)
    after = published_fingerprint(data)
    res = RESULTS[h.case] = {"expect": h.expect, "validate": [vcode, _verdict(vout)], "submit": [scode, _verdict(sout)],
                             "traceback": any(x in vout + sout for x in FORBIDDEN), "published_changed": before != after}
    for out in (vout, sout):
        assert not any(x in out for x in FORBIDDEN), out[-3000:]
    # a verdict or a refusal, never a crash (3: a fault of the environment, not of the file)
    assert vcode in (0, 1) and _verdict(vout), vout[-2000:]
    assert scode in (0, 1, 2), sout[-2000:]
    # the file is named, and the problem: a rule with its rows, or the refusal's reason
    assert f.name in vout, vout[-2000:]
    if scode == 1:
        assert f"REJECTED: {f.name}" in sout and re.search(r"\[[A-Z]+\d*\]", sout), sout[-2000:]
    if scode == 2:
        assert sout.strip().splitlines()[-1].startswith("error: ") and f.name in sout, sout[-2000:]
    if h.expect == "refuse":
        assert vcode == 1 and _verdict(vout) == "REJECTED", vout[-2000:]
        assert scode in (1, 2), sout[-2000:]
    # validate and submit agree: the dry run judges as the submission is judged
    assert (vcode == 1) == (scode in (1, 2)), (vout[-1500:], sout[-1500:])
    # nothing a refused or held file does changes what is published
    if _verdict(sout) != "ACCEPTED":
        assert after == before, "the published warehouse changed"
    res["clear"] = True


def test_figures(wh):
    """The suite's figures (printed; the full table is figures.json in the module's temporary folder)."""
    done = RESULTS.values()
    figures = {"files_tried": len(done),
               "refused_with_clear_message": sum(1 for r in done if r.get("clear") and r["submit"][0] in (1, 2)),
               "verdict_without_refusal": sum(1 for r in done if r.get("clear") and r["submit"][0] == 0),
               "tracebacks": sum(1 for r in done if r["traceback"]),
               # a file ACCEPTED is published by `submit`, as it should be; any other change is a defect
               "published_changed_by_refused_or_held": sum(1 for r in done if r["published_changed"]
                                                           and r["submit"][1] != "ACCEPTED"),
               "accepted_and_published": sorted(k for k, r in RESULTS.items() if r["published_changed"]
                                                and r["submit"][1] == "ACCEPTED")}
    print("\nreliability, CLI:", json.dumps(figures))
    if len(done) < len(CASES):
        pytest.skip("run with the whole module for the figures")
    assert figures["files_tried"] >= 80 and figures["tracebacks"] == 0
    assert figures["published_changed_by_refused_or_held"] == 0
