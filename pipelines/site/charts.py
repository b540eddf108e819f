"""The site's charts: Vega-Lite specifications built with Altair, rendered to static SVG offline by vl-convert
(no JavaScript, no CDN in the page). Every chart has a title, axis titles and a source note (the subtitle), and
the page puts a table of the same values beside it (the alternative for screen readers); the SVG itself is
``role="img"`` with the title as its label, and each mark carries a description (``aria-label``) built here
with Babel, so a screen reader reading the marks hears the same numbers as the table shows.

Numbers on the axes are formatted by Vega in the page's language (``format_locale``); the value labels and
descriptions are formatted with Babel (``pipelines.i18n``), like every other number of the site.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pandas as pd

# d3-format locale of each language (vl-convert ships these); the same conventions as pipelines.i18n.LOCALES
D3_LOCALES = {"en": "en-US", "es": "es-ES", "pt": "pt-BR", "fr": "fr-FR"}
PALETTE = {"normal": "#1d6fa5", "provisional": "#e59c2b", "break": "#8e44ad", "insufficient": "#9aa5b1"}
FONT = "system-ui, -apple-system, Segoe UI, sans-serif"


@dataclass(frozen=True)
class Chart:
    """One rendered chart: the SVG (ready to be inlined), its title and source note (also written in the page)."""
    svg: str
    title: str
    note: str


def _config() -> dict:
    return {"font": FONT, "view": {"stroke": None},
            "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridColor": "#e6e9ed"},
            "title": {"fontSize": 15, "subtitleFontSize": 11, "subtitleColor": "#4a5866", "anchor": "start",
                      "subtitlePadding": 4},
            "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "bottom"}}


_ID = re.compile(r'\bid="([^"]+)"')


def _render(chart, lang: str, chart_id: str, title: str, note: str) -> Chart:
    import vl_convert as vlc

    spec = chart.to_dict(validate=False)   # built here from fixed encodings; validation costs more than rendering
    svg = vlc.vegalite_to_svg(spec, config=_config(), format_locale=D3_LOCALES.get(lang, "en-US"))
    # several charts are inlined in one page: give their internal ids (clip paths, gradients) a prefix of their own
    ids = set(_ID.findall(svg))
    for i in sorted(ids, key=len, reverse=True):
        svg = svg.replace(f'id="{i}"', f'id="{chart_id}-{i}"').replace(f"url(#{i})", f"url(#{chart_id}-{i})")
    label = html.escape(f"{title}. {note}", quote=True)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{label}" id="{chart_id}-svg" ', 1)
    return Chart(svg=svg, title=title, note=note)


def bar_by_country(rows: pd.DataFrame, *, lang: str, chart_id: str, title: str, note: str, x_title: str,
                   y_title: str, legend_title: str, status_labels: dict[str, str]) -> Chart:
    """Horizontal bars, one per country, largest first. ``rows``: ``label`` (country name), ``value`` (the
    rate), ``value_text`` (the value as the page writes it), ``status`` (a key of ``status_labels``:
    normal / provisional …) and ``description`` (what a screen reader says for the bar)."""
    import altair as alt

    df = rows[["label", "value", "value_text", "status", "description"]].copy()
    df["status_label"] = df["status"].map(status_labels).fillna(df["status"])
    order = df.sort_values("value", ascending=False)["label"].tolist()
    present = [s for s in status_labels if s in set(df["status"])]
    color = alt.Color("status_label:N", title=legend_title,
                      scale=alt.Scale(domain=[status_labels[s] for s in present],
                                      range=[PALETTE.get(s, "#555") for s in present]))
    base = alt.Chart(df).encode(y=alt.Y("label:N", sort=order, title=y_title, axis=alt.Axis(labelLimit=180)))
    bars = base.mark_bar(height={"band": 0.75}).encode(
        x=alt.X("value:Q", title=x_title), color=color, description=alt.Description("description:N"))
    text = base.mark_text(align="left", dx=3, fontSize=10, color="#1f2d3a").encode(
        x="value:Q", text="value_text:N", description=alt.Description("description:N"))
    chart = alt.layer(bars, text).properties(
        width=560, height=max(60, 18 * len(df)),
        title=alt.Title(title, subtitle=[note]))
    return _render(chart, lang, chart_id, title, note)


def lines_by_year(rows: pd.DataFrame, *, lang: str, chart_id: str, title: str, note: str, x_title: str,
                  y_title: str, series_title: str, status_title: str, status_labels: dict[str, str],
                  height: int = 260) -> Chart:
    """Lines over the years, one per ``series`` (a region, a source …), with each point marked by its
    ``status`` (normal, provisional, series break, insufficient coverage: shape and colour, named in the
    legend). ``rows``: ``series``, ``year``, ``value``, ``status``, ``description``."""
    import altair as alt

    df = rows[["series", "year", "value", "status", "description"]].dropna(subset=["value"]).copy()
    df["year"] = df["year"].astype(int)
    df["status_label"] = df["status"].map(status_labels).fillna(df["status"])
    present = [s for s in status_labels if s in set(df["status"])]
    shapes = {"normal": "circle", "provisional": "triangle-up", "break": "diamond", "insufficient": "square"}
    years = sorted(df["year"].unique().tolist())
    axis = alt.Axis(format="d", values=years) if len(years) <= 12 else alt.Axis(format="d", tickMinStep=1)
    x = alt.X("year:Q", title=x_title, axis=axis, scale=alt.Scale(zero=False, nice=False))
    series = alt.Color("series:N", title=series_title, legend=alt.Legend(orient="right", labelLimit=260))
    line = alt.Chart(df).mark_line(strokeWidth=2).encode(
        x=x, y=alt.Y("value:Q", title=y_title), color=series, description=alt.Description("description:N"))
    points = alt.Chart(df).mark_point(filled=True, size=55).encode(
        x=x, y="value:Q", color=series, description=alt.Description("description:N"),
        shape=alt.Shape("status_label:N", title=status_title, legend=alt.Legend(orient="right"),
                        scale=alt.Scale(domain=[status_labels[s] for s in present],
                                        range=[shapes.get(s, "circle") for s in present])))
    chart = alt.layer(line, points).resolve_scale(color="shared").properties(
        width=620, height=height, title=alt.Title(title, subtitle=[note]))
    return _render(chart, lang, chart_id, title, note)


def small_multiples(rows: pd.DataFrame, *, lang: str, chart_id: str, title: str, note: str, x_title: str,
                    y_title: str, status_title: str, status_labels: dict[str, str], columns: int = 3) -> Chart:
    """One small line chart per ``panel`` (an indicator), each with its own vertical scale, points marked by
    ``status``. ``rows``: ``panel``, ``year``, ``value``, ``status``, ``description``."""
    import altair as alt

    df = rows[["panel", "year", "value", "status", "description"]].dropna(subset=["value"]).copy()
    df["year"] = df["year"].astype(int)
    df["status_label"] = df["status"].map(status_labels).fillna(df["status"])
    present = [s for s in status_labels if s in set(df["status"])]
    shapes = {"normal": "circle", "provisional": "triangle-up", "break": "diamond", "insufficient": "square"}
    x = alt.X("year:Q", title=x_title, axis=alt.Axis(format="d", tickMinStep=1, tickCount=4, labelOverlap=True),
              scale=alt.Scale(zero=False))
    base = alt.Chart(df)
    line = base.mark_line(color=PALETTE["normal"]).encode(x=x, y=alt.Y("value:Q", title=y_title))
    points = base.mark_point(filled=True, size=30).encode(
        x=x, y="value:Q", description=alt.Description("description:N"),
        color=alt.Color("status_label:N", title=status_title,
                        scale=alt.Scale(domain=[status_labels[s] for s in present],
                                        range=[PALETTE.get(s, "#555") for s in present])),
        shape=alt.Shape("status_label:N", title=status_title,
                        scale=alt.Scale(domain=[status_labels[s] for s in present],
                                        range=[shapes.get(s, "circle") for s in present])))
    chart = alt.layer(line, points).properties(width=190, height=120).facet(
        facet=alt.Facet("panel:N", title=None, header=alt.Header(labelFontSize=11, labelLimit=190)),
        columns=columns).resolve_scale(y="independent").properties(title=alt.Title(title, subtitle=[note]))
    return _render(chart, lang, chart_id, title, note)
