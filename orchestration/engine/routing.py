"""Where a case goes after a step: its connections, conditions, and arrivals at joins."""

from __future__ import annotations

from typing import Any

from orchestration.definitions.catalog import EXCLUSIVE
from orchestration.engine import joins
from orchestration.engine.transition import Transition
from orchestration.expressions import ExpressionError, holds
from orchestration.steps.base import PermanentError


def next_steps(tx: Transition, step: dict[str, Any]) -> list[str]:
    """Targets of the connections to follow out of `step`, in order: one for a step that
    chooses a path, every one for the others (whose conditions the lint calls ignored)."""
    outgoing = tx.graph.outgoing(step["id"])
    if step["kind"] not in EXCLUSIVE:
        return [c["to"] for c in outgoing if not c.get("default")] or [c["to"] for c in outgoing]
    if any(c.get("condition") for c in outgoing):
        context = tx.context()
        for connection in outgoing:
            condition = connection.get("condition")
            if condition and _holds(step["id"], condition, context):
                return [connection["to"]]
    fallback = [c for c in outgoing if c.get("default")] or [
        c for c in outgoing if not c.get("condition")
    ]
    if fallback:
        return [fallback[0]["to"]]
    raise PermanentError(
        f"None of the conditions after step '{step['id']}' matched, and it has no default path."
    )


def _holds(step_id: str, condition: str, context: dict[str, Any]) -> bool:
    try:
        return holds(condition, context)
    except ExpressionError as exc:
        raise PermanentError(
            f"The condition '{condition}' after step '{step_id}' failed: {exc}"
        ) from exc


def arrive(tx: Transition, target_id: str, from_step: str) -> None:
    """The case reaches `target_id` coming from `from_step`."""
    target = tx.step(target_id)
    if target["kind"] == "join":
        joins.arrive(tx, target, from_step)
    else:
        tx.new_run(target_id)
