"""published.comparable, coverage and regional on hand-made inputs (issue 15 item 1): the precedence file is
checked when it loads, one row per key, a partial or provisional year never wins over a complete one, ties go
to the better quality score, offences stand in for victims only where declared, regional aggregates recomputed
by hand."""

from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest

from pipelines.publication import comparable as C

COLS = ["country_iso3", "subdivision_code", "subdivision_name", "year", "month", "iccs_code", "measure", "sex", "age",
        "relationship", "value", "population", "rate_per_100k", "obs_status", "obs_note", "source_id",
        "submission_id", "months_reported"]


def ind(*rows) -> pd.DataFrame:
    """Indicator rows: (source, country, year, iccs, measure, value, rate, months, obs_status[, sex])."""
    out = []
    for r in rows:
        src, c, y, code, meas, value, rate, months, status, *rest = r
        sex = rest[0] if rest else "_T"
        out.append({"country_iso3": c, "subdivision_code": None, "subdivision_name": None, "year": y, "month": None,
                    "iccs_code": code, "measure": meas, "sex": sex, "age": "_T", "relationship": "_T",
                    "value": value, "population": 1_000_000.0, "rate_per_100k": rate, "obs_status": status,
                    "obs_note": None, "source_id": src, "submission_id": f"{src}__20260101__00000000",
                    "months_reported": months})
    df = pd.DataFrame(out, columns=COLS)
    return df.astype({"year": "int64", "month": "Int64", "value": "float64", "rate_per_100k": "float64",
                      "months_reported": "Int64", "subdivision_code": object, "subdivision_name": object,
                      "obs_note": object})


@pytest.fixture
def prec(data_env):
    return C.load_precedence(data_env)


@pytest.fixture
def comp(data_env):
    return C.known_sources(data_env)


def build(prec, comp, df, sq=None):
    return C.build_comparable(df, prec, comp, source_quality=sq)


# ---- the precedence file ---------------------------------------------------------------------------------------

def test_precedence_file_ranks_every_source_once_with_a_reason(data_env, prec, comp):
    ranked = set(prec.source_rank)
    # every source that can publish indicators has a rank (a survey never reaches published.indicators)
    assert ranked == {s for s, k in comp.items() if k != "survey"}
    assert prec.source_rank["mx_sesnsp"] < prec.source_rank["unodc_cts"] < prec.source_rank["wb_wdi"] \
        < prec.source_rank["owid_homicide"]
    assert prec.source_rank["iccs_template"] < prec.source_rank["ar_snic"]
    assert all(len(r["reason"]) > 40 and r["label"] for r in prec.ranks)
    assert prec.substitutes == [{"iccs_code": "0101", "measure": "victims", "use_measure": "offences",
                                 "reason": prec.substitutes[0]["reason"]}]


def _copy_with(tmp_path, data_env, old: str, new: str):
    text = (data_env.reference_dir / "precedence.yaml").read_text("utf-8")
    assert old in text
    p = tmp_path / "precedence.yaml"
    p.write_text(text.replace(old, new, 1), "utf-8")
    line = next(i for i, ln in enumerate(p.read_text("utf-8").splitlines(), 1) if new.strip() and new.strip() in ln)
    return p, line


def test_an_unknown_source_is_a_load_error_naming_file_and_line(tmp_path, data_env):
    # the review found a rule naming a source that does not exist (wb_wdi_homicide): refused at load
    p, line = _copy_with(tmp_path, data_env, "sources: [wb_wdi]", "sources: [wb_wdi_homicide]")
    with pytest.raises(C.PrecedenceError) as e:
        C.load_precedence(data_env, p)
    msg = str(e.value)
    assert str(p) in msg and f"line {line}" in msg and "'wb_wdi_homicide'" in msg and "unknown source" in msg


