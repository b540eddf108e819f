"""The public site's page builder on a small synthetic warehouse (tests/site/synthetic.py): both data paths (the
views every warehouse has, and the publication views of issue 15), the precedence, the four languages, the
charts and their table alternative, relative links only, the downloads, the output folder, the command."""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipelines.site.build import SiteBuildError, build_site
from pipelines.site.data import open_site_data
from tests.site.synthetic import PUB_CHOICE, RELEASE


class _Page(HTMLParser):
    """The parts of a page the tests read: <html lang>, links, and rows of tables by id (cells' text)."""

    def __init__(self):
        super().__init__()
        self.lang = None
        self.links: list[str] = []
        self.rows: dict[str, list[dict]] = {}
        self.aria: list[str] = []
        self._table = None
        self._row = None
        self._cell = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag in ("a", "link") and a.get("href"):
            self.links.append(a["href"])
        if "aria-label" in a:
            self.aria.append(a["aria-label"])
        if tag == "table":
            self._depth += 1
            if a.get("id"):
                self._table = a["id"]
                self.rows.setdefault(self._table, [])
        if tag == "tr" and self._table:
            self._row = {"attrs": a, "cells": []}
        if tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row["cells"].append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag == "tr" and self._row is not None:
            if self._row["cells"] and self._row["attrs"]:
                self.rows[self._table].append(self._row)
            self._row = None
        if tag == "table":
            self._depth -= 1
            if self._depth == 0:
                self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def page(path: Path) -> _Page:
    p = _Page()
    p.feed(path.read_text("utf-8"))
    return p


@pytest.fixture(scope="module")
def fallback_site(tmp_path_factory):
    """One build (en, es) of the synthetic warehouse without the publication views, read by several tests."""
    from pipelines.settings import get_settings
    from tests.conftest import environ
    from tests.site.synthetic import make_warehouse

    import pipelines.site.downloads as dl

    tmp = tmp_path_factory.mktemp("site")
    exporter = dl._exporter
    dl._exporter = lambda: None        # the site's own downloads (the exporter has a test of its own below)
    try:
        with environ({"HEMISTAT_DATA_DIR": str(tmp / "data")}):
            settings = get_settings()
            settings.ensure_dirs()
            make_warehouse(settings.data_dir, settings.reference_dir)
            rec = build_site(settings, tmp / "site", langs=("en", "es"))
    finally:
        dl._exporter = exporter
    return tmp / "site", rec


def test_fallback_path_home_page_shows_the_precedence_choice(fallback_site):
    out, rec = fallback_site
    assert rec["mode"] == "fallback" and rec["release_id"] == RELEASE
    en = page(out / "en" / "index.html")
    assert en.lang == "en"
    rows = {r["attrs"]["data-iso3"]: r for r in en.rows["table-comparison"]}
    # 2021: ARG's own complete victims count wins over the World Bank; MEX's national 2021 has 11 months
    # (provisional, no annual rate), so the World Bank's rate is shown; BRA and USA have the World Bank only
    assert set(rows) == {"ARG", "MEX", "BRA", "USA"}
    assert float(rows["ARG"]["attrs"]["data-rate"]) == pytest.approx(5.13)
    assert "ar_snic" in rows["ARG"]["cells"][4] and "victims" in rows["ARG"]["cells"][3]
    assert float(rows["MEX"]["attrs"]["data-rate"]) == pytest.approx(26.4)
    assert "wb_wdi" in rows["MEX"]["cells"][4]
    assert "the country's own official source" in rows["ARG"]["cells"][5]
    assert rows["ARG"]["cells"][1].startswith("5.13")
    # the chart: its SVG names itself, and every bar says the same number as the table (Babel formatting)
    svg_labels = [a for a in en.aria if ": " in a and "per 100,000 (" in a]
    assert "Argentina, 2021: 5.13 per 100,000 (ar_snic)" in svg_labels
    assert any(a.startswith("Intentional homicide per 100,000 inhabitants, 2021.") for a in en.aria)
    html = (out / "en" / "index.html").read_text("utf-8")
    assert "<script" not in html and "http://" not in html.split("<svg", 1)[0]
    assert html.count("<svg") == 1          # the regional chart needs published.regional: not there
    assert "not in this release of the warehouse yet" in html


def test_spanish_pages_are_spanish_with_spanish_numbers(fallback_site):
    out, _ = fallback_site
    es = page(out / "es" / "index.html")
    assert es.lang == "es"
    rows = {r["attrs"]["data-iso3"]: r for r in es.rows["table-comparison"]}
    assert rows["ARG"]["cells"][1].startswith("5,13") and rows["MEX"]["cells"][1].startswith("26,40")
    assert "víctimas" in rows["ARG"]["cells"][3]
    assert "Argentina, 2021: 5,13 por cada 100.000 (ar_snic)" in es.aria
    text = (out / "es" / "index.html").read_text("utf-8")
    assert "Homicidio intencional en las Américas" in text and "Estados Unidos de América" in text
    # the language switcher points at the same page in every language built (here en and es)
    assert {"../en/index.html", "../es/index.html"} <= set(es.links) and "../pt/index.html" not in es.links


