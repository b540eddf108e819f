"""The checks mirror the rule files: every check a rule in ``quality_rules/<family>.yaml`` names is registered
by ``pipelines/quality/checks/<family>.py``, once, and every registered check is used by a rule and has a
typed parameter model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.quality import engine  # noqa: F401 (registers the checks)
from pipelines.quality.params import MODELS
from pipelines.quality.registry import CHECKS, PROBLEM_CHECKS, check

RULES = Path(__file__).resolve().parents[2] / "quality_rules"


def _checks_by_family() -> dict[str, set[str]]:
    return {f.stem: set(re.findall(r"^\s*check:\s*(\w+)", f.read_text("utf-8"), re.M))
            for f in sorted(RULES.glob("*.yaml"))}


def test_each_check_lives_in_the_module_of_its_rule_family():
    registered = {**CHECKS, **PROBLEM_CHECKS}
    misplaced = {name: (fam, registered[name].__module__) for fam, names in _checks_by_family().items()
                 for name in names
                 if name not in registered or registered[name].__module__ != f"pipelines.quality.checks.{fam}"}
    assert not misplaced, misplaced


def test_every_registered_check_is_used_and_typed():
    used = set().union(*_checks_by_family().values())
    assert set(CHECKS) | set(PROBLEM_CHECKS) == used
    assert set(CHECKS) | set(PROBLEM_CHECKS) <= set(MODELS)


def test_a_check_registered_twice_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        check("value_range")(lambda *a: None)
    assert CHECKS["value_range"].__name__ == "check_value_range"
