"""One validation for every door: import, API, editor and publish.

`validate` returns schema errors plus the semantic lint. Errors block publishing;
warnings are shown but do not.
"""

from __future__ import annotations

from typing import Any

from orchestration.definitions.problems import Problem, has_errors
from orchestration.definitions.rules import Subject, expressions, paths, steps, structure
from orchestration.definitions.schema import schema_problems

RULES = (structure.check, paths.check, steps.check, expressions.check)

__all__ = ["has_errors", "validate"]


def validate(definition: Any) -> list[Problem]:
    """Every problem of the definition: schema first, then each lint rule."""
    problems = schema_problems(definition)
    if not _lintable(definition):
        return problems
    subject = Subject(definition)
    seen = set(problems)
    for rule in RULES:
        for problem in rule(subject):
            if problem not in seen:
                seen.add(problem)
                problems.append(problem)
    return problems


def _lintable(definition: Any) -> bool:
    """The rules need a mapping with lists of steps and connections; the schema says the rest."""
    return (
        isinstance(definition, dict)
        and isinstance(definition.get("steps", []), list)
        and isinstance(definition.get("connections", []), list)
        and all(
            isinstance(s, dict) and isinstance(s.get("kind", ""), str)
            for s in definition.get("steps", [])
        )
    )
