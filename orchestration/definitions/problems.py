"""Problems found in a flow definition, and the error that carries them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding. Errors block publishing; warnings do not."""

    severity: Severity
    code: str
    message: str
    step_id: str | None = None
    connection: int | None = None
    field: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        return f"{self.step_id}: {self.message}" if self.step_id else self.message


def error(code: str, message: str, **where: object) -> Problem:
    return Problem("error", code, message, **where)  # type: ignore[arg-type]


def warning(code: str, message: str, **where: object) -> Problem:
    return Problem("warning", code, message, **where)  # type: ignore[arg-type]


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(problem.is_error for problem in problems)


class DefinitionError(ValueError):
    """A definition (or YAML file) that cannot be used; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems
