"""The definitions lint, as the editor shows it: problems in plain English, by step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" or "warning"
    message: str
    step_id: str = ""
    field: str = ""
    code: str = ""
    step_label: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def _get(problem: Any, *names: str) -> str:
    for name in names:
        value = problem.get(name) if isinstance(problem, dict) else getattr(problem, name, None)
        if value not in (None, ""):
            return str(getattr(value, "value", value))
    return ""


def problems(definition: dict[str, Any]) -> list[Problem]:
    """Lint the definition with the engine's own `validate`; errors first."""
    from orchestration.definitions.lint import validate

    labels = {s.get("id"): s.get("label") or s.get("id") for s in definition.get("steps") or []
              if isinstance(s, dict)}
    found = []
    for raw in validate(definition):
        severity = _get(raw, "severity", "level").lower() or "error"
        step_id = _get(raw, "step_id", "step")
        found.append(
            Problem(
                severity="warning" if severity.startswith("warn") else "error",
                message=_get(raw, "message", "text") or str(raw),
                step_id=step_id,
                field=_get(raw, "field", "path"),
                code=_get(raw, "code"),
                step_label=str(labels.get(step_id) or step_id),
            )
        )
    return sorted(found, key=lambda p: (not p.is_error, p.step_id))


def context(found: list[Problem]) -> dict[str, Any]:
    """What the problems panel and the canvas markers need."""
    worst: dict[str, str] = {}
    for problem in found:
        if problem.step_id and worst.get(problem.step_id) != "error":
            worst[problem.step_id] = problem.severity
    return {
        "problems": found,
        "error_count": sum(p.is_error for p in found),
        "warning_count": sum(not p.is_error for p in found),
        "has_errors": any(p.is_error for p in found),
        "problem_steps": [{"step": step, "severity": sev} for step, sev in worst.items()],
    }
