"""Numbers, percentages and dates in the reader's language, with Babel (CLDR data; see ``LOCALES`` in
``pipelines/i18n/__init__.py`` for the locale of each language). ``None`` and ``""`` give ``""``; a value
that is not a number (or a date) is shown as it is."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pipelines.i18n.languages import DEFAULT_LANGUAGE, LOCALES


def _locale(lang: str | None) -> str:
    return LOCALES.get(lang or DEFAULT_LANGUAGE, LOCALES[DEFAULT_LANGUAGE])


def _num(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, str):
        try:
            return int(value) if value.strip().lstrip("-").isdigit() else float(value)
        except ValueError:
            return None
    return None


def format_number(value, lang: str | None = DEFAULT_LANGUAGE) -> str:
    """A count or measure with the language's grouping and decimal signs (en 1,284,936; es 1.284.936;
    fr 1 284 936); up to three decimals."""
    from babel import numbers

    if value is None or value == "":
        return ""
    n = _num(value)
    if n is None:
        return str(value)
    try:
        return numbers.format_decimal(n, locale=_locale(lang))
    except ArithmeticError:   # beyond Babel's decimal precision (a count of 1e30 in a hostile file), NaN, inf
        return _too_big(n)


def _too_big(n) -> str:
    """A number Babel cannot format: scientific notation, the same in every language (1e+30, inf, nan)."""
    return f"{float(n):.6g}"


def format_decimal(value, lang: str | None = DEFAULT_LANGUAGE, digits: int = 1) -> str:
    """A number with exactly ``digits`` decimals (rates: es 12,5; en 12.5)."""
    from babel import numbers

    if value is None or value == "":
        return ""
    n = _num(value)
    if n is None:
        return str(value)
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    try:
        return numbers.format_decimal(n, format=pattern, locale=_locale(lang), decimal_quantization=True)
    except ArithmeticError:
        return _too_big(n)


def format_percent(value, lang: str | None = DEFAULT_LANGUAGE, digits: int = 0) -> str:
    """A share (0.125) as a percentage in the language's own pattern (en 12.5%, es 12,5 %), rounded to
    ``digits`` decimals (trailing zeros dropped)."""
    from babel import numbers

    if value is None or value == "":
        return ""
    n = _num(value)
    if n is None:
        return str(value)
    try:
        return numbers.format_percent(round(float(n), digits + 2), locale=_locale(lang), decimal_quantization=False)
    except (ArithmeticError, ValueError, OverflowError):
        return _too_big(n)


def _date(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value else dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def format_date(value, lang: str | None = DEFAULT_LANGUAGE, format: str = "medium") -> str:
    """A date (or an ISO 8601 text) in the language's words: medium en "Mar 5, 2024", es "5 mar 2024",
    pt "5 de mar. de 2024", fr "5 mars 2024"; long es "5 de marzo de 2024"."""
    from babel import dates

    if value is None or value == "":
        return ""
    d = _date(value)
    if d is None:
        return str(value)
    if isinstance(d, dt.datetime):
        d = d.date()
    return dates.format_date(d, format=format, locale=_locale(lang))


def format_datetime(value, lang: str | None = DEFAULT_LANGUAGE) -> str:
    """A moment (or an ISO 8601 text, ``T`` or a space between date and time) as date and time in the language's
    words, in UTC: es "30 nov 2026, 12:24", en "Nov 30, 2026, 12:24 PM"; a date alone is ``format_date``."""
    from babel import dates

    if value is None or value == "":
        return ""
    d = _date(value.replace(" ", "T", 1) if isinstance(value, str) and len(value) > 10 else value)
    if d is None:
        return str(value)
    if not isinstance(d, dt.datetime):
        return format_date(d, lang)
    if d.tzinfo is not None:
        d = d.astimezone(dt.timezone.utc).replace(tzinfo=None)
    loc = _locale(lang)
    return f"{dates.format_date(d, format='medium', locale=loc)}, {dates.format_time(d, format='short', locale=loc)}"


def register_jinja_filters(env) -> None:
    """``{{ n|number }}``, ``{{ x|decimal(2) }}``, ``{{ s|percent }}``, ``{{ d|date }}`` in the language of
    the page (the template's ``lang`` variable, else English)."""
    from jinja2 import pass_context

    def _lang(ctx) -> str:
        return ctx.get("lang") or DEFAULT_LANGUAGE

    env.filters["number"] = pass_context(lambda ctx, v: format_number(v, _lang(ctx)))
    env.filters["decimal"] = pass_context(lambda ctx, v, digits=1: format_decimal(v, _lang(ctx), digits))
    env.filters["percent"] = pass_context(lambda ctx, v, digits=0: format_percent(v, _lang(ctx), digits))
    env.filters["date"] = pass_context(lambda ctx, v, format="medium": format_date(v, _lang(ctx), format))
    env.filters["datetime"] = pass_context(lambda ctx, v: format_datetime(v, _lang(ctx)))
