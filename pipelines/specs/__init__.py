"""Typed configuration, checked when it loads: source specs (``source``), crosswalk rows (``crosswalk``).

Every model forbids unknown keys and fails with the file, the field and the reason (``errors``). The
settings are typed in ``pipelines/settings.py``; the rule parameters in ``pipelines/quality/params.py``.
"""

from pipelines.specs.source import (Layout, SourceSpec, check_all_specs, load_all_specs, load_spec,
                                    scope_by)

__all__ = ["Layout", "SourceSpec", "check_all_specs", "load_all_specs", "load_spec", "scope_by"]
