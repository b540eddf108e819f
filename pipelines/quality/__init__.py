"""Quality criteria of the Network: rules as data (quality_rules/*.yaml) -> one engine.

Row and column rules compile to pandera checks (lazy, keeping failure cases); dataset-level and
cross-table rules run as DuckDB SQL with bound parameters. Each check lives in the module of its family
(``checks/<family>.py``, mirroring ``quality_rules/<family>.yaml``) and registers itself in ``registry.py``;
``engine.py`` evaluates the rules and ``results.py`` holds what an evaluation produces. Each rule runs on its own (a rule that raises
is ``error_in_rule``, the others still run). A Great Expectations suite generated from the same YAML
evaluates the rules with a native expectation beside the engine (scorecard ``gx_status``) and builds
GX's Data Docs per submission (``gx_suite``). The report is ``report.py`` + ``templates/report.html``.
No Dagster here.
"""

from pipelines.quality.engine import evaluate, verdict  # noqa: F401
from pipelines.quality.results import QualityContext, RuleResult  # noqa: F401
from pipelines.quality.rules import Rule, load_rules  # noqa: F401
