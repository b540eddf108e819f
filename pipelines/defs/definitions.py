"""Dagster code location for hemistat: loads pipelines/defs and its resources. Nothing else."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.assets import harmonised_indicators, published_warehouse, raw_table, validated_table
from pipelines.defs.jobs import ingest_job, publish_job
from pipelines.defs.resources import HemistatSettings
from pipelines.defs.schedules import (expected_delivery_schedules, freshness_job, harvest_job, harvest_schedules,
                                      punctuality_sensor, source_freshness)
from pipelines.defs.sensors import approval_sensor, landing_sensor, publish_pending_sensor
from pipelines.settings import use_private_umask

# the code location (its server and the runs it launches) creates files 0600 and folders 0700 (docs/SECURITY.md)
use_private_umask()

defs = dg.Definitions(
    assets=[raw_table, validated_table, harmonised_indicators, published_warehouse, source_freshness],
    jobs=[ingest_job, publish_job, harvest_job, freshness_job],
    schedules=harvest_schedules() + expected_delivery_schedules(),
    sensors=[landing_sensor, publish_pending_sensor, approval_sensor, punctuality_sensor],
    resources={"hemistat": HemistatSettings()},
)
