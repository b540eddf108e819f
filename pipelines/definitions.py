"""Dagster code location for hemistat (workspace.yaml, pyproject [tool.dg]): the definitions live in
pipelines/defs/definitions.py, beside the assets, jobs, sensors and schedules they gather."""

from pipelines.settings import use_private_umask

use_private_umask()     # the code server and the runs it launches create files 0600 and folders 0700

from pipelines.defs.definitions import defs  # noqa: E402,F401
