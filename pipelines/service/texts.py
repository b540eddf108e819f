"""Texts of the portal that come from the pipeline's own words: a submission's history lines and the sources'
titles, in the reader's language (``reference/i18n/*.json``)."""

from __future__ import annotations

import re

from pipelines.i18n import Translator, format_number


# the details the pipeline writes into a submission's history (English, stable: pipeline/validate.py, review.py,
# publish.py, corrections.py, portal.py) -> a catalogue key and its parameters, so the history reads in the page's
# language; a detail that matches none (a reviewer's own comment) is shown as written
_HOLD = "awaiting publication approval by a reviewer"
_EVENTS = [
    (re.compile(r"warnings to acknowledge: (?P<rules>.+)"), "ev_warnings"),
    (re.compile(re.escape(_HOLD)), "ev_hold"),
    (re.compile(r"in release (?P<release>\S+)"), "ev_in_release"),
    (re.compile(r"every cell replaced by a newer submission: (?P<ids>.+)"), "ev_superseded"),
    (re.compile(r"withdrawn: (?P<reason>.*)", re.S), "ev_withdrawn"),
    (re.compile(r"publication refused: (?P<comment>.*)", re.S), "ev_refused"),
    (re.compile(r"reprocess: read again with the current spec and crosswalk"), "ev_reprocess"),
    (re.compile(r"(?P<n>\d+) cells"), "ev_cells"),
    (re.compile(r"rows of another country than (?P<country>[A-Z]{3})"), "ev_other_country"),
]
_RULE_ROWS = re.compile(r"(?P<rule>[A-Z]+\d*): (?:(?P<n>\d+) row\(s\)|(?P<err>the rule could not be evaluated.*))")


def event_text(t: Translator, detail: str | None) -> str:
    """A history line of a submission in ``t``'s language (see ``_EVENTS``)."""
    if not detail:
        return ""
    m = re.fullmatch(r"acknowledged (?P<rules>[A-Z0-9, ]+): (?P<reason>.*?)(?P<hold>; " + re.escape(_HOLD) + ")?",
                     detail, re.S)
    if m:
        text = t("ev_acknowledged", rules=m["rules"], reason=m["reason"])
        return text + ("; " + t("ev_hold") if m["hold"] else "")
    for rx, key in _EVENTS:
        m = rx.fullmatch(detail)
        if m:
            params = m.groupdict()
            if "n" in params:
                params["n"] = format_number(int(params["n"]), t.lang)
            return t(key, **params)
    parts = detail.split("; ")
    if all(_RULE_ROWS.fullmatch(p) for p in parts):   # a rejection: "S1: 3 row(s); C1: the rule could not …"
        out = []
        for p in parts:
            m = _RULE_ROWS.fullmatch(p)
            out.append(t("ev_rule_not_evaluated", rule=m["rule"]) if m["err"]
                       else t("ev_rule_rows", rule=m["rule"], n=format_number(int(m["n"]), t.lang)))
        return "; ".join(out)
    return detail


def source_title(t: Translator, source_id: str, fallback: str | None = None) -> str:
    """A source's title in ``t``'s language (catalogue ``source_title_<id>``), else the spec's own title."""
    key = "source_title_" + source_id
    text = t(key)
    return fallback or source_id if text == key else text