def test_country_page_series_marks_provisional_and_breaks(fallback_site):
    out, _ = fallback_site
    mex = page(out / "en" / "country-MEX.html")
    hom = {r["attrs"]["data-year"]: r for r in mex.rows["table-homicide"]}
    assert hom["2021"]["attrs"]["data-source"] == "wb_wdi" and hom["2020"]["attrs"]["data-source"] == "mx_sesnsp"
    assert float(hom["2020"]["attrs"]["data-rate"]) == pytest.approx(23.02)
    assert "mx_sesnsp: " not in hom["2021"]["cells"][6]     # its partial year has no annual rate to compare
    usa = (out / "en" / "country-USA.html").read_text("utf-8")
    u = page(out / "en" / "country-USA.html")
    row = next(r for r in u.rows["table-indicators"] if r["attrs"]["data-iccs"] == "0201")
    assert row["cells"][-1].endswith("B")                       # 2021 marked as a series break
    assert "synthetic definition change in 2021" in usa
    # the quality scorecard: the mean of the dimensions' scores
    q = {r["attrs"]["data-year"]: r["cells"] for r in u.rows["table-quality"]}
    assert q["2021"] == ["2021", "70", "80", "—", "—", "—", "100", "83"]     # (70 + 80 + 100) / 3


def test_every_link_is_relative_and_leads_to_a_file(fallback_site):
    out, rec = fallback_site
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == rec["pages"] and len(pages) > 10
    broken = []
    for p in pages:
        for href in page(p).links:
            if href.startswith(("http://", "https://")):
                continue          # a source's own web site (rel="external")
            assert not href.startswith("/"), (p, href)     # works from a folder and under any path
            target = href.split("#")[0]
            if target and not (p.parent / target).resolve().is_file():
                broken.append((p.relative_to(out).as_posix(), href))
    assert not broken, broken[:10]


def test_publication_path_reads_comparable_regional_and_practices(publication_wh, tmp_path):
    rec = build_site(publication_wh, tmp_path / "site", langs=("en", "es"))
    out = tmp_path / "site"
    assert rec["mode"] == "publication"
    en = page(out / "en" / "index.html")
    rows = {r["attrs"]["data-iso3"]: r for r in en.rows["table-comparison"]}
    source, rate, reason = PUB_CHOICE[("ARG", 2021)]
    assert float(rows["ARG"]["attrs"]["data-rate"]) == pytest.approx(rate) and source in rows["ARG"]["cells"][4]
    assert reason in rows["ARG"]["cells"][5]                   # the publication's own reason, as it wrote it
    # MEX 2021: the complete World Bank year beats the provisional national one, even in another measure
    assert "wb_wdi" in rows["MEX"]["cells"][4]
    # the regional chart and its table; the region-year without enough coverage is flagged, not hidden
    html = (out / "en" / "index.html").read_text("utf-8")
    assert html.count("<svg") == 2
    reg = {(r["attrs"]["data-region"], r["attrs"]["data-year"]): r for r in en.rows["table-regional"]}
    assert reg[("019", "2021")]["cells"][2] == "17.25" and reg[("019", "2021")]["cells"][3] == "70%"
    assert "insufficient coverage" in reg[("005", "2019")]["cells"][5]
    assert reg[("005", "2019")]["attrs"].get("class") == "insufficient"
    es = page(out / "es" / "index.html")
    assert any(r["cells"][0] == "América del Sur" for r in es.rows["table-regional"])
    assert any("América del Sur, 2020: 13,50 por cada 100.000" in a for a in es.aria)
    # alternatives from the publication's list, practices from issue 16's view
    arg = (out / "en" / "country-ARG.html").read_text("utf-8")
    assert "other_src: 6.05" in arg                            # 5.50 x 1.1
    assert "Synthetic practice (sample)" in arg
    assert "Práctica sintética (muestra)" in (out / "es" / "country-ARG.html").read_text("utf-8")


