"""Build the public data site: static HTML in English, Spanish, Portuguese and French from the warehouse.

``build_site(settings, out_dir)`` writes::

    index.html                 the language chooser
    site.css                   the one stylesheet
    BUILD.json                 release, languages, pages, seconds (what ``hemistat serve`` checks)
    downloads/                 the data files (``site_downloads``)
    en/ es/ pt/ fr/            each: index.html (intentional homicide across the region), indicators.html,
                               indicator-<ICCS>.html, countries.html, country-<ISO3>.html, methodology.html,
                               releases.html, downloads.html

Every link is relative, so the folder works opened from disk and behind any web server, under any path. No
page needs JavaScript. The folder is built beside ``out_dir`` and moved into place at the end: a reader never
sees half a site, and a failed build leaves the previous one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.i18n import LANGUAGES, Translator, format_decimal, format_number, load_catalogues, register_jinja_filters
from pipelines.settings import Settings
from pipelines.site import charts
from pipelines.site.data import FALLBACK_PRECEDENCE, SiteData, open_site_data
from pipelines.site.downloads import Downloads, check_formats, site_downloads

HERE = Path(__file__).resolve().parent
MARKER = "BUILD.json"
HOMICIDE = "0101"
DIMENSIONS = ("accuracy", "coherence", "timeliness", "relevance", "comparability", "completeness")
FLAGS = ("rate_as_published", "sum_of_subdivisions", "partial_year", "provisional", "series_break")
CHANGE_KINDS = ("added", "superseded", "withdrawn", "revised")
RELATIONS = ("equivalent", "narrower", "broader", "partial", "no_match")
NAV = (("index.html", "site.nav.home"), ("indicators.html", "site.nav.indicators"),
       ("countries.html", "site.nav.countries"), ("methodology.html", "site.nav.methodology"),
       ("releases.html", "site.nav.releases"), ("downloads.html", "site.nav.downloads"))
SERIES_YEARS = 10          # the tables of series show the last ten years
MIN_COUNTRIES_DEEP = 5     # an ICCS code below level 2 gets its own page when at least this many countries report it
MAX_PANELS = 12            # small multiples on a country page
MIN_COUNTRIES_CHART = 3    # a comparison chart needs at least three countries (fewer: the table says it all)


class SiteBuildError(RuntimeError):
    """The site cannot be built (names what and where)."""


@dataclass
class Lang:
    code: str
    name: str
    title: str


def _language_names(cats) -> list[Lang]:
    from babel import Locale

    out = []
    for code in LANGUAGES:
        name = Locale.parse(code).get_display_name(code)
        out.append(Lang(code, name[:1].upper() + name[1:], cats[code]["site.title"]))
    return out


def _env():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    register_jinja_filters(env)
    return env


def _none(v):
    """None for NULL / NaN / pandas NA, else the value as a plain Python object."""
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v.item() if hasattr(v, "item") else v


# ---- the model: what every language shows, built once ------------------------------------------------------
class Model:
    def __init__(self, data: SiteData, settings: Settings):
        self.data = data
        self.settings = settings
        self.cats = load_catalogues(settings.reference_dir)
        self.release = data.release()
        self.countries = data.countries().set_index("iso3")
        self.iccs = data.iccs().set_index("code")
        h = data.headline()
        self.headline = h[h["sex"] == "_T"].copy()
        self.comparable = data.comparable()
        self.regional = data.regional()
        self.sources = _sources(settings)
        self.country_sources = data.country_sources()
        self.break_notes = data.obs_notes()
        self.practices = data.practices()
        self.indicator_codes = self._indicator_codes()
        self.country_codes = list(self.countries.index)     # every member state has a page, with data or not
        # grouped once: the pages of four languages read these many times
        self.by_code = {k: g for k, g in self.headline.groupby("iccs_code")}
        self.by_country = {k: g for k, g in self.headline.groupby("country_iso3")}
        self.cells: dict[tuple[str, str], dict[int, dict]] = {}
        for r in self.headline.to_dict("records"):
            self.cells.setdefault((r["country_iso3"], r["iccs_code"]), {})[int(r["year"])] = r
        comp = self.comparable
        hom = comp[(comp["iccs_code"] == HOMICIDE) & (comp["sex"] == "_T")]
        self.homicide_all = {k: g.to_dict("records") for k, g in hom.groupby("country_iso3")}
        q = data.quality()
        self.quality = {k: g for k, g in q.groupby("country_iso3")}
        self.releases = data.releases()
        self.changelog = data.changelog()

    def _indicator_codes(self) -> list[str]:
        h = self.headline
        n = h.groupby("iccs_code")["country_iso3"].nunique()
        out = []
        for code, k in n.items():
            level = int(self.iccs.loc[code, "level"]) if code in self.iccs.index else 9
            if level <= 2 or k >= MIN_COUNTRIES_DEEP or code == HOMICIDE:
                out.append(code)
        return sorted(out)

    def label(self, code: str, lang: str) -> tuple[str, str]:
        """The ICCS label in the language (the reference has English and Spanish; others read the English
        label, marked as English in the page — except intentional homicide, whose name the site's catalogue has in
        the four languages) and the language it is in."""
        if code == HOMICIDE:
            return self.cats[lang]["site.iccs.0101"], lang
        if code not in self.iccs.index:
            return code, lang
        col = f"label_{lang}"
        if col in self.iccs.columns and isinstance(self.iccs.loc[code, col], str):
            return self.iccs.loc[code, col], lang
        return self.iccs.loc[code, "label_en"], "en"

    def country_name(self, iso3: str, lang: str) -> str:
        if iso3 in self.countries.index:
            return self.countries.loc[iso3, f"name_{lang}"]
        return iso3

    def comparison_year(self, code: str) -> int | None:
        """The latest year in which at least 60 % as many countries have a rate as in the best-covered year."""
        h = self.by_code.get(code)
        h = h[h["rate_per_100k"].notna()] if h is not None else None
        if h is None or h.empty:
            return None
        n = h.groupby("year")["country_iso3"].nunique()
        good = n[n >= max(1, 0.6 * n.max())]
        return int(good.index.max())


def _sources(settings: Settings) -> dict[str, dict]:
    """Every source spec (title, publisher, url, comparability) with its crosswalk rows."""
    from pipelines.specs.source import check_all_specs

    specs, _errors = check_all_specs(settings.reference_dir)   # a broken spec is left out (hemistat doctor names it)
    out = {}
    for sid, spec in sorted(specs.items()):
        rows = []
        cw = getattr(spec, "crosswalk", None)
        path = settings.crosswalks_dir / f"{cw}.csv" if cw else None
        if path and path.exists():
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
            for r in df.to_dict("records"):
                vf, vt = r.get("valid_from", ""), r.get("valid_to", "")
                rows.append({"national_code": r.get("national_code", ""), "national_label": r.get("national_label", ""),
                             "iccs_code": r.get("iccs_code", ""), "relation": r.get("relation", "no_match"),
                             "rationale": r.get("rationale", ""),
                             "validity": f"{vf or '…'}–{vt or '…'}" if (vf or vt) else ""})
        out[sid] = {"source_id": sid, "title": spec.title or sid, "publisher": getattr(spec, "publisher", "") or "",
                    "url": getattr(spec, "url", "") or "", "comparability": getattr(spec, "comparability", "") or "",
                    "crosswalk": rows, "exact": sum(1 for r in rows if r["relation"] == "equivalent")}
    return out


# ---- one language -----------------------------------------------------------------------------------------
class Pages:
    def __init__(self, model: Model, lang: str, t: Translator, downloads: Downloads):
        self.m = model
        self.lang = lang
        self.t = t
        self.dl = downloads
        self.status_labels = {"normal": t("site.status.normal"), "provisional": t("site.status.provisional"),
                              "break": t("site.status.break"), "insufficient": t("site.status.insufficient")}

    # helpers
    def rate_text(self, v) -> str:
        return format_decimal(v, self.lang, 2) if v is not None else "—"

    def reason(self, r) -> str:
        reason = _none(r.get("choice_reason"))
        if reason in FALLBACK_PRECEDENCE.values():
            return self.t(f"site.reason.{reason}")
        return reason or ""

    def flags(self, fl) -> str:
        return ", ".join(self.t(f"site.flag.{f}") if f in FLAGS else str(f) for f in (fl or []))

    def source_note(self, source_ids) -> str:
        ids = sorted({s for s in source_ids if s})
        return self.t("site.chart.source_note", sources=", ".join(ids), release=self.m.release["release_id"] or "—")

    def status(self, r) -> str:
        if _none(r.get("is_break")):
            return "break"
        if _none(r.get("provisional")):
            return "provisional"
        return "normal"

    def row(self, r) -> dict:
        rate = _none(r.get("rate_per_100k"))
        src = _none(r.get("source_id"))
        alts = []
        for a in r.get("alternatives") or []:
            a = dict(a)
            ar = _none(a.get("rate_per_100k"))
            if ar is not None:
                alts.append(f"{a.get('source_id')}: {format_decimal(ar, self.lang, 2)}")
            elif _none(a.get("value")) is not None:
                alts.append(f"{a.get('source_id')}: {format_number(a.get('value'), self.lang)}")
        return {"iso3": r["country_iso3"], "country": self.m.country_name(r["country_iso3"], self.lang),
                "year": int(r["year"]), "rate_raw": "" if rate is None else repr(float(rate)),
                "rate": rate, "rate_text": self.rate_text(rate), "value": _none(r.get("value")),
                "measure": r.get("measure") or "offences", "source_id": src,
                "source_title": self.m.sources.get(src, {}).get("title", src),
                "reason": self.reason(r), "quality": _none(r.get("quality_score")), "flags": self.flags(r.get("comparability_flags")),
                "provisional": bool(_none(r.get("provisional"))), "is_break": bool(_none(r.get("is_break"))),
                "full_year": bool(_none(r.get("full_year")) if _none(r.get("full_year")) is not None else True),
                "months_reported": _none(r.get("months_reported")), "alternatives": "; ".join(alts)}

    # the indicator / home page
    def indicator(self, code: str, home: bool = False) -> dict:
        t, lang, m = self.t, self.lang, self.m
        label, label_lang = m.label(code, lang)
        h = m.by_code.get(code, m.headline.iloc[0:0])
        year = m.comparison_year(code)
        measure = h["measure"].mode().iloc[0] if len(h) else "offences"
        ind = {"code": code, "label": label, "label_lang": label_lang, "measure": measure, "year": year,
               "bars": None, "bars_title": "", "bar_rows": [], "missing": "", "regional": None, "regional_rows": [],
               "series_years": [], "series_rows": [], "downloads": self.dl.files_for_iccs(code)}
        y = h[(h["year"] == year) & h["rate_per_100k"].notna()] if year is not None else h.iloc[0:0]
        if len(y):
            rows = sorted((self.row(r) for r in y.to_dict("records")), key=lambda r: -r["rate"])
            ind["bar_rows"] = rows
            chart_rows = pd.DataFrame([{
                "label": r["country"], "value": r["rate"], "value_text": r["rate_text"], "status": self.status_of(r),
                "description": t("site.chart.bar_desc", country=r["country"], year=year, rate=r["rate_text"],
                                 source=r["source_id"])} for r in rows])
            title = t("site.chart.comparison_title", indicator=label, year=year)
            ind["bars_title"] = title
            ind["bars"] = None if len(rows) < MIN_COUNTRIES_CHART else charts.bar_by_country(
                chart_rows, lang=lang, chart_id=f"bars-{code}", title=title,
                note=self.source_note(r["source_id"] for r in rows), x_title=t("site.chart.rate_axis"),
                y_title=t("site.col.country"), legend_title=t("site.chart.status_legend"),
                status_labels=self.status_labels)
            have = set(y["country_iso3"])
            missing = [m.country_name(c, lang) for c in m.countries.index if c not in have]
            ind["missing"] = ", ".join(missing)
        reg = m.regional
        if reg is not None:
            rg = reg[(reg["iccs_code"] == code)]
            if len(rg):
                rg = rg[rg["measure"] == rg["measure"].mode().iloc[0]]
                name_col = f"region_name_{lang}"
                rrows = []
                for r in rg.to_dict("records"):
                    rate = _none(r["rate_per_100k"])
                    sufficient = bool(_none(r["sufficient_coverage"]))
                    rrows.append({"region_code": r["region_code"], "region": r.get(name_col) or r["region_name_en"],
                                  "year": int(r["year"]), "rate": rate, "coverage": _none(r["coverage_share"]),
                                  "countries_reported": _none(r["countries_reported"]),
                                  "countries_total": _none(r["countries_total"]), "sufficient": sufficient,
                                  "flag": _none(r.get("flag")) or ""})
                ind["regional_rows"] = rrows
                cdf = pd.DataFrame([{"series": r["region"], "year": r["year"], "value": r["rate"],
                                     "status": "normal" if r["sufficient"] else "insufficient",
                                     "description": t("site.chart.region_desc", region=r["region"], year=r["year"],
                                                      rate=self.rate_text(r["rate"]),
                                                      coverage=format_decimal((r["coverage"] or 0) * 100, lang, 0))}
                                    for r in rrows if r["rate"] is not None])
                if len(cdf):
                    ind["regional"] = charts.lines_by_year(
                        cdf, lang=lang, chart_id=f"regional-{code}",
                        title=t("site.chart.regional_title", indicator=label),
                        note=self.source_note(["published.regional"]), x_title=t("site.col.year"),
                        y_title=t("site.chart.rate_axis"), series_title=t("site.col.region"),
                        status_title=t("site.chart.status_legend"), status_labels=self.status_labels)
        years = sorted(h["year"].unique().tolist())[-SERIES_YEARS:]
        if years:
            ind["series_years"] = years
            for iso3 in m.countries.index:
                cells = self.year_cells(m.cells.get((iso3, code), {}), years)
                if cells is None:
                    continue
                ind["series_rows"].append({"iso3": iso3, "country": m.country_name(iso3, lang), "cells": cells})
        return ind

    def year_cells(self, by_year: dict, years: list) -> list | None:
        """One table row of a series: each year's value (its rate, else its count, else a dash), None for a year
        without one; None for the whole row when no year has a value."""
        if not any(yv in by_year for yv in years):
            return None
        cells = []
        for yv in years:
            r = by_year.get(yv)
            if r is None:
                cells.append(None)
                continue
            rr = self.row(r)
            rr["text"] = rr["rate_text"] if rr["rate"] is not None else (
                format_number(rr["value"], self.lang) if rr["value"] is not None else "—")
            cells.append(rr)
        return cells

    @staticmethod
    def status_of(r: dict) -> str:
        return "break" if r["is_break"] else "provisional" if r["provisional"] else "normal"

    # the country page
    def country(self, iso3: str) -> dict:
        t, lang, m = self.t, self.lang, self.m
        name = m.country_name(iso3, lang)
        h = m.by_country.get(iso3, m.headline.iloc[0:0])
        c = {"iso3": iso3, "name": name, "subregion": self._subregion(iso3), "homicide": None, "homicide_rows": [],
             "multiples": None, "series_years": [], "series_rows": [], "break_notes": [], "quality_rows": [],
             "dimensions": list(DIMENSIONS), "sources": [], "practices": None,
             "downloads": self.dl.files_for_country(iso3)}
        hom = h[h["iccs_code"] == HOMICIDE].sort_values("year", ascending=False)
        if len(hom):
            c["homicide_rows"] = [self.row(r) for r in hom.to_dict("records")]
            # every source's rate, the chosen one and the alternatives, so a change of source shows
            pts = []
            for r in m.homicide_all.get(iso3, []):
                rr = self.row(r)
                if rr["rate"] is not None:
                    pts.append({"series": f"{rr['source_id']} ({t('site.measure.' + rr['measure'])})", "year": rr["year"],
                                "value": rr["rate"], "status": self.status_of(rr),
                                "description": t("site.chart.point_desc", series=rr["source_id"], year=rr["year"],
                                                 rate=rr["rate_text"])})
                for a in r.get("alternatives") or []:
                    a = dict(a)
                    ar = _none(a.get("rate_per_100k"))
                    if ar is not None:
                        pts.append({"series": f"{a['source_id']} ({t('site.measure.' + rr['measure'])})",
                                    "year": rr["year"], "value": ar, "status": "normal",
                                    "description": t("site.chart.point_desc", series=a["source_id"], year=rr["year"],
                                                     rate=self.rate_text(ar))})
            if pts:
                df = pd.DataFrame(pts).drop_duplicates(["series", "year"])
                c["homicide"] = charts.lines_by_year(
                    df, lang=lang, chart_id=f"homicide-{iso3}",
                    title=t("site.chart.country_homicide_title", country=name),
                    note=self.source_note(df["series"].str.split(" ").str[0]), x_title=t("site.col.year"),
                    y_title=t("site.chart.rate_axis"), series_title=t("site.col.source"),
                    status_title=t("site.chart.status_legend"), status_labels=self.status_labels)
        # the other indicators: a table of the last years, small multiples of the best-covered level-1/2 codes
        years = sorted(h["year"].unique().tolist())[-SERIES_YEARS:]
        c["series_years"] = years
        codes = [code for code in m.indicator_codes if code in set(h["iccs_code"])]
        for code in codes:
            cells = self.year_cells(m.cells.get((iso3, code), {}), years)
            if cells is None:
                continue
            label, label_lang = m.label(code, lang)
            c["series_rows"].append({"code": code, "label": label, "label_lang": label_lang, "cells": cells})
        panel_codes = [code for code in codes if code != HOMICIDE and code in m.iccs.index
                       and int(m.iccs.loc[code, "level"]) == 2]
        cover = h[h["iccs_code"].isin(panel_codes) & h["rate_per_100k"].notna()].groupby("iccs_code")["year"].nunique()
        panel_codes = [code for code in cover.sort_values(ascending=False).index if cover[code] >= 3][:MAX_PANELS]
        if panel_codes:
            pts = []
            for r in h[h["iccs_code"].isin(panel_codes) & h["rate_per_100k"].notna()].to_dict("records"):
                rr = self.row(r)
                label = m.label(r["iccs_code"], lang)[0]
                pts.append({"panel": f"{r['iccs_code']} {label}"[:48], "year": rr["year"], "value": rr["rate"],
                            "status": self.status_of(rr),
                            "description": t("site.chart.point_desc", series=f"{r['iccs_code']} {label}",
                                             year=rr["year"], rate=rr["rate_text"])})
            df = pd.DataFrame(pts)
            srcs = h[h["iccs_code"].isin(panel_codes)]["source_id"]
            c["multiples"] = charts.small_multiples(
                df, lang=lang, chart_id=f"multiples-{iso3}", title=t("site.chart.country_indicators_title", country=name),
                note=self.source_note(srcs), x_title=t("site.col.year"), y_title=t("site.chart.rate_axis_short"),
                status_title=t("site.chart.status_legend"), status_labels=self.status_labels)
        notes = m.break_notes[m.break_notes["country_iso3"] == iso3]
        c["break_notes"] = (notes.sort_values(["iccs_code", "year"]).drop_duplicates(["source_id", "obs_note"])
                            .to_dict("records"))
        # quality scorecard
        q = m.quality.get(iso3)
        if q is not None and len(q):
            for y in sorted(q["year"].unique().tolist(), reverse=True)[:SERIES_YEARS]:
                qy = q[q["year"] == y].set_index("dimension")["score"]
                scores = [_none(qy.get(d)) for d in DIMENSIONS]
                present = [s for s in scores if s is not None]
                c["quality_rows"].append({"year": int(y), "scores": scores,
                                          "overall": round(sum(present) / len(present), 1) if present else None})
        # sources and their crosswalks
        cs = m.country_sources[m.country_sources["country_iso3"] == iso3]
        for r in cs.to_dict("records"):
            s = dict(m.sources.get(r["source_id"], {"source_id": r["source_id"], "title": r["source_id"],
                                                    "publisher": "", "url": "", "crosswalk": []}))
            s.update(first_year=int(r["first_year"]), last_year=int(r["last_year"]), n_values=int(r["n_values"]),
                     comparability=(r.get("comparability") or s.get("comparability") or "national"))
            if s["comparability"] not in ("national", "international", "comparison"):
                s["comparability"] = "national"
            c["sources"].append(s)
        # practices (issue 16), when the warehouse has them
        if m.practices is not None:
            p = m.practices
            mine = p[p["country_iso3"] == iso3] if "country_iso3" in p.columns else p.iloc[0:0]
            items = []
            for r in mine.to_dict("records"):
                title = r.get(f"title_{lang}") or r.get("title_en") or r.get("title_es") or r.get("practice_id")
                codes_ = r.get("iccs_codes")
                codes_txt = ", ".join(list(codes_)) if codes_ is not None and not isinstance(codes_, str) else (codes_ or "")
                items.append({"practice_id": r.get("practice_id"), "title": title,
                              "evidence_level": _none(r.get("evidence_level")), "iccs_codes": codes_txt})
            c["practices"] = items
        return c

    def _subregion(self, iso3: str) -> str:
        sub = self.m.countries.loc[iso3, "subregion"] if iso3 in self.m.countries.index else ""
        key = "site.subregion." + str(sub).lower().replace(" ", "_")
        text = self.t(key)
        return text if text != key else str(sub)

    def indicator_list(self) -> list[dict]:
        h = self.m.headline
        out = []
        for code in self.m.indicator_codes:
            hc = h[h["iccs_code"] == code]
            label, label_lang = self.m.label(code, self.lang)
            level = int(self.m.iccs.loc[code, "level"]) if code in self.m.iccs.index else 9
            out.append({"code": code, "label": label, "label_lang": label_lang, "level": level,
                        "countries": hc["country_iso3"].nunique(), "first": int(hc["year"].min()),
                        "last": int(hc["year"].max())})
        return out

    def country_list(self) -> list[dict]:
        h = self.m.headline
        hom = h[(h["iccs_code"] == HOMICIDE) & h["rate_per_100k"].notna()]
        latest = hom.sort_values("year").drop_duplicates("country_iso3", keep="last").set_index("country_iso3")
        out = []
        for iso3 in self.m.countries.index:
            r = latest.loc[iso3] if iso3 in latest.index else None
            out.append({"iso3": iso3, "name": self.m.country_name(iso3, self.lang), "subregion": self._subregion(iso3),
                        "rate": _none(r["rate_per_100k"]) if r is not None else None,
                        "year": int(r["year"]) if r is not None else None,
                        "source": r["source_id"] if r is not None else None,
                        "quality": _none(r["quality_score"]) if r is not None else None})
        return sorted(out, key=lambda x: x["name"])

    def methodology(self) -> dict:
        from pipelines.quality.rules import load_rules

        m = self.m
        rules = []
        for r in load_rules(m.settings.rules_dir, reference_dir=m.settings.reference_dir):
            rules.append({"id": r.id, "title": r.title.get(self.lang) or r.title.get("en"), "severity": r.severity,
                          "dimension": r.dimension, "threshold": r.threshold_text() or "—",
                          "threshold_source": r.threshold_source})
        comp = m.comparable
        prec = (comp.groupby(["precedence_rank", "choice_reason"], dropna=False).size().reset_index(name="n")
                .sort_values("precedence_rank"))
        precedence = [{"rank": _none(r["precedence_rank"]), "reason": self.reason(r), "n": int(r["n"])}
                      for r in prec.to_dict("records")]
        sources = [s for s in m.sources.values() if s["crosswalk"]]
        return {"rules": rules, "precedence": precedence, "sources": sources, "flags": list(FLAGS),
                "dimensions": list(DIMENSIONS), "rule_dimensions": list(DIMENSIONS) + ["accessibility"]}

    def releases(self) -> dict:
        d = self.m.data
        rel = self.m.releases.to_dict("records")
        cl = self.m.changelog
        changelog = [(rid, g.to_dict("records")) for rid, g in cl.groupby("release_id", sort=False)]
        diff = None
        if len(rel) >= 2:
            try:
                df = d.release_diff(rel[1]["release_id"], rel[0]["release_id"])
            except Exception as exc:  # noqa: BLE001 - the page says the changelog could not be computed
                df = pd.DataFrame({"error": [f"{type(exc).__name__}: {exc}"]})
            if df is not None:
                shown = df.head(200)
                diff = {"a": rel[1]["release_id"], "b": rel[0]["release_id"], "columns": list(shown.columns),
                        "rows": [[("" if _none(v) is None else v) for v in row] for row in shown.itertuples(index=False)],
                        "more": max(0, len(df) - len(shown))}
        return {"releases": rel, "changelog": changelog, "diff": diff, "change_kinds": CHANGE_KINDS}


# ---- the build ------------------------------------------------------------------------------------------------
def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")


def _check_out_dir(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise SiteBuildError(f"{out} exists and is not a site built by hemistat (no {MARKER}): give an empty or new "
                             "folder, or the folder of an earlier site build")


def build_site(settings: Settings, out_dir: Path, *, langs: tuple[str, ...] | None = None,
               duckdb_path: Path | None = None, progress=None, formats: tuple[str, ...] | None = None) -> dict:
    """Build the whole site into ``out_dir`` (replaced as a whole at the end). Returns the build record
    (also written as ``BUILD.json``): release, mode, languages, pages, charts, downloads, seconds.
    ``formats`` chooses the whole publication's download formats (default: all of ``EXPORT_FORMATS``)."""
    started = time.perf_counter()
    out = Path(out_dir).resolve()
    _check_out_dir(out)
    langs = tuple(langs or LANGUAGES)
    unknown = sorted(set(langs) - set(LANGUAGES))
    if unknown:
        raise SiteBuildError(f"unknown language(s) {unknown}: the site is built in {', '.join(LANGUAGES)}")
    try:
        formats = check_formats(formats)
    except ValueError as exc:
        raise SiteBuildError(str(exc)) from None
    say = progress or (lambda msg: None)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        # everything is read first and the warehouse closed before the downloads: the exporter opens it itself,
        # and DuckDB shares one database instance per file within a process (its settings with it)
        with open_site_data(settings, duckdb_path) as data:
            model = Model(data, settings)
        say(f"release {model.release['release_id']} ({data.mode} views): {len(model.indicator_codes)} indicators, "
            f"{len(model.country_codes)} countries")
        t0 = time.perf_counter()
        downloads = site_downloads(settings, tmp / "downloads", data=data, iccs_codes=model.indicator_codes,
                                   countries=model.country_codes, release=model.release["release_id"],
                                   formats=formats)
        downloads_s = time.perf_counter() - t0
        say(f"downloads ({downloads.writer}): {len(downloads.all_files())} files in {downloads_s:.1f} s"
            + (f", {len(downloads.errors)} selection(s) refused: {downloads.errors[0]}" if downloads.errors else ""))
        record = _render_all(model, data, tmp, langs, downloads, say)
        record.update(downloads=len(downloads.all_files()), downloads_seconds=round(downloads_s, 2),
                      downloads_writer=downloads.writer, downloads_errors=downloads.errors)
        shutil.copyfile(HERE / "static" / "site.css", tmp / "site.css")
        record["seconds"] = round(time.perf_counter() - started, 2)
        _write(tmp / MARKER, json.dumps(record, indent=2, default=str))
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return record


