"""Numbered releases, their manifest and the changelog between two of them (issue 15 item 3), on releases written
by the storage layer's publish with hand-made tables and manifests: every reason a value can change for is
recognised from the manifests (new vintage, correction, crosswalk, rule change, source choice)."""

from __future__ import annotations

import hashlib
import json
import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.harmonise import reference as ref
from pipelines.publication import releases as R
from pipelines.storage import release as rel

KEY = dict(subdivision_code=None, iccs_code="0101", measure="offences", sex="_T", age="_T")


def comparable(rows) -> pd.DataFrame:
    """rows: (country, year, value, rate, source, submission)."""
    return pd.DataFrame([{"country_iso3": c, "year": y, **KEY, "value": v, "rate_per_100k": r, "source_id": s,
                          "submission_id": sid} for c, y, v, r, s, sid in rows]).astype(
        {"subdivision_code": object, "value": "float64", "rate_per_100k": "float64"})


def manifest(subs: dict[str, str], crosswalk="c1", rules="r1", spec="s1") -> dict:
    return {"sources": {src: [{"submission_id": sid, "release_date": "2026-01-0" + sid[-1], "original_name": "f.csv",
                               "validated_sha256": "v-" + sid}] for src, sid in subs.items()},
            "quality_rules": {"sha256": rules}, "crosswalks": {"ar_snic": crosswalk, "wb_wdi": "w"},
            "source_specs": {"ar_snic": {"sha256": spec, "crosswalk": "ar_snic"}},
            "reference": {"precedence.yaml": "p", "population": "pop"}}


@pytest.fixture
def publish(data_env, tmp_path):
    refs = {"countries": ref.countries(data_env.reference_dir)}
    views = tmp_path / "views"     # only what these releases hold (the full views need every table)
    views.mkdir()
    (views / "00_release.sql").write_text("create or replace view published.release as "
                                          "select * from read_json_auto('{{release_dir}}/release.json');\n"
                                          "create or replace view published.comparable as "
                                          "select * from read_parquet('{{release_dir}}/comparable.parquet');\n")

    def go(rows, man, changelog=None) -> str:
        cmp = comparable(rows)
        ind = cmp.assign(month=None, relationship="_T")
        time.sleep(1.05)     # release ids have one-second resolution
        return rel.publish(data_env.published_dir, data_env.duckdb_path, views,
                           {"indicators": ind, "comparable": cmp}, refs,
                           metadata={"submissions": sorted({r[5] for r in rows}), "changelog": changelog or []},
                           manifest=man)
    return go


def test_releases_are_numbered_and_carry_a_manifest_with_checksums(data_env, publish):
    r1 = publish([("ARG", 2019, 2240, 4.98, "ar_snic", "ar_snic__a1")], manifest({"ar_snic": "ar_snic__a1"}))
    # a publish that dies before its commit leaves no number behind: the next release is still number 2
    orphan = data_env.published_dir / "releases" / "20200101T000000-abcdef"
    orphan.mkdir()
    (orphan / "release.json").write_text(json.dumps({"release_id": orphan.name, "release_number": 2}))
    r2 = publish([("ARG", 2019, 2240, 4.98, "ar_snic", "ar_snic__a1")], manifest({"ar_snic": "ar_snic__a1"}))
    rels = R.list_releases(data_env)
    assert [(r["number"], r["release_id"], r["current"]) for r in rels] == [(1, r1, False), (2, r2, True)]
    assert rels[1]["sources"] == ["ar_snic"] and rels[1]["tables"] == {"indicators": 1, "comparable": 1}
    m = json.loads((data_env.published_dir / "releases" / r2 / "manifest.json").read_text())
    assert m["release_number"] == 2 and m["quality_rules"] == {"sha256": "r1"}
    f = data_env.published_dir / "releases" / r2 / "comparable.parquet"
    assert m["tables"]["comparable"] == {"file": "comparable.parquet", "rows": 1, "bytes": f.stat().st_size,
                                         "sha256": hashlib.sha256(f.read_bytes()).hexdigest()}
    assert R.resolve(data_env, "1")["release_id"] == r1 and R.resolve(data_env, r2)["number"] == 2
    assert R.resolve(data_env, "latest")["number"] == 2 and R.resolve(data_env, "previous")["number"] == 1
    with pytest.raises(R.ReleaseNotFound, match=r"no release '7': the releases are 1 \(.*\), 2 \("):
        R.resolve(data_env, "7")


