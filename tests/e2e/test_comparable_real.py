"""published.comparable, coverage and regional on the warehouse built from every real file (issue 15 item 1):
exactly one row per key; the precedence on countries with several sources, each value checked against the raw
file it comes from; a partial or provisional year never chosen when another source has the complete year."""

from __future__ import annotations

import csv
import math

import pandas as pd
import pytest

from pipelines import warehouse
from tests.conftest import real

KEY = "country_iso3, subdivision_code, year, iccs_code, measure, sex, age"


def _wb(iso3: str, year: int) -> float:
    """World Bank VC.IHR.PSRC.P5 as in the raw file (4 preamble lines, wide years)."""
    rows = list(csv.reader(real("wb_wdi/API_VC.IHR.PSRC.P5_DS2_en_csv_v2_4355130.csv").open(encoding="utf-8-sig")))
    head = next(r for r in rows if r and r[0] == "Country Name")
    return float(next(r for r in rows if len(r) > 1 and r[1] == iso3)[head.index(str(year))])


def _owid(name: str, year: int) -> float:
    with real("owid_homicide/homicide-rate-unodc.csv").open(encoding="utf-8") as f:
        r = csv.reader(f)
        next(r)
        return float(next(x for x in r if x[0] == name and x[-1] == str(year))[3])


def _sesnsp(year: int, subtypes: tuple[str, ...]) -> float:
    m = pd.read_csv(real("mx_sesnsp/estatal.csv"), encoding="cp1252")
    x = m[(m.iloc[:, 0] == year) & m.iloc[:, 5].isin(subtypes)]
    return float(x.iloc[:, 7:].apply(pd.to_numeric, errors="coerce").sum().sum())


def _snic(year: int, code: str, column: str) -> float:
    with real("ar_snic/snic-pais.csv").open(encoding="utf-8") as f:
        r = csv.DictReader(f, delimiter=";")
        return float(next(x for x in r if x["anio"] == str(year) and x["codigo_delito_snic_id"] == code)[column])


@pytest.fixture(scope="module")
def con(real_warehouse):
    c = warehouse.connect(real_warehouse)
    yield c
    c.close()


def one(con, where: str, params: list) -> dict:
    df = con.execute(f"select * from published.comparable where {where} and subdivision_code is null "
                     "and sex = '_T' and age = '_T'", params).df()
    assert len(df) == 1, df
    return df.iloc[0].to_dict()


def test_exactly_one_row_per_key(con):
    n, keys = con.execute(f"select count(*), count(distinct ({KEY})) from published.comparable").fetchone()
    assert n == keys and n > 100_000
    # and no key of the annual indicators is lost
    lost = con.execute(f"""select count(*) from (select distinct {KEY} from published.indicators
                           where month is null and relationship = '_T' and (value is not null or rate_per_100k
                           is not null) except select {KEY} from published.comparable)""").fetchone()[0]
    assert lost == 0


def test_mexico_sesnsp_before_unodc_and_the_world_bank(con):
    # homicide 2019: SESNSP case files, homicidio doloso 29,500 + feminicidio 944 in estatal.csv (all states, months)
    r = one(con, "country_iso3 = 'MEX' and year = 2019 and iccs_code = '0101' and measure = 'offences'", [])
    assert r["value"] == _sesnsp(2019, ("Homicidio doloso", "Feminicidio")) == 30444.0
    v = one(con, "country_iso3 = 'MEX' and year = 2019 and iccs_code = '0101' and measure = 'victims'", [])
    assert (v["source_id"], v["value"], v["choice_code"], v["precedence_rank"]) == \
        ("mx_sesnsp", 30444.0, "precedence", 2)
    assert "counting_unit_substitute" in v["comparability_flags"]       # offences stand in for victims, flagged
    (alt,) = v["alternatives"]
    assert alt["source_id"] == "wb_wdi" and alt["rate_per_100k"] == _wb("MEX", 2019)     # 28.7367…
    assert math.isclose(alt["ratio_to_chosen"], _wb("MEX", 2019) / v["rate_per_100k"])
    # burglary 2019: SESNSP chosen over UNODC CTS, whose count is the raw file's
    b = one(con, "country_iso3 = 'MEX' and year = 2019 and iccs_code = '0501' and measure = 'offences'", [])
    assert (b["source_id"], b["value"]) == ("mx_sesnsp", 74250.0)
    (u,) = b["alternatives"]
    assert (u["source_id"], u["value"]) == ("unodc_cts", _cts("Mexico", "Burglary", 2019))
    assert "ranks above unodc_cts (rank 3)" in b["choice_reason"]
    assert isinstance(b["quality_score"], float) and 0 <= b["quality_score"] <= 100


def _cts(country: str, category: str, year: int) -> float:
    for name in ("unodc_cts/data_cts_corruption_and_economic_crime.csv",
                 "unodc_cts/data_cts_violent_and_sexual_crime.csv"):
        lines = real(name).read_text("utf-8-sig").splitlines()
        head = next(i for i, ln in enumerate(lines) if ln.startswith("Iso3_code"))
        df = pd.read_csv(io_text("\n".join(lines[head:])), dtype=str)
        x = df[(df["Country"] == country) & (df["Category"] == category) & (df["Year"] == str(year))
               & (df["Unit of measurement"] == "Counts") & (df["Sex"] == "Total") & (df["Age"] == "Total")
               & (df["Dimension"].str.contains("type of offence", case=False))]
        if len(x):
            return float(x["VALUE"].iloc[0])
    raise AssertionError(f"{country} {category} {year} not in the CTS files")


