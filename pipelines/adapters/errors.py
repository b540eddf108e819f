"""Errors raised while reading a national file. Each names the file, line, column and rule."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Problem:
    file: str
    line: int | None
    column: str | None
    rule: str
    message: str
    value: str | None = None

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
                "message": self.message, "value": self.value}


@dataclass
class SubmissionError(Exception):
    """The file cannot be turned into the standard table. Nothing downstream is touched."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        n = len(self.problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:20])
        more = f"\n  … and {n - 20} more" if n > 20 else ""
        return f"{n} problem(s) in the submitted file:\n{shown}{more}"