def _swap_into_place(tmp: Path, out: Path) -> None:
    """``tmp`` becomes ``out``; an earlier build there is moved aside first, then removed."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _render_all(model: Model, data: SiteData, out: Path, langs, downloads: Downloads, say) -> dict:
    cats = load_catalogues(model.settings.reference_dir)
    env = _env()
    built_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    lang_items = [l for l in _language_names(cats) if l.code in langs]
    pages = 0
    n_charts = 0
    for lang in langs:
        t0 = time.perf_counter()
        t = Translator(cats, lang)
        p = Pages(model, lang, t, downloads)
        common = dict(lang=lang, t=t, langs=lang_items, root="../", nav=NAV, release=model.release,
                      built_at=built_at, mode=data.mode)

        def render(name: str, template: str, **ctx):
            nonlocal pages
            _write(out / lang / name, env.get_template(template).render(page=name, **common, **ctx))
            pages += 1

        home = p.indicator(HOMICIDE, home=True)
        n_charts += bool(home["bars"]) + bool(home["regional"])
        render("index.html", "site_indicator.html", ind=home, home=True)
        for code in model.indicator_codes:
            ind = home if code == HOMICIDE else p.indicator(code)
            if code != HOMICIDE:
                n_charts += bool(ind["bars"]) + bool(ind["regional"])
            render(f"indicator-{code}.html", "site_indicator.html", ind=ind, home=False)
        for iso3 in model.country_codes:
            c = p.country(iso3)
            n_charts += bool(c["homicide"]) + bool(c["multiples"])
            render(f"country-{iso3}.html", "site_country.html", c=c)
        render("indicators.html", "site_lists.html", kind="indicators", heading="site.nav.indicators",
               items=p.indicator_list())
        render("countries.html", "site_lists.html", kind="countries", heading="site.nav.countries",
               items=p.country_list())
        render("methodology.html", "site_methodology.html", **p.methodology())
        render("releases.html", "site_releases.html", **p.releases())
        render("downloads.html", "site_downloads.html", files_all=downloads.files_all(),
               indicator_links=[(code, model.label(code, lang)[0]) for code in model.indicator_codes],
               country_links=[(iso3, model.country_name(iso3, lang)) for iso3 in model.country_codes])
        say(f"{lang}: pages written in {time.perf_counter() - t0:.1f} s")
    _write(out / "index.html", env.get_template("site_root.html").render(langs=lang_items, release=model.release))
    pages += 1
    return {"release_id": model.release["release_id"], "published_at": model.release["published_at"],
            "mode": data.mode, "languages": list(langs), "pages": pages, "charts": n_charts,
            "indicators": model.indicator_codes, "countries": model.country_codes, "built_at": built_at}
