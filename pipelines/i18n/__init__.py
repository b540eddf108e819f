"""Languages of hemistat, defined once: the four official languages of the OAS.

* ``LANGUAGES`` / ``DEFAULT_LANGUAGE`` — the only definition of the language list in ``pipelines/``
  (``tests/i18n`` fails if another tuple or list of the four codes appears).
* ``catalogues`` — every message catalogue is read once per process and checked when it loads (every key
  in every language, the same ``{placeholders}``): the portal's ``reference/i18n/{lang}.json`` and the
  problem catalogue ``quality_rules/messages/problems.yaml`` (key -> {en, es, pt, fr}); ``Translator``.
* ``negotiation`` — the language of a request with Babel (``?lang=`` > cookie > the user's saved
  preference > ``Accept-Language`` > English).
* ``formatting`` — numbers, percentages and dates with Babel (CLDR), and the Jinja filters ``number``,
  ``decimal``, ``percent`` and ``date`` that read ``lang`` from the template's context.

Locales used for formatting (``LOCALES``, in ``languages.py``): ``es`` is CLDR's generic Spanish (``1.284.936``, decimal comma),
the usage of most Spanish-speaking OAS members (Argentina, Chile, Colombia, Venezuela, Uruguay, Paraguay,
Bolivia, Ecuador…) and of the Spanish texts of the OAS; ``es_419`` (Latin American Spanish in CLDR) would
write ``1,284,936`` as Mexico and Central America do, so it is not used. ``pt`` is ``pt_BR`` (Brazil is
the Portuguese-speaking member; the same figures as CLDR ``pt``). ``fr`` is CLDR French (narrow
no-break space between thousands: ``1 284 936``; Haiti and Canada's French texts). ``en`` is ``en``
(``1,284,936``).
"""

from __future__ import annotations

from pipelines.i18n.languages import DEFAULT_LANGUAGE, LANG_COOKIE, LANGUAGES, LOCALES
from pipelines.i18n.catalogues import (
    Translator,
    check_catalogues,
    load_catalogues,
    load_problem_catalogue,
    placeholders,
)
from pipelines.i18n.formatting import (
    format_date,
    format_datetime,
    format_decimal,
    format_number,
    format_percent,
    register_jinja_filters,
)
from pipelines.i18n.negotiation import negotiate, parse_accept_language

__all__ = [
    "DEFAULT_LANGUAGE", "LANGUAGES", "LANG_COOKIE", "LOCALES", "Translator", "check_catalogues", "format_date",
    "format_datetime",
    "format_decimal", "format_number", "format_percent", "load_catalogues", "load_problem_catalogue",
    "negotiate", "parse_accept_language", "placeholders", "register_jinja_filters",
]