def io_text(s: str):
    import io

    return io.StringIO(s)


def test_argentina_snic_before_the_world_bank(con):
    r = one(con, "country_iso3 = 'ARG' and year = 2019 and iccs_code = '0101' and measure = 'victims'", [])
    assert (r["source_id"], r["value"]) == ("ar_snic", _snic(2019, "1", "cantidad_victimas")) == ("ar_snic", 2309.0)
    assert [a["source_id"] for a in r["alternatives"]] == ["wb_wdi"]
    assert r["alternatives"][0]["rate_per_100k"] == _wb("ARG", 2019)
    assert r["counted_as"] == "victims" and "counting_unit_substitute" not in r["comparability_flags"]
    o = one(con, "country_iso3 = 'ARG' and year = 2019 and iccs_code = '0101' and measure = 'offences'", [])
    assert (o["value"], o["choice_code"]) == (_snic(2019, "1", "cantidad_hechos"), "only_source")


def test_costa_rica_oij_partial_2023_never_wins_over_a_complete_year(con):
    r = one(con, "country_iso3 = 'CRI' and year = 2023 and iccs_code = '0101' and measure = 'victims'", [])
    assert (r["source_id"], r["choice_code"], r["provisional"], r["full_year"]) == \
        ("owid_homicide", "complete_over_partial", False, True)
    assert r["rate_per_100k"] == pytest.approx(_owid("Costa Rica", 2023))       # 17.74548 in the OWID file
    (a,) = r["alternatives"]
    assert (a["source_id"], a["months_reported"], a["obs_status"]) == ("cr_oij", 3, "P")
    assert "cr_oij (3 months reported)" in r["choice_reason"]
    # OIJ's own key (offences) has only OIJ: it stays, marked partial and provisional, without an annual rate
    o = one(con, "country_iso3 = 'CRI' and year = 2023 and iccs_code = '0101' and measure = 'offences'", [])
    assert (o["source_id"], o["months_reported"], o["provisional"]) == ("cr_oij", 3, True)
    assert o["rate_per_100k"] is None or math.isnan(o["rate_per_100k"])
    assert {"partial_year", "provisional"} <= set(o["comparability_flags"])


def test_never_a_partial_or_provisional_value_where_another_source_is_complete(con):
    bad = con.execute("""select country_iso3, year, iccs_code, measure, source_id from published.comparable
                         where provisional and len(list_filter(alternatives, lambda a: a.months_reported >= 12
                                                              and coalesce(a.obs_status, 'A') <> 'P')) > 0""").df()
    assert bad.empty, bad.head()
    # and the rule did bite on the real files
    assert con.execute("select count(*) from published.comparable where choice_code = 'complete_over_partial'"
                       ).fetchone()[0] >= 1


def test_coverage_and_regional_on_the_real_warehouse(con):
    cov = con.execute("select * from published.coverage where country_iso3 = 'CRI' and year = 2023 "
                      "and iccs_code = '0101'").df().iloc[0]
    assert list(cov["sources"]) == ["cr_oij", "owid_homicide"]
    pop = con.execute("select population from reference.population_national where country_iso3 = 'CRI' and "
                      "year = 2023 and source_id = 'wb_sp_pop_totl'").fetchone()[0]
    assert cov["population"] == pop and cov["population_covered"] == pop
    reg = con.execute("select * from published.regional where region_code = '019' and iccs_code = '0101' "
                      "and measure = 'victims' and sex = '_T' and age = '_T' and year = 2019").df().iloc[0]
    # recomputed from published.comparable: sum of counts (rate x population where only a rate exists)
    # over the member states with a complete year, divided by their population
    chk = con.execute("""select sum(coalesce(c.value, c.rate_per_100k * p.population / 1e5)), sum(p.population),
                                count(*)
                         from published.comparable c join reference.population_national p
                           on p.country_iso3 = c.country_iso3 and p.year = c.year and p.source_id = 'wb_sp_pop_totl'
                         where c.iccs_code = '0101' and c.measure = 'victims' and c.sex = '_T' and c.age = '_T'
                           and c.subdivision_code is null and c.year = 2019 and c.full_year""").fetchone()
    assert reg["value"] == pytest.approx(chk[0]) and reg["population_covered"] == chk[1]
    assert reg["countries_reported"] == chk[2] and reg["countries_total"] == 35
    assert reg["rate_per_100k"] == pytest.approx(chk[0] / chk[1] * 1e5)
    assert bool(reg["sufficient_coverage"]) == (reg["coverage_share"] >= 0.5)
    flagged = con.execute("select count(*) from published.regional where not sufficient_coverage "
                          "and (rate_per_100k is not null or flag <> 'insufficient_coverage')").fetchone()[0]
    assert flagged == 0