def test_diff_says_which_values_changed_by_how_much_and_why(data_env, publish):
    a = [("ARG", 2019, 2240, 4.98, "ar_snic", "ar_snic__a1"), ("ARG", 2020, 2349, 5.2, "ar_snic", "ar_snic__a1"),
         ("CRI", 2019, None, 11.15, "wb_wdi", "wb_wdi__w1"), ("BRA", 2019, 100, 1.0, "ar_snic", "ar_snic__a1")]
    publish(a, manifest({"ar_snic": "ar_snic__a1", "wb_wdi": "wb_wdi__w1"}))
    # release 2: a new SNIC vintage revises 2019; WB republished the same; 2021 appears; BRA disappears
    b = [("ARG", 2019, 2300, 5.11, "ar_snic", "ar_snic__a2"), ("ARG", 2020, 2349, 5.2, "ar_snic", "ar_snic__a1"),
         ("CRI", 2019, None, 11.5, "wb_wdi", "wb_wdi__w1"), ("ARG", 2021, 2021, 4.46, "ar_snic", "ar_snic__a2")]
    publish(b, manifest({"ar_snic": "ar_snic__a2", "wb_wdi": "wb_wdi__w1"}))
    d = R.diff(data_env, 1, 2).set_index(["country_iso3", "year"])
    assert set(d.index) == {("ARG", 2019), ("CRI", 2019), ("ARG", 2021), ("BRA", 2019)}   # 2020 unchanged
    v = d.loc[("ARG", 2019)]
    assert (v.change, v.old, v.new, v.difference, v.reason) == ("changed", 2240.0, 2300.0, 60.0, "new_vintage")
    assert v.relative == pytest.approx(60 / 2240)
    assert "ar_snic__a1 (released 2026-01-01) replaced by ar_snic__a2 (released 2026-01-02" in v.why
    w = d.loc[("CRI", 2019)]                   # a rate-only series: the rates are compared
    assert (w.quantity, w.old, w.new, w.reason) == ("rate_per_100k", 11.15, 11.5, "unexplained")
    assert (d.loc[("ARG", 2021)].change, d.loc[("ARG", 2021)].reason) == ("added", "new_value")
    assert (d.loc[("BRA", 2019)].change, d.loc[("BRA", 2019)].reason) == ("removed", "removed_value")
    assert pd.isna(d.loc[("ARG", 2021)].old) and pd.isna(d.loc[("BRA", 2019)].new)

    # release 3: the crosswalk, the rules and the spec changed, and the new vintage was withdrawn
    c = [("ARG", 2019, 2250, 5.0, "ar_snic", "ar_snic__a1"), ("ARG", 2020, 2300, 5.1, "ar_snic", "ar_snic__a1"),
         ("CRI", 2019, None, 11.5, "wb_wdi", "wb_wdi__w1")]
    publish(c, manifest({"ar_snic": "ar_snic__a1", "wb_wdi": "wb_wdi__w1"}, crosswalk="c2", rules="r2", spec="s2"),
            changelog=[{"kind": "withdrawn", "submission_id": "ar_snic__a2", "source_id": "ar_snic",
                        "detail": "withdrawn by ana: wrong province totals"}])
    d = R.diff(data_env, "2", "latest").set_index(["country_iso3", "year"])
    v = d.loc[("ARG", 2019)]
    assert v.reason == "correction_withdrawn" and "ar_snic__a2 withdrawn — withdrawn by ana: wrong province" in v.why
    assert "crosswalk ar_snic.csv changed (c1 -> c2)" in v.why and "quality_rules/ changed (r1 -> r2)" in v.why
    v = d.loc[("ARG", 2020)]                   # same submission, new crosswalk: the crosswalk is the first reason
    assert (v.reason, v.old, v.new) == ("crosswalk_change", 2349.0, 2300.0)
    assert "reference/sources/ar_snic.yaml changed" in v.why
    assert d.loc[("ARG", 2021)].reason == "correction_withdrawn"       # only the withdrawn vintage had it


def test_cli_lists_releases_and_prints_the_diff_as_a_table_and_as_csv(data_env, publish):
    from pipelines.cli import app

    publish([("ARG", 2019, 2240, 4.98, "ar_snic", "ar_snic__a1")], manifest({"ar_snic": "ar_snic__a1"}))
    r2 = publish([("ARG", 2019, 2300, 5.11, "ar_snic", "ar_snic__a2")], manifest({"ar_snic": "ar_snic__a2"}))
    run = CliRunner().invoke(app, ["releases"])
    assert run.exit_code == 0, run.output
    lines = run.output.splitlines()
    assert lines[2].startswith("*   2  " + r2) and "comparable 1" in lines[2] and "sources: ar_snic" in lines[3]
    run = CliRunner().invoke(app, ["releases", "diff", "1", "2"])
    assert run.exit_code == 0, run.output
    assert "1 value(s) differ" in run.output and "new_vintage" in run.output and "+2.7%" in run.output
    run = CliRunner().invoke(app, ["releases", "diff", "1", "2", "--csv"])
    rows = pd.read_csv(__import__("io").StringIO(run.output))
    assert rows[["old", "new", "difference", "reason"]].values.tolist() == [[2240.0, 2300.0, 60.0, "new_vintage"]]
    run = CliRunner().invoke(app, ["releases", "diff", "1", "9"])
    assert run.exit_code == 1 and "no release '9'" in run.output
