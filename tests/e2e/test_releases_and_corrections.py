"""Issue 10: vintages ordered by release date, one release's numbers, corrections (reprocess, withdraw),
R1 like with like, isolation of a submission that breaks harmonisation.

Real files: Mexico SESNSP estatal.csv (the December-2024 release: data January 2015 - November 2024) cut to
two states, and Argentina SNIC snic-pais.csv / snic-provincias.csv. Only one release of each publisher's
file is held in ../shared, so the *earlier* SESNSP release is made from the real one the way the publisher's
monthly releases differ: the November-2024 release had no November 2024 figures yet (empty cells) and
reported fewer October 2024 case files (SESNSP adds case files opened late); here October 2024 is one
case file lower in every non-zero cell of the homicide rows.
"""

from __future__ import annotations

import csv
import io
import json
import shutil

import duckdb
import pytest

from pipelines import pipeline
from pipelines.settings import get_settings
from pipelines.storage import submissions as subs
from tests.conftest import real
from pipelines.storage.release import connect as release_connect

REL_OLD, REL_NEW = "2024-11-20", "2024-12-20"
NAT = ("select year, value, derivation, obs_note from published.indicators where source_id = ? and iccs_code = '0101' "
       "and measure = 'offences' and sex = '_T' and subdivision_code is null and month is null order by year")


def _env(tmp_path, monkeypatch, name="data", reference=None):
    monkeypatch.setenv("HEMISTAT_DATA_DIR", str(tmp_path / name))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / name / "dagster_home"))
    if reference:
        monkeypatch.setenv("HEMISTAT_REFERENCE_DIR", str(reference))
    s = get_settings()
    s.ensure_dirs()
    return s


def _sesnsp_rows(states=("1", "6")):
    raw = real("mx_sesnsp/estatal.csv").read_bytes().decode("cp1252")
    rows = list(csv.reader(io.StringIO(raw)))
    return rows[0], [r for r in rows[1:] if r[1] in states]


def _write(path, header, rows):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header] + rows)
    path.write_bytes(buf.getvalue().encode("cp1252"))
    return path


def _older_release(header, rows):
    oct_, nov = header.index("Octubre"), header.index("Noviembre")
    out = []
    for r in rows:
        r = list(r)
        if r[0] == "2024":
            r[nov] = ""
            if r[4] == "Homicidio" and r[oct_] not in ("", "0"):
                r[oct_] = str(int(r[oct_]) - 1)
        out.append(r)
    return out


def _accept(s, path, source, released_on=None):
    man, _ = pipeline.submit(s, path, source, released_on=released_on)
    pipeline.ingest(s, man.submission_id)
    pipeline.validate(s, man.submission_id)
    warns = pipeline.failing_warnings(s, man.submission_id)
    if warns and subs.read_status(s.landing_dir, man.submission_id)["status"] == "awaiting_review":
        pipeline.acknowledge(s, man.submission_id, warns, by="test", reason="test: known findings")
    return man.submission_id


def _publish(s):
    pipeline.harmonise_all(s)
    return pipeline.publish_all(s)


def _q(s, sql, params=()):
    con = release_connect(s.duckdb_path)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def sesnsp_releases(tmp_path_factory):
    d = tmp_path_factory.mktemp("sesnsp")
    header, rows = _sesnsp_rows()
    return _write(d / "estatal_2024-11.csv", header, _older_release(header, rows)), \
        _write(d / "estatal.csv", header, rows)


INDICATORS = ("select country_iso3, subdivision_code, year, month, iccs_code, measure, sex, value, obs_status "
              "from published.indicators where source_id = 'mx_sesnsp' order by all")


