"""A small hand-made warehouse for the site's fast tests: ``hemistat.duckdb`` with the tables the site reads, in
the shape of the views every warehouse has (``published.indicators``, ``quality_summary``, ``release``,
``releases``, ``changelog``) and, for the second path, the publication views of issue 15 (``comparable``,
``regional``, ``coverage``) and practices (issue 16). Values are invented, labelled synthetic, and chosen so
that each precedence case happens once:

* ARG 2021: national victims (ar_snic, complete) beside the World Bank's rate -> the national value;
* MEX 2021: national offences with 11 months (provisional, no annual rate) beside the World Bank -> World Bank;
* BRA 2021: World Bank only -> World Bank; CHL: no homicide value at all;
* USA 0201: a series break (obs_status B) in 2021.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

RELEASE = "20260101T000000-abcdef"
PREVIOUS = "20251201T000000-123456"
YEARS = (2019, 2020, 2021)

# (country, source, comparability, derivation, iccs, measure, year) -> (value, population, rate, obs_status, months)
POP = {"ARG": 45_000_000, "MEX": 126_000_000, "BRA": 212_000_000, "USA": 330_000_000}


def indicator_rows() -> list[dict]:
    rows = []

    def add(country, source, comp, deriv, code, measure, year, value, rate, status="A", months=None, sex="_T",
            note=None):
        rows.append({"indicator_id": f"{source}-{country}-{code}-{measure}-{sex}-{year}", "country_iso3": country,
                     "subdivision_code": None, "subdivision_name": None, "year": year, "month": None,
                     "iccs_code": code, "iccs_level": len(code) // 2 if len(code) <= 4 else len(code) - 2,
                     "measure": measure, "sex": sex, "age": "_T", "relationship": "_T", "value": value,
                     "population": POP.get(country) if value is not None else None, "population_source": "synthetic",
                     "rate_per_100k": rate, "rate_note": None, "obs_status": status, "obs_note": note,
                     "source_id": source, "submission_id": f"{source}__sample", "n_submissions": 1, "n_cells": 1,
                     "n_cells_reported": 1, "months_reported": months, "derivation": deriv, "comparability": comp})

    for i, y in enumerate(YEARS):
        add("ARG", "ar_snic", "national", "reported", "0101", "victims", y, 2300.0 + 10 * i, 5.11 + 0.01 * i)
        add("ARG", "ar_snic", "national", "reported", "0101", "offences", y, 2200.0 + 10 * i, 4.89 + 0.01 * i)
        add("ARG", "wb_wdi", "comparison", "reported_rate", "0101", "victims", y, None, 5.30 + 0.1 * i)
        add("ARG", "ar_snic", "national", "reported", "0201", "offences", y, 40000.0 + 100 * i, 88.9 + i)
        add("MEX", "wb_wdi", "comparison", "reported_rate", "0101", "victims", y, None, 28.4 - i)
        add("BRA", "wb_wdi", "comparison", "reported_rate", "0101", "victims", y, None, 21.5 - i)
        add("USA", "wb_wdi", "comparison", "reported_rate", "0101", "victims", y, None, 6.2 + 0.1 * i)
        add("USA", "us_fbi", "national", "reported", "0201", "offences", y, 900000.0 + 1000 * i, 272.7 + i,
            status="B" if y == 2021 else "A",
            note="break in series: synthetic definition change in 2021" if y == 2021 else None)
        add("MEX", "mx_sesnsp", "national", "subdivisions", "0201", "offences", y, 180000.0 + 1000 * i, 142.9 + i)
    for y in YEARS[:-1]:
        add("MEX", "mx_sesnsp", "national", "subdivisions", "0101", "offences", y, 30000.0 - 1000 * (y - 2019),
            23.81 - 0.79 * (y - 2019), months=12)
    add("MEX", "mx_sesnsp", "national", "subdivisions", "0101", "offences", 2021, 24000.0, 19.05, status="P",
        months=11)
    add("ARG", "ar_snic", "national", "reported", "0101", "victims", 2021, 400.0, None, sex="F")
    return rows


def quality_rows() -> list[dict]:
    rows = []
    for c, base in (("ARG", 80.0), ("MEX", 60.0), ("BRA", 50.0), ("USA", 70.0)):
        for y in YEARS:
            for d, s in (("accuracy", base), ("coherence", base + 10), ("completeness", 100.0)):
                rows.append({"country_iso3": c, "year": y, "dimension": d, "score": s, "rules_applied": 3,
                             "rules_failed": 1, "submissions": 1, "sources": 1, "n_values": None, "n_cells": None,
                             "measures": "synthetic", "basis": "rules", "rules_not_evaluated": 0})
    return rows


def _reference(con, reference_dir: Path) -> None:
    con.execute("create schema reference")
    con.register("c", pd.read_csv(reference_dir / "countries" / "oas_members.csv", dtype=str))
    con.execute("create table reference.countries as select * from c")
    con.register("i", pd.read_csv(reference_dir / "iccs" / "iccs.csv", dtype={"code": str, "parent_code": str}))
    con.execute("create table reference.iccs as select * from i")


def make_warehouse(data_dir: Path, reference_dir: Path, *, publication: bool = False) -> Path:
    """Write ``data_dir/hemistat.duckdb`` and ``published/COMMITTED.json``; with ``publication`` also the
    publication views' tables (comparable, regional, coverage) and practices."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "hemistat.duckdb"
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        _reference(con, reference_dir)
        con.execute("create schema published")
        ind = pd.DataFrame(indicator_rows())
        con.register("ind", ind)
        con.execute("create table published.indicators as select * from ind")
        con.register("q", pd.DataFrame(quality_rows()))
        con.execute("create table published.quality_summary as select * from q")
        con.execute("create table published.release as select ? as release_id, "
                    "timestamptz '2026-01-01 00:00:00+00' as published_at, ['s1', 's2'] as submissions", [RELEASE])
        con.execute("create table published.releases as select * from (values "
                    "(?, timestamptz '2026-01-01 00:00:00+00', ['s1', 's2']), "
                    "(?, timestamptz '2025-12-01 00:00:00+00', ['s1'])) t(release_id, published_at, submissions)",
                    [RELEASE, PREVIOUS])
        con.execute("create table published.changelog as select * from (values "
                    "(?, 'added', 'ar_snic__sample', 'ar_snic', 'released 2026-01-01 (synthetic)'), "
                    "(?, 'added', 'wb_wdi__sample', 'wb_wdi', 'released 2025-12-01 (synthetic)')) "
                    "t(release_id, kind, submission_id, source_id, detail)", [RELEASE, PREVIOUS])
        if publication:
            _publication_tables(con)
    finally:
        con.close()
    pub = data_dir / "published"
    pub.mkdir(exist_ok=True)
    (pub / "COMMITTED.json").write_text(json.dumps({"current": RELEASE, "releases": [PREVIOUS, RELEASE]}))
    return path


