"""Watching the publishers: scheduled downloads (``harvest``) and punctuality against declared cadences
(``punctuality``)."""
