"""Dagster layer: the only place (with pipelines/definitions.py) that imports dagster."""
