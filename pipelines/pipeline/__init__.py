"""The pipeline's steps as plain functions (no Dagster), one module per step of the data flow:

``landing`` (a file received is stored, sha256) -> ``ingest`` (landing -> raw: the source's adapter) ->
``validate`` (raw -> validated: contract and quality rules; ``review`` holds and acknowledgements) ->
``harmonise`` (validated -> harmonised: crosswalks to ICCS) -> ``publish`` (harmonised -> published: one
atomic release). ``corrections`` reads submissions again or withdraws them; ``quality_files`` keeps each
submission's rule results.

Dagster assets in ``pipelines/defs`` are thin wrappers around these; the CLI, the portal and tests call
them through this package (``from pipelines import pipeline; pipeline.submit(...)``).
"""

from pipelines.pipeline.corrections import reprocess, withdraw
from pipelines.pipeline.harmonise import harmonise_all, harmonised_quality
from pipelines.pipeline.ingest import StepResult, ingest
from pipelines.pipeline.parallel import ingest_many, validate_many
from pipelines.pipeline.landing import check_release_date, submit
from pipelines.pipeline.publish import publish_all
from pipelines.pipeline.quality_files import quality_dir
from pipelines.pipeline.review import (
           DECIDED,
           HOLD_DETAIL,
           acknowledge,
           failing_warnings,
           needs_approval,
           pipeline_may_set,
)
from pipelines.pipeline.validate import validate
from pipelines.storage.catalog import PUBLISHABLE, accepted_submissions

__all__ = ["DECIDED", "HOLD_DETAIL", "PUBLISHABLE", "StepResult", "accepted_submissions", "acknowledge",
           "check_release_date", "failing_warnings", "harmonise_all", "harmonised_quality", "ingest", "ingest_many",
           "needs_approval", "pipeline_may_set", "publish_all", "quality_dir", "reprocess", "submit", "validate", "validate_many",
           "withdraw"]