def test_two_releases_in_either_order_publish_the_newer_one(tmp_path, monkeypatch, sesnsp_releases):
    old, new = sesnsp_releases
    results = {}
    for order in ("old_first", "new_first"):
        s = _env(tmp_path, monkeypatch, order)
        pair = [(old, REL_OLD), (new, REL_NEW)] if order == "old_first" else [(new, REL_NEW), (old, REL_OLD)]
        sids = {}
        for path, rel_date in pair:
            sids[rel_date] = _accept(s, path, "mx_sesnsp", released_on=rel_date)
            _publish(s)
        results[order] = (_q(s, INDICATORS), sids, s)
    assert results["old_first"][0] == results["new_first"][0]            # the same values either way
    s, sids = results["new_first"][2], results["new_first"][1]
    # ... and they are the newer release's: Aguascalientes (01) homicidio doloso, October and November 2024
    oct24 = _q(s, "select value from published.indicators where source_id = 'mx_sesnsp' and subdivision_code = '01' "
                  "and year = 2024 and month = 10 and iccs_code = '0101' and measure = 'offences' and sex = '_T'")
    header, rows = _sesnsp_rows(("1",))
    hand = sum(int(r[header.index("Octubre")]) for r in rows if r[0] == "2024" and r[5] == "Homicidio doloso")
    assert oct24 == [(float(hand),)]
    src = _q(s, "select distinct submission_id from published.indicators where source_id = 'mx_sesnsp' "
                "and year = 2024")
    assert src == [(sids[REL_NEW],)]
    # the revisions are listed: every October 2024 homicide cell the older release had one lower
    rev = _q(s, "select kind, count(*), sum(new_value - old_value) from published.revisions "
                "where source_id = 'mx_sesnsp' and month = 10 and year = 2024 group by kind")
    n_oct = sum(1 for r in _sesnsp_rows()[1] if r[0] == "2024" and r[4] == "Homicidio"
                and r[header.index("Octubre")] not in ("", "0"))
    assert rev == [("revised", n_oct, float(n_oct))]
    nov = _q(s, "select count(*) from published.revisions where month = 11 and year = 2024 and old_value is null")
    assert nov[0][0] > 0                                                  # November: empty before, now reported
    olds = _q(s, "select distinct old_submission_id, new_submission_id from published.revisions")
    assert olds == [(sids[REL_OLD], sids[REL_NEW])]
    assert subs.read_status(s.landing_dir, sids[REL_OLD])["status"] == "superseded"


def test_national_figure_from_the_newest_release(tmp_path, monkeypatch):
    """SNIC: the national file and the provinces file. When the provinces file is the newer release, the
    national figure of every year it covers is the sum of its provinces, with the older national figure
    recorded as a revision where they differ; when it is the older release, the national rows stay."""
    s = _env(tmp_path, monkeypatch, "newer_provinces")
    pais = _accept(s, real("ar_snic/snic-pais.csv"), "ar_snic", released_on="2023-06-01")
    prov = _accept(s, real("ar_snic/snic-provincias.csv"), "ar_snic", released_on="2025-06-01")
    _publish(s)
    nat = _q(s, NAT, ["ar_snic"])
    assert [r[0] for r in nat] == list(range(2000, 2025))
    assert all(r[2] == "subdivisions" for r in nat)
    # the national file's years (2000-2022) say which release replaced them; 2023-2024 never had one
    assert all(prov in (r[3] or "") and pais in r[3] for r in nat if r[0] <= 2022)
    assert all(pais not in (r[3] or "") for r in nat if r[0] >= 2023)
    # hand sums over the 24 provinces of snic-provincias.csv, code 1 (csv-parsed: one province name holds a
    # comma): 2019 2,239 and 2022 1,888, where snic-pais.csv says 2,240 and 1,890
    by_year = dict((r[0], r[1]) for r in nat)
    assert by_year[2019] == 2239 and by_year[2022] == 1888 and by_year[2000] == 2653
    assert _q(s, "select old_value, new_value, old_submission_id, new_submission_id from published.revisions "
                 "where kind = 'national_from_newer_subdivisions' and year = 2019 and national_code = '1' "
                 "and measure = 'offences' and sex = '_T'") == [(2240.0, 2239.0, pais, prov)]
    same = _q(s, "select count(*) from published.revisions where kind = 'national_from_newer_subdivisions' "
                 "and new_value is not distinct from old_value")
    assert same == [(0,)]                                            # only figures that differ are listed

    s2 = _env(tmp_path, monkeypatch, "older_provinces")
    _accept(s2, real("ar_snic/snic-pais.csv"), "ar_snic", released_on="2025-06-01")
    _accept(s2, real("ar_snic/snic-provincias.csv"), "ar_snic", released_on="2023-06-01")
    _publish(s2)
    nat2 = {r[0]: r[2] for r in _q(s2, NAT, ["ar_snic"])}
    assert all(nat2[y] == "reported" for y in range(2000, 2023))     # the national file covers 2000-2022
    assert nat2[2023] == nat2[2024] == "subdivisions"                # only the provinces cover 2023-2024


