"""Quality criteria of the Network: rules as data (quality_rules/*.yaml) -> one engine.

Row and column rules compile to pandera checks (lazy, keeping failure cases); dataset-level and
cross-table rules run as DuckDB SQL with bound parameters; a Great Expectations suite generated from
the same YAML renders the report people read (``gx_suite``). No Dagster here.
"""

from pipelines.quality.engine import QualityContext, RuleResult, evaluate, verdict  # noqa: F401
from pipelines.quality.rules import Rule, load_rules  # noqa: F401