def test_a_source_ranked_twice_or_a_rank_without_reason_is_refused(tmp_path, data_env):
    p, line = _copy_with(tmp_path, data_env, "sources: [owid_homicide]", "sources: [owid_homicide, wb_wdi]")
    with pytest.raises(C.PrecedenceError, match=r"line %d: source 'wb_wdi' is ranked twice \(ranks 4 and 5\)" % line):
        C.load_precedence(data_env, p)
    text = (data_env.reference_dir / "precedence.yaml").read_text("utf-8")
    start = text.index("  - rank: 3")
    block = text[start:text.index("  - rank: 4")]
    bad = tmp_path / "noreason.yaml"
    bad.write_text(text.replace(block, "  - rank: 3\n    label: \"UNODC\"\n    sources: [unodc_cts]\n"), "utf-8")
    with pytest.raises(C.PrecedenceError, match="rank 3 needs a `reason`"):
        C.load_precedence(data_env, bad)
    bad.write_text(text.replace("measure: victims", "measure: victimes"), "utf-8")
    with pytest.raises(C.PrecedenceError, match="'victimes' is not a measure"):
        C.load_precedence(data_env, bad)


# ---- the choice --------------------------------------------------------------------------------------------------

def test_one_row_per_key_and_the_best_ranked_complete_source_wins(prec, comp):
    df = ind(("ar_snic", "ARG", 2019, "0101", "victims", 2309.0, 5.138, 12, "A"),
             ("unodc_cts", "ARG", 2019, "0101", "victims", 2300.0, 5.1, 12, "A"),
             ("wb_wdi", "ARG", 2019, "0101", "victims", None, 5.1428, None, "A"),
             ("wb_wdi", "ARG", 2018, "0101", "victims", None, 5.3, None, "A"),
             ("ar_snic", "ARG", 2019, "0101", "offences", 2240.0, 4.98, 12, "A"))
    out = build(prec, comp, df)
    assert len(out) == 3 and not out.duplicated(C.KEY).any()
    r = out[(out.year == 2019) & (out.measure == "victims")].iloc[0]
    assert (r.source_id, r.value, r.precedence_rank, r.choice_code, r.n_sources) == ("ar_snic", 2309.0, 2, "precedence", 3)
    assert "ranks above unodc_cts (rank 3), wb_wdi (rank 4)" in r.choice_reason
    alts = {a["source_id"]: a for a in r.alternatives}
    assert alts["unodc_cts"]["value"] == 2300.0
    assert math.isclose(alts["unodc_cts"]["ratio_to_chosen"], 5.1 / 5.138)      # rates when both have one
    assert math.isclose(alts["wb_wdi"]["ratio_to_chosen"], 5.1428 / 5.138)
    assert list(r.comparability_flags) == []
    r18 = out[out.year == 2018].iloc[0]
    assert (r18.source_id, r18.choice_code) == ("wb_wdi", "only_source")
    assert list(r18.comparability_flags) == ["comparison_series", "rate_only"]


def test_a_partial_or_provisional_year_never_wins_over_a_complete_one(prec, comp):
    df = ind(("cr_oij", "CRI", 2023, "0101", "victims", 187.0, 3.66, 3, "P"),          # January-March
             ("owid_homicide", "CRI", 2023, "0101", "victims", None, 17.745, None, "A"),
             ("mx_sesnsp", "MEX", 2020, "02", "offences", 500.0, 40.0, 12, "P"),        # 12 months but provisional
             ("unodc_cts", "MEX", 2020, "02", "offences", 480.0, 38.0, 12, "A"),
             ("mx_sesnsp", "MEX", 2024, "0101", "offences", 24314.0, 18.58, 11, "P"))   # nothing complete
    out = build(prec, comp, df).set_index(["country_iso3", "year", "measure"])
    cri = out.loc[("CRI", 2023, "victims")]
    assert (cri.source_id, cri.choice_code, cri.provisional, cri.full_year) == \
        ("owid_homicide", "complete_over_partial", False, True)
    assert "cr_oij (3 months reported), ranked higher, has only a partial or provisional year" in cri.choice_reason
    a = cri.alternatives[0]
    assert (a["source_id"], a["value"], a["months_reported"], a["rate_per_100k"], a["ratio_to_chosen"]) == \
        ("cr_oij", 187.0, 3, None, None)       # a partial year has no annual rate and no ratio
    mex = out.loc[("MEX", 2020, "offences")]
    assert (mex.source_id, mex.choice_code) == ("unodc_cts", "complete_over_partial")
    assert "mx_sesnsp (provisional)" in mex.choice_reason
    m24 = out.loc[("MEX", 2024, "offences")]
    assert (m24.source_id, m24.provisional, m24.full_year, m24.months_reported) == ("mx_sesnsp", True, False, 11)
    assert pd.isna(m24.rate_per_100k) and m24.partial_period_rate_per_100k == 18.58
    assert {"provisional", "partial_year", "no_annual_rate"} <= set(m24.comparability_flags)