def test_R1_compares_like_with_like(tmp_path, monkeypatch):
    """A file covering only a new year, and a file of another state of the same source, revise nothing."""
    header, rows = _sesnsp_rows()
    d = tmp_path / "files"
    d.mkdir()
    s = _env(tmp_path, monkeypatch)
    _accept(s, _write(d / "estatal_2015_2023.csv", header, [r for r in rows if r[0] != "2024"]), "mx_sesnsp",
            released_on="2024-01-20")
    new_year = _accept(s, _write(d / "estatal_2024.csv", header, [r for r in rows if r[0] == "2024"]), "mx_sesnsp",
                       released_on="2024-12-20")
    other_state = _accept(s, _write(d / "estatal_colima.csv", *_sesnsp_rows(("7",))), "mx_sesnsp",
                          released_on="2024-12-21")
    for sid in (new_year, other_state):
        report = json.loads((s.landing_dir / sid / "report.json").read_text("utf-8"))
        r1 = next(r for r in report["rules"] if r["rule_id"] == "R1")
        assert r1["failing_rows"] == 0, (sid, r1)
        assert "removed" not in (r1.get("notes") or ""), (sid, r1["notes"])


def _broken_reference(tmp_path):
    """A copy of the reference folder whose SNIC spec swaps the male and female victim columns (a bad spec)."""
    rdir = tmp_path / "reference"
    shutil.copytree(get_settings().reference_dir, rdir)
    p = rdir / "sources" / "ar_snic.yaml"
    good = p.read_text("utf-8")
    bad = good.replace("cantidad_victimas_masc: {measure: victims, unit: count, sex: M}", "@@M@@") \
        .replace("cantidad_victimas_fem: {measure: victims, unit: count, sex: F}",
                 "cantidad_victimas_fem: {measure: victims, unit: count, sex: M}") \
        .replace("@@M@@", "cantidad_victimas_masc: {measure: victims, unit: count, sex: F}")
    assert bad != good
    p.write_text(bad, "utf-8")
    return rdir, p, good


VICTIMS = ("select sex, value from published.indicators where source_id = 'ar_snic' and iccs_code = '0101' "
           "and measure = 'victims' and year = 2000 and subdivision_code is null and sex in ('M', 'F') order by sex")


def test_reprocess_after_a_spec_fix_leaves_nothing_of_the_bad_reading(tmp_path, monkeypatch):
    monkeypatch.delenv("HEMISTAT_REFERENCE_DIR", raising=False)
    rdir, spec, good = _broken_reference(tmp_path)
    s = _env(tmp_path, monkeypatch, reference=rdir)
    sid = _accept(s, real("ar_snic/snic-pais.csv"), "ar_snic")
    _publish(s)
    assert _q(s, VICTIMS) == [("F", 2167.0), ("M", 369.0)]            # the bad reading, published
    # the same bytes again change nothing: they are already received
    assert pipeline.submit(s, real("ar_snic/snic-pais.csv"), "ar_snic")[1] is False
    spec.write_text(good, "utf-8")                                     # the spec is fixed
    assert pipeline.reprocess(s, [sid])[sid] in ("published", "validated", "awaiting_review")
    _publish(s)
    # snic-pais.csv, 2000, code 1: cantidad_victimas_masc 2167, cantidad_victimas_fem 369
    assert _q(s, VICTIMS) == [("F", 369.0), ("M", 2167.0)]
    cells = _q(s, "select count(*) from published.cells where submission_id = ? and sex = 'M' and year = 2000 "
                  "and national_code = '1' and value_reported = 369", [sid])
    assert cells == [(0,)]


