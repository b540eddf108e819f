"""Errors raised while reading a national file. Each names the file, line, column and rule.

A problem is reported as a catalogue ``key`` plus ``params`` (``pipelines/adapters/messages.py``,
``quality_rules/messages/problems.yaml``); ``message`` is filled with the English rendering so that
every reader of ``message`` keeps working, and ``render(lang)`` gives it in es/pt/fr.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.adapters.messages import render as _render


@dataclass
class Problem:
    file: str
    line: int | None
    column: str | None
    rule: str
    message: str = ""
    value: str | None = None
    key: str | None = None
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.params is None:
            self.params = {}
        if self.key:
            self.message = _render(self.key, self.params, "en", fallback=self.message or self.key)

    def render(self, lang: str = "en") -> str:
        """The message in ``lang`` (en/es/pt/fr), English when the catalogue lacks it."""
        if not self.key:
            return self.message
        return _render(self.key, self.params, lang, fallback=self.message)

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column:
            where += f", column '{self.column}'"
        val = f" (value {self.value!r})" if self.value is not None else ""
        return f"{where}: [{self.rule}] {self.message}{val}"

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "rule": self.rule,
                "message": self.message, "value": self.value, "key": self.key, "params": dict(self.params)}


@dataclass
class SubmissionError(Exception):
    """The file cannot be turned into the standard table. Nothing downstream is touched."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        n = len(self.problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:20])
        more = f"\n  … and {n - 20} more" if n > 20 else ""
        return f"{n} problem(s) in the submitted file:\n{shown}{more}"
