"""Numbers and dates in the reader's language, with Babel (CLDR): exact strings per language."""

from __future__ import annotations

import datetime as dt

import pytest
from jinja2 import Environment

from pipelines.i18n import LANGUAGES, format_date, format_decimal, format_number, format_percent, register_jinja_filters

NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize("lang,expected", [
    ("en", "1,284,936"), ("es", "1.284.936"), ("pt", "1.284.936"), ("fr", f"1{NNBSP}284{NNBSP}936"),
])
def test_number(lang, expected):
    assert format_number(1284936, lang) == expected
    assert format_number("1284936", lang) == expected


@pytest.mark.parametrize("lang,expected", [("en", "1,234.50"), ("es", "1.234,50"), ("pt", "1.234,50"),
                                           ("fr", f"1{NNBSP}234,50")])
def test_decimal(lang, expected):
    assert format_decimal(1234.5, lang, 2) == expected


@pytest.mark.parametrize("lang,expected", [("en", "12.5%"), ("es", f"12,5{NBSP}%"), ("pt", "12,5%"),
                                           ("fr", f"12,5{NBSP}%")])
def test_percent(lang, expected):
    assert format_percent(0.125, lang, 1) == expected


@pytest.mark.parametrize("lang,medium,long", [
    ("en", "Mar 5, 2024", "March 5, 2024"),
    ("es", "5 mar 2024", "5 de marzo de 2024"),
    ("pt", "5 de mar. de 2024", "5 de março de 2024"),
    ("fr", "5 mars 2024", "5 mars 2024"),
])
def test_date(lang, medium, long):
    assert format_date(dt.date(2024, 3, 5), lang) == medium
    assert format_date("2024-03-05", lang) == medium
    assert format_date("2024-03-05T23:10:00+00:00", lang, "long") == long


def test_empty_and_unreadable_values():
    for f in (format_number, format_decimal, format_percent, format_date):
        assert f(None, "es") == "" and f("", "es") == ""
    assert format_number("n/a", "es") == "n/a" and format_date("not a date", "fr") == "not a date"
    assert format_number(1284936, "xx") == "1,284,936"   # an unknown language: English


def test_jinja_filters_follow_the_page_language():
    env = Environment()
    register_jinja_filters(env)
    tpl = env.from_string("{{ n|number }} | {{ x|decimal(1) }} | {{ s|percent }} | {{ d|date }} | {{ d|date('long') }}")
    out = {lang: tpl.render(lang=lang, n=1284936, x=3.25, s=0.5, d="2024-03-05") for lang in LANGUAGES}
    assert out["es"] == "1.284.936 | 3,2 | 50\u00a0% | 5 mar 2024 | 5 de marzo de 2024"
    assert out["en"] == "1,284,936 | 3.2 | 50% | Mar 5, 2024 | March 5, 2024"
    assert tpl.render(n=1284936, x=1, s=1, d="2024-03-05").startswith("1,284,936 | ")   # no lang: English


def test_numbers_beyond_babels_precision_never_raise():
    """A hostile file's count of 10^30 (and inf, NaN) is written, not a crash of the verdict (issue 14)."""
    from pipelines.i18n.formatting import format_decimal, format_number, format_percent

    for lang in ("en", "es", "pt", "fr"):
        assert format_number(1e30, lang) == "1e+30"
        assert format_decimal(2.68716190128958e27, lang, 1) == "2.68716e+27"
        assert format_number(float("inf"), lang) in ("inf", "∞")
        assert "NaN" in format_percent(float("nan"), lang) or format_percent(float("nan"), lang) == "nan"
    assert format_number(1284936, "es") == "1.284.936"
