from __future__ import annotations

import dagster as dg

from pipelines.defs.assets import harmonised_indicators, published_warehouse, raw_table, validated_table

ingest_job = dg.define_asset_job(
    "ingest_submission", selection=dg.AssetSelection.assets(raw_table, validated_table),
    description="landing -> raw -> validated for one submission (one dynamic partition).")
publish_job = dg.define_asset_job(
    "publish_warehouse", selection=dg.AssetSelection.assets(harmonised_indicators, published_warehouse),
    description="validated -> harmonised -> published (one atomic release).")
