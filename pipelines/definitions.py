"""Dagster code location for hemistat: loads pipelines/defs and its resources. Nothing else."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.assets import harmonised_indicators, published_warehouse, raw_table, validated_table
from pipelines.defs.jobs import ingest_job, publish_job
from pipelines.defs.resources import HemistatSettings
from pipelines.defs.sensors import landing_sensor, publish_after_ingest

defs = dg.Definitions(
    assets=[raw_table, validated_table, harmonised_indicators, published_warehouse],
    jobs=[ingest_job, publish_job],
    sensors=[landing_sensor, publish_after_ingest],
    resources={"hemistat": HemistatSettings()},
)
