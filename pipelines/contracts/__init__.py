"""Table contracts of each layer (pandera models) and the submission manifest. No Dagster here."""

from pipelines.contracts.tables import (  # noqa: F401
    HARMONISED_COLUMNS,
    MEASURES,
    OBS_STATUS,
    RAW_COLUMNS,
    SEXES,
    UNITS,
    HarmonisedSchema,
    RawSchema,
    validate_layer,
)