def test_headline_never_picks_a_partial_year_when_a_complete_one_exists(fallback_wh):
    with open_site_data(fallback_wh) as d:
        h = d.headline()
        comp = d.comparable()
    mex21 = h[(h.country_iso3 == "MEX") & (h.year == 2021) & (h.iccs_code == "0101") & (h.sex == "_T")]
    assert len(mex21) == 1 and mex21.iloc[0]["source_id"] == "wb_wdi"
    partial = comp[(comp.source_id == "mx_sesnsp") & (comp.year == 2021) & (comp.iccs_code == "0101")].iloc[0]
    assert partial["provisional"] and not partial["full_year"] and partial["rate_per_100k"] is None \
        or partial["rate_per_100k"] != partial["rate_per_100k"]          # NULL or NaN: no annual rate
    # one row per country x year x code x measure x sex
    assert not comp.duplicated(["country_iso3", "year", "iccs_code", "measure", "sex"]).any()
    arg = comp[(comp.country_iso3 == "ARG") & (comp.year == 2021) & (comp.iccs_code == "0101")
               & (comp.measure == "victims") & (comp.sex == "_T")].iloc[0]
    assert arg["source_id"] == "ar_snic" and arg["precedence_rank"] == 1
    assert [a["source_id"] for a in arg["alternatives"]] == ["wb_wdi"]
    assert arg["alternatives"][0]["ratio_to_chosen"] == pytest.approx(5.50 / 5.13)


def test_downloads_written_without_the_exporter(fallback_site):
    out, rec = fallback_site
    whole = out / "downloads" / "all" / "comparable.csv"
    rows = list(csv.DictReader(whole.open(encoding="utf-8")))
    assert rows and {r["release_id"] for r in rows} == {RELEASE}
    arg = [r for r in rows if r["country_iso3"] == "ARG" and r["year"] == "2021" and r["iccs_code"] == "0101"
           and r["measure"] == "victims" and r["sex"] == "_T"]
    assert len(arg) == 1 and arg[0]["source_id"] == "ar_snic" and json.loads(arg[0]["alternatives"])[0]["source_id"] == "wb_wdi"
    per_country = out / "downloads" / "country-ARG" / "comparable_ARG.csv"
    assert {r["country_iso3"] for r in csv.DictReader(per_country.open(encoding="utf-8"))} == {"ARG"}
    assert (out / "downloads" / "all" / "comparable.parquet").stat().st_size > 0
    assert "../downloads/country-ARG/comparable_ARG.csv" in page(out / "en" / "country-ARG.html").links


