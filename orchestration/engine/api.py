"""What the rest of Podium may call on the engine. Every call is one transaction that
locks the instance row, writes its audit events, and dispatches work after commit."""

from __future__ import annotations

from typing import Any

from audit.chain import Actor
from orchestration.models import FlowInstance, FlowVersion, StepRun


class EngineError(Exception):
    """An operation the engine refuses, with a message a person can read."""


class InputInvalid(EngineError):
    """Flow input failed the flow's input schema; `problems` lists each field's message."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class NotAllowedNow(EngineError):
    """The instance or step is not in a state that allows this (e.g. already finished)."""


def start_instance(
    version: FlowVersion,
    input: dict[str, Any],
    *,
    trigger: str,
    actor: Actor,
    started_by: Any = None,
    business_key: str = "",
    idempotency_key: str | None = None,
    parent_step_run: StepRun | None = None,
) -> FlowInstance:
    """Validate input, create the instance and its first step run; return the instance.

    With an idempotency key already used for this flow, returns the existing instance.
    Raises InputInvalid or NotAllowedNow (retired or draft version).
    """
    raise NotImplementedError


def complete_waiting_step(
    step_run_id: int, output: dict[str, Any], *, actor: Actor, goto_step: str | None = None
) -> bool:
    """Finish a step run that waits for the outside (human task, decision review, event).

    `output` becomes the step's output (e.g. {"outcome": "approve", "reason": ...}).
    `goto_step` overrides the step's connections (e.g. an approval's expiry path).
    Returns False when it was already finished (a second decision is a no-op for the
    engine). Raises NotAllowedNow when the instance is cancelled or finished.
    """
    raise NotImplementedError


def cancel_instance(instance_id: int, *, actor: Actor, reason: str) -> None:
    raise NotImplementedError


def retry_step(step_run_id: int, *, actor: Actor, reason: str) -> StepRun:
    raise NotImplementedError


def skip_step(step_run_id: int, *, actor: Actor, reason: str, output: dict | None = None) -> None:
    raise NotImplementedError


def resume_instance(instance_id: int, *, actor: Actor, reason: str) -> None:
    raise NotImplementedError


def emit_event(name: str, key: str, payload: dict[str, Any], *, actor: Actor) -> None:
    """Store a business event; resume waiting instances and start flows triggered by it."""
    raise NotImplementedError
