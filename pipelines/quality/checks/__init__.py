"""One module per rule family, mirroring ``quality_rules/<family>.yaml``: each check registers itself
(``pipelines.quality.registry.check``) under the name rules give in ``check:``. Importing this package
registers them all."""

from pipelines.quality.checks import (  # noqa: F401
    accuracy,
    classification,
    completeness,
    consistency,
    metadata,
    plausibility,
    revisions,
    structure,
    timeliness,
    validity,
)