def test_within_a_rank_the_better_quality_score_wins(prec, comp):
    df = ind(("ar_snic", "ARG", 2022, "02", "offences", 1000.0, 2.0, 12, "A"),
             ("iccs_template", "ARG", 2022, "02", "offences", 900.0, 1.8, 12, "A"),
             ("co_policia", "ARG", 2022, "02", "offences", 1100.0, 2.2, 12, "A"))   # same rank as ar_snic
    sq = pd.DataFrame({"source_id": ["ar_snic", "co_policia"], "country_iso3": ["ARG", "ARG"], "year": [2022, 2022],
                       "source_quality_score": [60.0, 75.0]})
    r = build(prec, comp, df.iloc[[0, 2]], sq).iloc[0]
    assert (r.source_id, r.choice_code, r.source_quality_score) == ("co_policia", "quality_tiebreak", 75.0)
    r = build(prec, comp, df, sq).iloc[0]          # the member state's ICCS template ranks first
    assert (r.source_id, r.precedence_rank, r.choice_code) == ("iccs_template", 1, "precedence")


def test_offences_stand_in_for_victims_only_where_declared_and_flagged(prec, comp):
    df = ind(("mx_sesnsp", "MEX", 2019, "0101", "offences", 30444.0, 24.2, 12, "A"),
             ("wb_wdi", "MEX", 2019, "0101", "victims", None, 28.7367, None, "A"),
             ("mx_sesnsp", "MEX", 2019, "0501", "offences", 74250.0, 59.0, 12, "A"),
             ("ar_snic", "ARG", 2019, "0101", "offences", 2240.0, 4.98, 12, "A"),
             ("ar_snic", "ARG", 2019, "0101", "victims", 2309.0, 5.14, 12, "A"))
    out = build(prec, comp, df).set_index(["country_iso3", "iccs_code", "measure"])
    assert len(out) == 5      # MEX 0101 offences, MEX 0101 victims (stand-in), MEX 0501, ARG 0101 x 2
    v = out.loc[("MEX", "0101", "victims")]
    assert (v.source_id, v.value, v.counted_as) == ("mx_sesnsp", 30444.0, "offences")
    assert "counting_unit_substitute" in v.comparability_flags and "measure_substitutes" in v.choice_reason
    assert v.alternatives[0]["source_id"] == "wb_wdi"
    assert math.isclose(v.alternatives[0]["ratio_to_chosen"], 28.7367 / 24.2)
    assert out.loc[("MEX", "0101", "offences")].source_id == "mx_sesnsp"
    assert ("MEX", "0501", "victims") not in out.index          # not declared for 0501
    a = out.loc[("ARG", "0101", "victims")]                       # ARG counts victims itself: no stand-in
    assert (a.value, a.counted_as, a.n_sources) == (2309.0, "victims", 1)


def test_sources_that_disagree_and_unranked_sources_are_flagged(prec, comp):
    prec.ranks = [{**r, "sources": [x for x in r["sources"] if x != "us_fbi"]} for r in prec.ranks]   # us_fbi unranked
    df = ind(("us_fbi", "USA", 2019, "0101", "victims", 16425.0, 5.0, 12, "A"),
             ("unodc_cts", "CAN", 2019, "02", "offences", 100.0, 10.0, 12, "A"),
             ("ar_snic", "CAN", 2019, "02", "offences", 200.0, 20.0, 12, "A"))
    out = build(prec, comp, df).set_index("country_iso3")
    assert (out.loc["USA"].choice_code, out.loc["USA"].precedence_rank) == ("unranked_source", C.RANK_UNRANKED)
    assert "unranked_source" in out.loc["USA"].comparability_flags
    assert "sources_disagree" in out.loc["CAN"].comparability_flags     # ratio 0.5, outside [1/1.25, 1.25]