def test_the_output_folder_is_replaced_whole_and_a_foreign_folder_is_refused(fallback_wh, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(SiteBuildError, match="not a site built by hemistat"):
        build_site(fallback_wh, foreign, langs=("en",))
    assert (foreign / "notes.txt").read_text() == "keep me" and len(list(foreign.iterdir())) == 1
    out = tmp_path / "site"
    build_site(fallback_wh, out, langs=("en", "es"))
    (out / "stale.html").write_text("from before")
    rec = build_site(fallback_wh, out, langs=("fr",))
    assert not (out / "stale.html").exists() and not (out / "en").exists() and (out / "fr" / "index.html").exists()
    assert json.loads((out / "BUILD.json").read_text())["languages"] == ["fr"] == rec["languages"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]       # no temporary folder left


def test_command_line(fallback_wh, tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    res = CliRunner().invoke(app, ["site", "--out", str(tmp_path / "s"), "--lang", "pt", "--quiet"])
    assert res.exit_code == 0, res.output
    assert re.search(r"site of release 20260101T000000-abcdef \(fallback views\): \d+ pages", res.output)
    assert page(tmp_path / "s" / "pt" / "index.html").lang == "pt"
    pt = (tmp_path / "s" / "pt" / "index.html").read_text("utf-8")
    assert "Homicídio intencional nas Américas" in pt
    assert "Homicídio intencional por 100 mil habitantes, 2021" in pt            # the chart's title, all Portuguese
    assert 'lang="en">Robbery' not in pt and 'lang="en">Assaults and threats</span>' in (
        tmp_path / "s" / "pt" / "indicators.html").read_text("utf-8")       # ICCS labels not in pt: English, marked
    res = CliRunner().invoke(app, ["site", "--out", str(tmp_path / "s"), "--lang", "xx"])
    assert res.exit_code == 2 and "unknown language" in res.output


def test_methodology_and_releases_pages(fallback_site):
    out, _ = fallback_site
    m = page(out / "es" / "methodology.html")
    rules = {r["attrs"]["id"]: r["cells"] for r in m.rows["table-rules"]}
    assert len(rules) == 28                                    # every rule of quality_rules/
    assert rules["rule-P1"][1] == "Tasa de homicidios en un rango plausible"
    assert rules["rule-P1"][4] == "max=100, hard_max=150" and rules["rule-P1"][2] == "advertencia"
    assert rules["rule-S1"][3] == "Accesibilidad" and rules["rule-S1"][2] == "bloqueante"
    html = (out / "es" / "methodology.html").read_text("utf-8")
    assert 'id="mapping-ar_snic"' in html and "Homicidios dolosos" in html      # reference/crosswalks/ar_snic.csv
    prec = {r["attrs"]["data-rank"]: r["cells"] for r in page(out / "en" / "methodology.html").rows["table-precedence"]}
    assert prec["1"][1] == "the country's own official source, complete year"
    assert prec["3"][1].startswith("international comparison series") and prec["4"][1].startswith("only a provisional")
    assert set(prec) == {"1", "3", "4"}                        # the synthetic warehouse has no UNODC value
    rel = (out / "es" / "releases.html").read_text("utf-8")
    assert RELEASE in rel and "20251201T000000-123456" in rel and "archivo añadido" in rel
    assert "(la que muestra este sitio)" in rel


def test_downloads_through_the_exporter_when_it_exists(fallback_wh, tmp_path, monkeypatch):
    """With pipelines.publication.exports.export present, site_downloads calls it: every format for the whole
    publication, a CSV per indicator and per country; a selection it refuses leaves that selection empty."""
    import pipelines.site.downloads as dl

    calls = []

    def fake_export(settings, fmt, out_dir, *, country=None, iccs=None, release=None, **kw):
        calls.append((fmt, country, iccs, release))
        if country == "CHL":
            raise ValueError("no value for CHL")
        out_dir.mkdir(parents=True, exist_ok=True)
        p = out_dir / f"export_{country or iccs or 'all'}.{'csv' if fmt.endswith('csv') else 'bin'}"
        p.write_text("x")
        return [p]

    monkeypatch.setattr(dl, "_exporter", lambda: fake_export)
    rec = build_site(fallback_wh, tmp_path / "site", langs=("en",))
    assert [c[0] for c in calls] == list(dl.EXPORT_FORMATS)              # the whole publication, every format
    arg = page(tmp_path / "site" / "en" / "country-ARG.html")
    assert "../downloads/country-ARG/comparable_ARG.csv" in arg.links   # the slices: the site's own CSVs
    assert "../downloads/all/csv/export_all.csv" in page(tmp_path / "site" / "en" / "downloads.html").links
    # with per_selection_exporter the slices come from the exporter too
    calls.clear()
    from pipelines.site.data import open_site_data

    with open_site_data(fallback_wh) as data:
        data.comparable()
    d = dl.site_downloads(fallback_wh, tmp_path / "dl" / "downloads", data=data, iccs_codes=["0101"],
                          countries=["ARG", "CHL"], release=RELEASE, per_selection_exporter=True)
    assert rec["downloads_writer"] == "exports"
    assert {c[3] for c in calls} == {RELEASE}
    assert ("csv", None, "0101", RELEASE) in calls and ("csv", "ARG", None, RELEASE) in calls
    assert d.errors == ["country:CHL csv: ValueError: no value for CHL"]
    assert [i["name"] for i in d.files_for_country("ARG")] == ["export_ARG.csv"] and d.files_for_country("CHL") == []


def test_download_formats_can_be_chosen(fallback_wh, tmp_path, monkeypatch):
    """``formats`` (``hemistat site --format``) limits the whole publication's downloads to those formats, in the
    site's order; an unknown format stops the build before anything is written, naming it."""
    import pipelines.site.downloads as dl
    from pipelines.site.build import SiteBuildError
    from typer.testing import CliRunner

    from pipelines.cli import app

    calls = []

    def fake_export(settings, fmt, out_dir, **kw):
        calls.append(fmt)
        out_dir.mkdir(parents=True, exist_ok=True)
        p = out_dir / f"export.{fmt}"
        p.write_text("x")
        return [p]

    monkeypatch.setattr(dl, "_exporter", lambda: fake_export)
    build_site(fallback_wh, tmp_path / "site", langs=("en",), formats=("sdmx-csv", "csv"))
    assert calls == ["csv", "sdmx-csv"]
    links = page(tmp_path / "site" / "en" / "downloads.html").links
    assert "../downloads/all/csv/export.csv" in links and not any("xlsx" in x for x in links)
    calls.clear()
    with pytest.raises(SiteBuildError, match=r"unknown download format\(s\) \['xls'\]"):
        build_site(fallback_wh, tmp_path / "other", langs=("en",), formats=("csv", "xls"))
    assert calls == [] and not (tmp_path / "other").exists()
    res = CliRunner().invoke(app, ["site", "--out", str(tmp_path / "s"), "--lang", "en", "--format", "parquet",
                                   "--quiet"])
    assert res.exit_code == 0, res.output
    assert calls == ["parquet"]
    res = CliRunner().invoke(app, ["site", "--out", str(tmp_path / "s"), "--format", "pdf"])
    assert res.exit_code == 2 and "unknown download format" in res.output
