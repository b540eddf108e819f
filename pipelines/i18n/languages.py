"""The languages of hemistat (the four official languages of the OAS), defined once; see ``__init__.py``
for why each language is formatted with the CLDR locale of ``LOCALES``."""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("en", "es", "pt", "fr")
DEFAULT_LANGUAGE = "en"
LOCALES = {"en": "en", "es": "es", "pt": "pt_BR", "fr": "fr"}
LANG_COOKIE = "hemistat_lang"   # the portal's language switcher remembers the choice in this cookie
