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
    subject = Subject(_kinds_as_text(definition))
    seen = set(problems)
    for rule in RULES:
        for problem in rule(subject):
            if problem not in seen:
                seen.add(problem)
                problems.append(problem)
    return problems


def _lintable(definition: Any) -> bool:
    """The rules need a mapping with lists of steps (mappings) and connections; the schema
    says the rest."""
    return (
        isinstance(definition, dict)
        and isinstance(definition.get("steps", []), list)
        and isinstance(definition.get("connections", []), list)
        and all(isinstance(s, dict) for s in definition.get("steps", []))
    )


def _kinds_as_text(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition with a step's kind that is not text (left empty: `kind:`) as "":
    the schema has said what is wrong with it, and the rules still check the rest."""
    steps = definition.get("steps", [])
    if all(isinstance(s.get("kind", ""), str) for s in steps):
        return definition
    fixed = [s if isinstance(s.get("kind", ""), str) else {**s, "kind": ""} for s in steps]
    return {**definition, "steps": fixed}
