"""Crosswalk to ICCS, vintages, hierarchy residuals, annual and national totals, population, rates."""

from pipelines.harmonise.engine import HarmoniseError, harmonise  # noqa: F401
