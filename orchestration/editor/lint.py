"""The definitions lint, as the editor shows it: problems in plain English, by step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestration.definitions.lint import validate


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" or "warning"
    message: str
    step_id: str = ""
    step_label: str = ""
    field: str = ""
    code: str = ""
    connection: str = ""  # "source->target" when the problem is on a connection

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def problems(definition: dict[str, Any]) -> list[Problem]:
    """Lint the definition with the engine's own `validate`; errors first."""
    steps = [s for s in definition.get("steps") or [] if isinstance(s, dict)]
    conns = [c for c in definition.get("connections") or [] if isinstance(c, dict)]
    labels = {s["id"]: s.get("label") or s["id"] for s in steps if isinstance(s.get("id"), str)}
    found = []
    for raw in validate(definition):
        step_id, connection = raw.step_id or "", ""
        if raw.connection is not None and 0 <= raw.connection < len(conns):
            conn = conns[raw.connection]
            step_id = step_id or str(conn.get("from") or "")
            connection = f"{conn.get('from')}->{conn.get('to')}"
        found.append(
            Problem(
                severity=raw.severity,
                message=_with_labels(raw.message, labels),
                step_id=step_id,
                step_label=str(labels.get(step_id) or step_id),
                field=raw.field or "",
                code=raw.code,
                connection=connection,
            )
        )
    return sorted(found, key=lambda p: not p.is_error)


def _with_labels(message: str, labels: dict[Any, Any]) -> str:
    """“Review invoice” reads better than Step 'review' for people who drew the flow."""
    if "'" not in message:
        return message
    for step_id, label in labels.items():
        for prefix in ("Step ", "step ", ""):
            quoted = f"{prefix}'{step_id}'"
            if quoted in message:
                message = message.replace(quoted, f"“{label}”")
    return message


def context(found: list[Problem]) -> dict[str, Any]:
    """What the problems panel and the canvas markers need."""
    worst: dict[str, str] = {}
    for problem in found:
        for element in (problem.step_id, problem.connection):
            if element and worst.get(element) != "error":
                worst[element] = problem.severity
    return {
        "problems": found,
        "error_count": sum(p.is_error for p in found),
        "warning_count": sum(not p.is_error for p in found),
        "has_errors": any(p.is_error for p in found),
        "problem_steps": [{"step": step, "severity": sev} for step, sev in worst.items()],
    }
