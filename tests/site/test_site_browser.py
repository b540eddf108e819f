"""The public data site built from the warehouse of the real national files, read in headless Chromium (Selenium
+ Debian's chromium/chromium-driver), opened from the folder itself (file://: no server, as a reader who
downloaded it would): the intentional-homicide comparison chart and its table in Spanish and English, and a
country page in English and Spanish, show the values that are in the warehouse (queried here), formatted in
the page's language; the language switcher leads to the same page in English.

Screenshots are taken on every run (in the test's temporary folder); HEMISTAT_REFRESH_SCREENSHOTS=1 writes them
to docs/screenshots/ (site_*.png), linked from the README and docs/SITE.md."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pipelines.site.build import build_site
from tests.service.test_portal_browser import chrome

REPO = Path(__file__).resolve().parents[2]
DOC_SHOTS = REPO / "docs" / "screenshots"


def shots_dir(tmp_path: Path) -> Path:
    return DOC_SHOTS if os.environ.get("HEMISTAT_REFRESH_SCREENSHOTS") == "1" else tmp_path / "screenshots"


def number(text: str, lang: str) -> float:
    """A number as the page writes it (en 1,234.56; es 1.234,56) back to a float."""
    t = text.strip().replace("\u202f", "").replace("\xa0", "")
    t = t.replace(",", "") if lang == "en" else t.replace(".", "").replace(",", ".")
    return float(t)


def warehouse_rate(wh, views: set[str], iso3: str, year: int, source: str, measure: str) -> float:
    """The rate the warehouse holds for a country-year of intentional homicide from one source."""
    if "comparable" in views:
        row = wh.execute("""select rate_per_100k from published.comparable where country_iso3 = ? and year = ?
                            and iccs_code = '0101' and source_id = ? and measure = ? and sex = '_T' and age = '_T'
                            and subdivision_code is null""", [iso3, year, source, measure]).fetchone()
    else:
        row = wh.execute("""select rate_per_100k from published.indicators where country_iso3 = ? and year = ?
                            and iccs_code = '0101' and source_id = ? and measure = ? and sex = '_T' and age = '_T'
                            and relationship = '_T' and subdivision_code is null and month is null""",
                         [iso3, year, source, measure]).fetchone()
    assert row is not None and row[0] is not None, (iso3, year, source, measure)
    return float(row[0])


def test_site_in_chromium_shows_the_warehouse_values(real_warehouse, wh, tmp_path):
    from selenium.webdriver.common.by import By

    out = tmp_path / "site"
    # the pages are what this test reads: the whole publication's downloads in CSV and Parquet only (Excel and the
    # SDMX files of the real warehouse took about 12 minutes; tests/publication checks the exporter's formats)
    rec = build_site(real_warehouse, out, langs=("en", "es"), formats=("csv", "parquet"))
    views = {r[0] for r in wh.execute("select view_name from duckdb_views() where schema_name = 'published'").fetchall()}
    assert rec["release_id"] == wh.execute("select release_id from published.release").fetchone()[0]
    SHOTS = shots_dir(tmp_path)
    SHOTS.mkdir(parents=True, exist_ok=True)
    d = chrome("es")

    def shot(name):
        h = d.execute_script("return document.documentElement.scrollHeight")
        d.set_window_size(1280, max(700, min(h + 40, 2400)))
        d.save_screenshot(str(SHOTS / f"{name}.png"))
        d.set_window_size(1280, 1000)

    try:
        for lang in ("es", "en"):
            d.get((out / lang / "index.html").as_uri())
            assert d.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
            assert d.find_element(By.TAG_NAME, "h1").text == {"es": "Homicidio intencional en las Américas",
                                                               "en": "Intentional homicide in the Americas"}[lang]
            rows = d.find_elements(By.CSS_SELECTOR, "#table-comparison tbody tr")
            year = int(rows[0].get_attribute("data-year"))
            shown = {}
            for r in rows:
                iso3, src, measure = (r.get_attribute(a) for a in ("data-iso3", "data-source", "data-measure"))
                name = r.find_element(By.TAG_NAME, "th").text
                cell = r.find_element(By.CSS_SELECTOR, "td.rate").text.split()[0]
                want = warehouse_rate(wh, views, iso3, year, src, measure)
                assert number(cell, lang) == pytest.approx(round(want, 2), abs=0.005), (iso3, cell, want)
                shown[name] = (iso3, src, round(want, 2))
            # the chart: one bar per country, each bar's description carries the same rate as the warehouse
            bars = d.find_elements(By.CSS_SELECTOR, "#chart-comparison [aria-roledescription='bar']")
            assert len(bars) == len(rows) >= 20
            per = {"es": "por cada 100.000", "en": "per 100,000"}[lang]
            for b in bars:
                m = re.match(rf"^(.+), {year}: ([\d.,]+) {per} \((\w+)\)$", b.get_attribute("aria-label"))
                assert m, b.get_attribute("aria-label")
                iso3, src, want = shown[m.group(1)]
                assert m.group(3) == src and number(m.group(2), lang) == pytest.approx(want, abs=0.005)
            labels = [t.text for t in d.find_elements(By.CSS_SELECTOR, "#chart-comparison .mark-text.role-mark text")]
            assert sorted(number(x, lang) for x in labels if x) == sorted(v for _, _, v in shown.values())
            svg_title = d.find_element(By.CSS_SELECTOR, "#chart-comparison svg").get_attribute("aria-label")
            assert str(year) in svg_title and rec["release_id"] in svg_title      # title and source note
            # the precedence: a complete national value, where the warehouse has one, is the one shown
            national = {r[0] for r in wh.execute(
                """select country_iso3 from published.homicide_rates where year = ? and comparability = 'national'
                   and full_year and coalesce(obs_status, 'A') not in ('P', 'M')""", [year]).fetchall()}
            for iso3, src, _ in shown.values():
                if iso3 in national and "comparable" not in views:
                    assert src not in ("wb_wdi", "owid_homicide", "unodc_cts"), (iso3, src)
            # every country with a rate that year in the warehouse is on the chart
            in_wh = {r[0] for r in wh.execute("select distinct country_iso3 from published.homicide_rates "
                                              "where year = ? and rate_per_100k is not null", [year]).fetchall()}
            assert in_wh <= {v[0] for v in shown.values()}
            shot(f"site_home_{lang}")

        # a country page, in English: Argentina's intentional homicide series, year by year
        d.get((out / "en" / "country-ARG.html").as_uri())
        assert d.find_element(By.ID, "country-name").text.startswith("Argentina")
        rows = d.find_elements(By.CSS_SELECTOR, "#table-homicide tbody tr")
        assert len(rows) >= 20
        years = {}
        for r in rows:
            y, src, measure = int(r.get_attribute("data-year")), r.get_attribute("data-source"), r.get_attribute("data-measure")
            want = warehouse_rate(wh, views, "ARG", y, src, measure)
            cell = r.find_element(By.CSS_SELECTOR, "td.rate").text.split()[0]
            assert number(cell, "en") == pytest.approx(round(want, 2), abs=0.005), (y, cell, want)
            years[y] = (src, round(want, 2))
        assert years[2019][0] == "ar_snic"                         # SNIC's own complete year, not the World Bank
        points = [p.get_attribute("aria-label") for p in
                  d.find_elements(By.CSS_SELECTOR, "#chart-homicide [aria-roledescription='point']")]
        assert f"ar_snic, 2019: {years[2019][1]:.2f} per 100,000" in points
        assert d.find_elements(By.CSS_SELECTOR, "#table-quality tbody tr")      # the scorecard
        assert "Sistema Nacional de Información Criminal" in d.find_element(By.ID, "sources").text
        shot("site_country_en")

        # the same page in Spanish, reached through the language switcher
        d.find_element(By.CSS_SELECTOR, "#languages a[hreflang='es']").click()
        assert d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
        assert d.current_url.endswith("/es/country-ARG.html")
        r2019 = d.find_element(By.CSS_SELECTOR, "#table-homicide tr[data-year='2019'] td.rate").text.split()[0]
        assert r2019 == f"{years[2019][1]:.2f}".replace(".", ",")
        shot("site_country_es")
        d.get((out / "en" / "methodology.html").as_uri())
        assert len(d.find_elements(By.CSS_SELECTOR, "#table-rules tbody tr")) == 28
        shot("site_methodology_en")
    finally:
        d.quit()
