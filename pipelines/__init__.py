"""hemistat: comparable crime and violence statistics for the OAS Inter-American Network.

Domain packages (adapters, contracts, harmonise, quality, storage) never import Dagster;
the Dagster layer lives in ``pipelines/defs`` and ``pipelines/definitions.py`` only.
"""

__version__ = "0.1.0"
