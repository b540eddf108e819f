"""Matching each demand of the survey to the catalogue's offers, and the gap report (issue 16 item 4; DOMAIN.md 4.4).

The score of (demand d, offer c) is a transparent weighted sum, every part published (``course_matches``):

    score = w_topic·topic + w_language·language + w_audience·audience + w_modality·modality + w_period·period
            + w_eligibility·eligibility

with the weights and part values of ``reference/survey/matching.yaml`` (topic 1 same topic, 0.5 same MISPA pillar
only; language 1 when d's language is one of c's; audience 1 when d's audience is one of c's; modality 1 same or
'any', 0.5 blended against onsite/online; period 1 overlap or no period asked, 0.5 undated offer; eligibility 1 when
d's country may take c). Hard filters: a mandatory language c lacks, or a country c excludes, sets ``excluded_by``
and the score to 0.

A (country, topic) demand is **covered** when an offer with its own topic scores at least the threshold (0.5);
**partly** when only an offer of the same MISPA pillar does; **unmet** otherwise (an offer on another pillar never
covers a demand, whatever its language, audience or dates). The gap report (``course_gaps``) has one row per country and
topic demanded: demands, people, highest priority, best score and offer, status, and where a course on that
topic already exists in *another* country (catalogue offers with a host country, and the survey's
``existing_course`` answers) — "courses that exist in one country and are demanded by another".
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from pipelines import yamlio
from pipelines.knowledge import catalogue, codes, survey

PARTS = ("topic", "language", "audience", "modality", "period", "eligibility")

MATCH_COLUMNS = ["response_id", "country_iso3", "topic", "course_id", "course_kind", "course_sample", "demand_sample",
                 *[f"{p}_part" for p in PARTS], *[f"{p}_weight" for p in PARTS], "excluded_by", "score", "rank"]

GAP_COLUMNS = ["country_iso3", "mispa_pillar", "topic", "demands", "people", "max_priority", "languages",
               "best_score", "best_course_id", "best_same_topic_score", "best_same_topic_course_id", "status",
               "offers_same_topic", "exists_elsewhere", "exists_elsewhere_countries", "exists_in_country", "sample"]


def weights(settings) -> dict:
    return yamlio.load((Path(settings.reference_dir) / "survey" / "matching.yaml").read_text("utf-8"))


def _d(v) -> date | None:
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NaT:
        return None
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v)[:10])
    except ValueError:
        return None


def parts(demand: dict, offer: dict, pillar_of: dict, cfg: dict) -> tuple[dict, str | None]:
    """The six parts (each in [0, 1]) for one demand and one offer, and the hard filter that excludes it, if any."""
    pv = cfg["parts"]
    topic = 1.0 if demand["topic"] in offer["topics"] else (
        float(pv["topic_same_pillar"]) if pillar_of.get(demand["topic"]) in offer["mispa_pillars"] else 0.0)
    language = 1.0 if demand["language"] in offer["languages"] else 0.0
    audience = 1.0 if demand["audience"] in offer["audience"] else 0.0
    dm, om = demand["modality"], offer["modality"]
    modality = 1.0 if (dm == "any" or dm == om) else (float(pv["modality_blended"]) if "blended" in (dm, om) else 0.0)
    ps, pe = _d(demand.get("period_start")), _d(demand.get("period_end"))
    cs, ce = _d(offer.get("start_date")), _d(offer.get("end_date"))
    if ps is None and pe is None:
        period = 1.0
    elif cs is None and ce is None:
        period = float(pv["period_undated"])
    else:
        lo, hi = cs or ce, ce or cs
        period = 1.0 if (lo <= (pe or date.max) and hi >= (ps or date.min)) else 0.0
    elig = offer.get("eligible_countries")
    eligibility = 1.0 if elig is None or (not isinstance(elig, float) and demand["country_iso3"] in list(elig)) else 0.0
    excluded = None
    hf = cfg.get("hard_filters") or {}
    if hf.get("language_when_mandatory") and _true(demand.get("language_mandatory")) and language == 0:
        excluded = "language"
    elif hf.get("eligibility") and eligibility == 0:
        excluded = "eligibility"
    return {"topic": topic, "language": language, "audience": audience, "modality": modality, "period": period,
            "eligibility": eligibility}, excluded


def _true(v) -> bool:
    try:
        return bool(v) and not pd.isna(v)
    except (TypeError, ValueError):
        return False


def score(p: dict, w: dict) -> float:
    return round(sum(float(w[k]) * p[k] for k in PARTS), 4)


def match(settings, demands: pd.DataFrame, courses: pd.DataFrame) -> pd.DataFrame:
    """``course_matches``: one row per (demand, offer), every part and weight, the score and the rank of the offer
    for the demand (1 = best; excluded pairs are not ranked)."""
    cfg = weights(settings)
    w = cfg["weights"]
    pillar_of = codes.pillar_of(settings)
    rows = []
    offers = courses.to_dict("records")
    for d in demands[demands["kind"] == "demand"].to_dict("records"):
        for c in offers:
            p, excluded = parts(d, c, pillar_of, cfg)
            rows.append({"response_id": d["response_id"], "country_iso3": d["country_iso3"], "topic": d["topic"],
                         "course_id": c["course_id"], "course_kind": c["kind"], "course_sample": bool(c["sample"]),
                         "demand_sample": bool(d["sample"]),
                         **{f"{k}_part": p[k] for k in PARTS}, **{f"{k}_weight": float(w[k]) for k in PARTS},
                         "excluded_by": excluded, "score": 0.0 if excluded else score(p, w)})
    df = pd.DataFrame(rows, columns=[c for c in MATCH_COLUMNS if c != "rank"])
    if len(df):
        ok = df["excluded_by"].isna()
        df["rank"] = pd.Series(pd.NA, index=df.index, dtype="Int64")
        df.loc[ok, "rank"] = (df[ok].sort_values(["score", "course_id"], ascending=[False, True])
                              .groupby("response_id").cumcount() + 1).astype("Int64")
    else:
        df["rank"] = pd.Series(dtype="Int64")
    return df.sort_values(["response_id", "rank", "course_id"], na_position="last").reset_index(drop=True)


def gaps(settings, demands: pd.DataFrame, courses: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    """``course_gaps``: one row per (country, topic) demanded (see the module's docstring)."""
    cfg = weights(settings)
    threshold = float(cfg["coverage"]["threshold"])
    must = bool(cfg["coverage"].get("topic_must_match", True))
    pillar_of = codes.pillar_of(settings)
    exist = catalogue.existing_offers(courses, demands)
    dem = demands[demands["kind"] == "demand"]
    rows = []
    for (country, topic), g in dem.groupby(["country_iso3", "topic"], sort=True):
        m = matches[matches["response_id"].isin(g["response_id"]) & matches["excluded_by"].isna()]
        best = m.sort_values(["score", "course_id"], ascending=[False, True]).head(1)
        same = m[m["topic_part"] == 1.0].sort_values(["score", "course_id"], ascending=[False, True]).head(1)
        pillar = m[m["topic_part"] > 0].sort_values(["score", "course_id"], ascending=[False, True]).head(1)
        best_score = float(best["score"].iloc[0]) if len(best) else 0.0
        same_score = float(same["score"].iloc[0]) if len(same) else 0.0
        pillar_score = float(pillar["score"].iloc[0]) if len(pillar) else 0.0
        if same_score >= threshold or (best_score >= threshold and not must):
            status = "covered"
        elif pillar_score >= threshold:
            status = "partly"      # only an offer of the same MISPA pillar reaches the threshold
        else:
            status = "unmet"
        elsewhere = exist[(exist["topic"] == topic) & (exist["country_iso3"] != country)]
        here = exist[(exist["topic"] == topic) & (exist["country_iso3"] == country)]
        rows.append({
            "country_iso3": country, "mispa_pillar": pillar_of.get(topic), "topic": topic,
            "demands": int(len(g)), "people": int(pd.to_numeric(g["people"], errors="coerce").fillna(0).sum()),
            "max_priority": int(pd.to_numeric(g["priority"], errors="coerce").max()) if g["priority"].notna().any() else None,
            "languages": sorted(set(g["language"].dropna())),
            "best_score": best_score, "best_course_id": best["course_id"].iloc[0] if len(best) else None,
            "best_same_topic_score": same_score,
            "best_same_topic_course_id": same["course_id"].iloc[0] if len(same) else None,
            "status": status,
            "offers_same_topic": int(sum(topic in c for c in courses["topics"])),
            "exists_elsewhere": sorted(set(elsewhere["what"])),
            "exists_elsewhere_countries": sorted(set(elsewhere["country_iso3"])),
            "exists_in_country": sorted(set(here["what"])),
            "sample": bool(g["sample"].all()),
        })
    out = pd.DataFrame(rows, columns=GAP_COLUMNS)
    out["max_priority"] = pd.to_numeric(out["max_priority"], errors="coerce").astype("Int64")
    return out


def gap_summary(gaps_df: pd.DataFrame) -> pd.DataFrame:
    """Unmet and partly met demand by topic (all countries): the chart's data and its table alternative."""
    g = gaps_df[gaps_df["status"] != "covered"]
    if not len(g):
        return pd.DataFrame(columns=["topic", "status", "countries", "demands", "people"])
    return (g.groupby(["topic", "status"], as_index=False)
            .agg(countries=("country_iso3", lambda s: ", ".join(sorted(s))), demands=("demands", "sum"),
                 people=("people", "sum"))
            .sort_values(["demands", "topic"], ascending=[False, True]).reset_index(drop=True))


def chart_svg(settings, gaps_df: pd.DataFrame, lang: str = "en") -> str:
    """Unmet and partly met demands by topic and country, as SVG (Altair -> vl-convert, offline), with title,
    axis labels and the source note in ``lang``."""
    import altair as alt
    import vl_convert as vlc

    from pipelines.i18n import Translator, load_catalogues

    t = Translator(load_catalogues(Path(settings.reference_dir)), lang)
    topics = codes.topics(settings)
    g = gaps_df[gaps_df["status"] != "covered"].copy()
    g["topic_label"] = [codes.label(topics, "topic", x, lang) for x in g["topic"]]
    g["status_label"] = [t(f"catalogue.status.{s}") for s in g["status"]]
    sample = bool(len(g) and g["sample"].all())
    note = [t("catalogue.chart.source")] + ([t("catalogue.chart.sample")] if sample else [])
    if not len(g):
        g = pd.DataFrame({"topic_label": [], "demands": [], "people": [], "country_iso3": [], "status_label": []})
    top = int(g.groupby("topic_label")["demands"].sum().max()) if len(g) else 1   # whole-number ticks 0..top
    chart = (alt.Chart(g)
             .mark_bar()
             .encode(y=alt.Y("topic_label:N", sort="-x", title=t("catalogue.chart.topic"), axis=alt.Axis(labelLimit=320, titlePadding=14)),
                     x=alt.X("sum(demands):Q", title=t("catalogue.chart.demands"),
                             axis=alt.Axis(values=list(range(0, top + 1)), format="d")),
                     color=alt.Color("country_iso3:N", title=t("catalogue.chart.country")),
                     opacity=alt.Opacity("status_label:N", title=t("catalogue.chart.status"),
                                         scale=alt.Scale(range=[1.0, 0.55]), legend=alt.Legend(labelLimit=300)),
                     tooltip=["topic_label:N", "country_iso3:N", "status_label:N", "demands:Q", "people:Q"])
             .properties(width=520, height=max(120, 28 * g["topic_label"].nunique()),
                         title=alt.TitleParams(t("catalogue.chart.title"), subtitle=note, anchor="start"),
                         padding={"left": 12, "right": 12, "top": 6, "bottom": 6})
             # text measured and drawn with the same font (DejaVu Sans, common on servers and Linux desktops)
             .configure(font="DejaVu Sans"))
    return vlc.vegalite_to_svg(chart.to_json())


def build(settings, courses: pd.DataFrame, answers: pd.DataFrame) -> dict[str, pd.DataFrame]:
    demands = survey.demands_table(answers, settings)
    m = match(settings, demands, courses)
    return {"course_demands": demands, "course_matches": m, "course_gaps": gaps(settings, demands, courses, m)}
