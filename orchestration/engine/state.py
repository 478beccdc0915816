"""Statuses and the transitions the engine allows between them."""

from __future__ import annotations

from typing import Any

from orchestration.models import FlowInstance, InstanceStatus, StepRun, StepStatus

S, I = StepStatus, InstanceStatus

STEP_TRANSITIONS: dict[str, set[str]] = {
    S.QUEUED: {S.RUNNING, S.SUCCEEDED, S.FAILED, S.WAITING, S.CANCELLED, S.SKIPPED},
    S.RUNNING: {S.SUCCEEDED, S.FAILED, S.WAITING, S.CANCELLED},
    S.WAITING: {S.SUCCEEDED, S.FAILED, S.CANCELLED, S.SKIPPED},
    S.RETRY_WAIT: {S.QUEUED, S.CANCELLED, S.SKIPPED},
    S.FAILED: {S.SKIPPED},
    S.SUCCEEDED: {S.COMPENSATED},
    S.SKIPPED: set(),
    S.CANCELLED: set(),
    S.COMPENSATED: set(),
}

INSTANCE_TRANSITIONS: dict[str, set[str]] = {
    I.RUNNING: {I.SUCCEEDED, I.FAILED, I.CANCELLED, I.COMPENSATING},
    I.FAILED: {I.RUNNING, I.CANCELLED, I.COMPENSATING},
    I.COMPENSATING: {I.COMPENSATED, I.FAILED, I.CANCELLED},
    I.SUCCEEDED: set(),
    I.CANCELLED: set(),
    I.COMPENSATED: set(),
}

FINISHED_INSTANCE = {I.SUCCEEDED, I.CANCELLED, I.COMPENSATED}


class InvalidTransition(Exception):
    pass


def set_step_status(run: StepRun, to: str, **fields: Any) -> bool:
    """Move a step run to `to` if it is still in the status we read; False if it moved on.

    The conditional UPDATE makes a redelivered message harmless: only one writer can
    take a run out of a given status.
    """
    if to not in STEP_TRANSITIONS[run.status]:
        raise InvalidTransition(f"A step cannot go from {run.status} to {to}.")
    updated = StepRun.objects.filter(pk=run.pk, status=run.status).update(status=to, **fields)
    if updated:
        run.status = to
        for name, value in fields.items():
            setattr(run, name, value)
    return bool(updated)


def check_instance_transition(instance: FlowInstance, to: str) -> None:
    if to not in INSTANCE_TRANSITIONS[instance.status]:
        raise InvalidTransition(f"A case cannot go from {instance.status} to {to}.")