def test_withdraw_removes_values_and_the_changelog_says_why(tmp_path, monkeypatch):
    s = _env(tmp_path, monkeypatch)
    snic = _accept(s, real("ar_snic/snic-pais.csv"), "ar_snic")
    fbi = _accept(s, real("us_fbi/estimated_crimes_1979_2019.csv"), "us_fbi")
    _publish(s)
    assert _q(s, "select count(*) from published.indicators where source_id = 'ar_snic'")[0][0] > 0
    pipeline.withdraw(s, snic, reason="file sent by mistake (test)", by="ana")
    res = _publish(s)
    assert _q(s, "select count(*) from published.indicators where source_id = 'ar_snic'") == [(0,)]
    assert _q(s, "select count(*) from published.indicators where submission_id = ?", [fbi])[0][0] > 0
    log = _q(s, "select kind, submission_id, detail from published.changelog where release_id = ?",
             [res["release_id"]])
    assert ("withdrawn", snic, "withdrawn by ana: file sent by mistake (test)") in log
    assert subs.read_status(s.landing_dir, snic)["status"] == "withdrawn"
    assert subs.stored_file(s.landing_dir, snic).exists()                # the bytes stay
    assert _q(s, "select status from published.submissions where submission_id = ?", [snic]) == [("withdrawn",)]
    with pytest.raises(ValueError):
        pipeline.reprocess(s, [snic])


def test_a_submission_that_breaks_harmonisation_is_isolated(tmp_path, monkeypatch):
    """The crosswalk loses a row after SNIC was accepted: SNIC is isolated with the reason, the FBI file is
    still published."""
    rdir = tmp_path / "reference"
    shutil.copytree(get_settings().reference_dir, rdir)
    s = _env(tmp_path, monkeypatch, reference=rdir)
    snic = _accept(s, real("ar_snic/snic-pais.csv"), "ar_snic")
    fbi = _accept(s, real("us_fbi/estimated_crimes_1979_2019.csv"), "us_fbi")
    xw = rdir / "crosswalks" / "ar_snic.csv"
    xw.write_text("".join(ln for ln in xw.read_text("utf-8").splitlines(keepends=True)
                          if not ln.startswith("2,")), "utf-8")
    out = pipeline.harmonise_all(s)
    assert set(out["isolated"]) == {snic}
    st = subs.read_status(s.landing_dir, snic)
    assert st["status"] == "rejected" and "no crosswalk row in force" in st["events"][-1]["detail"]
    assert f"hemistat reprocess {snic}" in st["events"][-1]["detail"]
    pipeline.publish_all(s)
    assert _q(s, "select count(*) from published.indicators where submission_id = ?", [fbi])[0][0] > 0
    assert _q(s, "select count(*) from published.indicators where source_id = 'ar_snic'") == [(0,)]


def test_withdrawing_the_only_submission_empties_the_warehouse(tmp_path, monkeypatch):
    s = _env(tmp_path, monkeypatch)
    snic = _accept(s, real("ar_snic/snic-pais.csv"), "ar_snic")
    _publish(s)
    pipeline.withdraw(s, snic, reason="sent by mistake (test)", by="ana")
    res = _publish(s)                                   # an empty release, not the old values kept
    assert _q(s, "select count(*) from published.indicators") == [(0,)]
    assert _q(s, "select count(*) from published.cells") == [(0,)]
    assert ("withdrawn", snic) in [(k, sid) for k, sid, _ in _q(
        s, "select kind, submission_id, detail from published.changelog where release_id = ?", [res["release_id"]])]
