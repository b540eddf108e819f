"""Tables published in the same atomic release as the indicators, built by other parts of the product
(comparable values and coverage, practices, the training catalogue, the Voluntary Fund …).

Each provider is named ``"module:function"`` in ``PROVIDERS``; the function takes the settings and the tables
already planned for the release (name -> DataFrame or Parquet path: ``indicators``, ``submissions``, the
quality tables …) and returns more of them (name -> DataFrame or Parquet path). Names must be new: a provider
never replaces a table another one made. A provider that fails fails the publish (nothing is half published).
"""

from __future__ import annotations

import importlib

from pipelines.settings import Settings

PROVIDERS: tuple[str, ...] = (
    "pipelines.publication.comparable:tables",                 # comparable, coverage, regional (issue 15)
    "pipelines.knowledge.practices:publish_tables",            # practices, studies, ratings (issue 16)
    "pipelines.knowledge.catalogue_tables:published_tables",   # courses, demands, matches, gaps, fund (issue 16)
)


def extra_tables(settings: Settings, tables: dict) -> dict:
    out: dict = {}
    for spec in PROVIDERS:
        module, _, name = spec.partition(":")
        made = getattr(importlib.import_module(module), name)(settings, {**tables, **out})
        clash = sorted(set(made) & (set(tables) | set(out)))
        if clash:
            raise ValueError(f"published table(s) {clash} made twice (provider {spec})")
        out.update(made)
    return out