# the publication path: values chosen by the publication (deliberately not what the site's fallback would choose,
# so a test can tell which path a page was built from)
PUB_CHOICE = {("ARG", 2021): ("wb_wdi", 5.50, "synthetic precedence: comparison series first (test)")}
REGIONS = [("019", "Americas", "Américas", "Américas", "Amériques"),
           ("005", "South America", "América del Sur", "América do Sul", "Amérique du Sud")]


def _publication_tables(con) -> None:
    comp = []
    for r in indicator_rows():
        if r["sex"] != "_T":
            continue
        key = (r["country_iso3"], r["year"])
        chosen = PUB_CHOICE.get(key) if r["iccs_code"] == "0101" else None
        if chosen and r["source_id"] != chosen[0]:
            continue
        comp.append(r)
    # one row per key: keep the first per (country, year, code, measure)
    seen, rows = set(), []
    for r in comp:
        k = (r["country_iso3"], r["year"], r["iccs_code"], r["measure"])
        if k in seen:
            continue
        seen.add(k)
        chosen = PUB_CHOICE.get((r["country_iso3"], r["year"])) if r["iccs_code"] == "0101" else None
        rows.append({"country_iso3": r["country_iso3"], "subdivision_code": None, "year": r["year"],
                     "iccs_code": r["iccs_code"], "measure": r["measure"], "sex": "_T", "age": "_T",
                     "value": r["value"], "rate_per_100k": chosen[1] if chosen else r["rate_per_100k"],
                     "population": r["population"], "source_id": r["source_id"],
                     "precedence_rank": 3 if r["comparability"] == "comparison" else 1,
                     "choice_reason": chosen[2] if chosen else "synthetic: the only source",
                     "quality_score": 66.0, "months_reported": r["months_reported"],
                     "full_year": (r["months_reported"] or 12) == 12, "obs_status": r["obs_status"],
                     "provisional": r["obs_status"] == "P"})
    df = pd.DataFrame(rows)
    con.register("comp", df)
    con.execute("""create table published.comparable as
                   select *, [{'source_id': 'other_src', 'value': cast(null as double),
                               'rate_per_100k': rate_per_100k * 1.1, 'ratio_to_chosen': 1.1::double}] as alternatives,
                          case when obs_status = 'B' then ['series_break'] else []::varchar[] end as comparability_flags
                   from comp""")
    reg = []
    for code, en, es, pt, fr in REGIONS:
        for y in YEARS:
            sufficient = not (code == "005" and y == 2019)
            reg.append({"region_code": code, "region_name_en": en, "region_name_es": es, "region_name_pt": pt,
                        "region_name_fr": fr, "year": y, "iccs_code": "0101", "measure": "victims", "sex": "_T",
                        "age": "_T", "value": 50000.0, "rate_per_100k": 17.25 if code == "019" else 12.5 + y - 2019,
                        "population_covered": 700e6, "population_region": 1000e6,
                        "coverage_share": 0.70 if sufficient else 0.20, "countries_reported": 4, "countries_total": 35,
                        "sufficient_coverage": sufficient, "flag": None if sufficient else "low_coverage"})
    con.register("reg", pd.DataFrame(reg))
    con.execute("create table published.regional as select * from reg")
    con.execute("create table published.coverage as select 'ARG' as country_iso3, 2021 as year, '0101' as iccs_code, "
                "['ar_snic', 'wb_wdi'] as sources, 12 as months_reported, 45e6 as population, "
                "45e6 as population_covered, 66.0 as quality_score")
    con.execute("create table published.practices as select * from (values "
                "('P-001', 'Synthetic practice (sample)', 'Práctica sintética (muestra)', 'ARG', ['0101'], 'promising'))"
                " t(practice_id, title_en, title_es, country_iso3, iccs_codes, evidence_level)")