# ---- coverage and regional aggregates -------------------------------------------------------------------------

REGIONS = pd.DataFrame({"region_code": ["900", "901"], "parent_code": ["", "900"], "name_en": ["All", "Part"],
                        "name_es": ["Todo", "Parte"], "name_pt": ["Tudo", "Parte"], "name_fr": ["Tout", "Partie"],
                        "m49_level": ["region", "sub-region"]})
MEMBERS = pd.DataFrame({"region_code": ["900", "900", "900", "900", "901", "901"],
                        "iso3": ["AAA", "BBB", "CCC", "DDD", "AAA", "BBB"]})
POP = pd.DataFrame({"country_iso3": ["AAA", "BBB", "CCC", "DDD"], "year": [2020] * 4,
                    "population": [1_000_000.0, 3_000_000.0, 6_000_000.0, 500_000.0]})


def test_regional_aggregates_recomputed_by_hand(prec, comp):
    df = ind(("ar_snic", "AAA", 2020, "0101", "victims", 100.0, 10.0, 12, "A"),
             ("wb_wdi", "BBB", 2020, "0101", "victims", None, 10.0, None, "A"),           # rate only
             ("cr_oij", "DDD", 2020, "0101", "victims", 40.0, 8.0, 6, "P"),               # half a year: left out
             ("ar_snic", "AAA", 2020, "0101", "victims", 30.0, None, 12, "A", "F"),
             ("ar_snic", "BBB", 2020, "0101", "victims", 20.0, None, 12, "A", "F"))
    cmp = build(prec, comp, df)
    out = C.build_regional(cmp, POP, REGIONS, MEMBERS, 0.5).set_index(["region_code", "sex"])
    whole = out.loc[("900", "_T")]
    # counted: AAA 100, BBB 10 per 100k x 3,000,000 = 300 (implied count); covered 4,000,000 of 10,500,000
    assert (whole.value, whole.population_covered, whole.population_region) == (400.0, 4_000_000.0, 10_500_000.0)
    assert (whole.countries_reported, whole.countries_total, whole.countries_rate_only) == (2, 4, 1)
    assert list(whole.countries) == ["AAA", "BBB"]
    assert math.isclose(whole.coverage_share, 4 / 10.5)
    # 38 % of the population: not enough — flagged, the rate is not published, nothing is filled in
    assert (bool(whole.sufficient_coverage), whole.flag) == (False, "insufficient_coverage")
    assert pd.isna(whole.rate_per_100k) and whole.rate_reporting_countries_per_100k == 10.0
    part = out.loc[("901", "_T")]
    assert (part.value, part.population_region, part.coverage_share, bool(part.sufficient_coverage)) == \
        (400.0, 4_000_000.0, 1.0, True)
    assert part.rate_per_100k == 400.0 / 4_000_000.0 * 1e5 and pd.isna(part.flag)
    assert part.region_name_es == "Parte"
    f = out.loc[("901", "F")]              # no population by sex in reference: a count, no rate
    assert (f.value, f.countries_reported, f.flag) == (50.0, 2, "no_population_by_sex") and pd.isna(f.rate_per_100k)
    low = C.build_regional(cmp, POP, REGIONS, MEMBERS, 0.3).set_index(["region_code", "sex"]).loc[("900", "_T")]
    assert bool(low.sufficient_coverage) and low.rate_per_100k == 10.0      # the threshold is data


