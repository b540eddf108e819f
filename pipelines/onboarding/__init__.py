"""Onboarding a new national format without code: the codes a file uses that lack a crosswalk row
(``unmapped``) with ICCS suggestions ranked by the classification's own definitions (``iccs_suggest``)."""
