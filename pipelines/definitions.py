"""Dagster code location for hemistat (workspace.yaml, pyproject [tool.dg]): the definitions live in
pipelines/defs/definitions.py, beside the assets, jobs, sensors and schedules they gather."""

from pipelines.defs.definitions import defs  # noqa: F401