def test_coverage_by_hand(prec, comp):
    df = ind(("cr_oij", "DDD", 2020, "0101", "offences", 40.0, 8.0, 6, "P"),
             ("owid_homicide", "DDD", 2020, "0101", "victims", None, 9.0, None, "A"),
             ("ar_snic", "AAA", 2020, "0101", "victims", 100.0, 10.0, 12, "A"),
             ("unodc_cts", "AAA", 2020, "0101", "victims", 90.0, 9.0, 12, "A"))
    sub = ind(("ar_snic", "BBB", 2020, "0101", "victims", 5.0, 1.0, 12, "A"))
    sub["subdivision_code"], sub["population"] = "01", 700_000.0
    cmp = build(prec, comp, pd.concat([df, sub], ignore_index=True))
    cq = pd.DataFrame({"country_iso3": ["AAA"], "year": [2020], "quality_score": [71.5]})
    cov = C.build_coverage(cmp, POP, cq).set_index("country_iso3")
    assert list(cov.loc["AAA"].sources) == ["ar_snic", "unodc_cts"] and cov.loc["AAA"].quality_score == 71.5
    assert list(cov.loc["DDD"].sources) == ["cr_oij", "owid_homicide"]
    assert cov.loc["DDD"].population_covered == 500_000.0 and cov.loc["DDD"].months_reported == 12
    # BBB: only a subdivision of 700,000 people reports -> population covered 700,000 of 3,000,000
    b = cov.loc["BBB"]
    assert (b.population_covered, b.population, bool(b.national_value), b.subdivisions_reported) == \
        (700_000.0, 3_000_000.0, False, 1)


def test_regions_reference_is_rebuilt_identically_from_the_countries_table(tmp_path, data_env):
    from tools.refbuild import regions

    built = regions.build(data_env.reference_dir)
    for rel, data in built.items():
        assert (data_env.reference_dir / rel).read_bytes() == data, f"{rel} differs from its build"
    reg, mem = C.region_tables(data_env)
    n = mem.groupby("region_code").size().to_dict()
    assert n == {"019": 35, "419": 33, "005": 12, "013": 8, "029": 13, "021": 2}
    assert set(mem[mem.region_code == "021"].iso3) == {"CAN", "USA"}
    assert "MEX" in set(mem[mem.region_code == "013"].iso3)     # M49: Mexico is in Central America
    assert set(reg.region_code) == {"019", "419", "005", "013", "029", "021"}
    # an unknown subregion in the countries table stops the build, naming it
    ref = tmp_path / "ref"
    shutil.copytree(data_env.reference_dir / "countries", ref / "countries")
    f = ref / "countries" / "oas_members.csv"
    f.write_text(f.read_text("utf-8").replace(",Caribbean\n", ",Antilles\n", 1), "utf-8")
    with pytest.raises(ValueError, match="unknown subregion 'Antilles'"):
        regions.build(ref)


def test_when_no_source_has_the_complete_year_the_best_ranked_partial_one_is_chosen_and_said_so(prec, comp):
    df = ind(("mx_sesnsp", "MEX", 2024, "0101", "offences", 24314.0, 18.58, 11, "P"),
             ("unodc_cts", "MEX", 2024, "0101", "offences", 12000.0, 9.1, 6, "P"))
    r = build(prec, comp, df).iloc[0]
    rank, other = prec.source_rank["mx_sesnsp"], prec.source_rank["unodc_cts"]
    assert (r.source_id, r.choice_code, r.provisional, r.full_year) == ("mx_sesnsp", "all_incomplete", True, False)
    assert r.choice_reason.startswith("mx_sesnsp (") and f", rank {rank}) chosen although its year is partial or " \
        f"provisional: no source has the complete year; it ranks first among unodc_cts (rank {other})." in r.choice_reason
    assert list(r.comparability_flags) == ["provisional", "partial_year", "no_annual_rate"]
    alone = build(prec, comp, df.iloc[[0]]).iloc[0]
    assert (alone.choice_code, alone.choice_reason) == ("only_source", f"Only {alone.source_id} ("
                                                        f"{prec.ranks[[r['rank'] for r in prec.ranks].index(rank)]['label']}"
                                                        f", rank {rank}) publishes this value.")
