"""Statuses and the transitions the engine allows between them."""

from __future__ import annotations

from typing import Any

from orchestration.engine.run_update import update_if_status
from orchestration.models import FlowInstance, InstanceStatus, StepRun, StepStatus

S, IS = StepStatus, InstanceStatus

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
    IS.RUNNING: {IS.SUCCEEDED, IS.FAILED, IS.CANCELLED, IS.COMPENSATING},
    IS.FAILED: {IS.RUNNING, IS.CANCELLED, IS.COMPENSATING},
    IS.COMPENSATING: {IS.COMPENSATED, IS.FAILED, IS.CANCELLED},
    IS.SUCCEEDED: set(),
    IS.CANCELLED: set(),
    IS.COMPENSATED: set(),
}

FINISHED_INSTANCE = {IS.SUCCEEDED, IS.CANCELLED, IS.COMPENSATED}


class InvalidTransition(Exception):
    pass


class StaleRun(Exception):
    """Another writer moved the run on since we read it; the whole transition is void."""


def set_step_status(run: StepRun, to: str, **fields: Any) -> None:
    """Move a step run to `to` only if it is still in the status we read.

    The conditional UPDATE makes a redelivered message harmless: only one writer can
    take a run out of a given status, and the loser's transaction is rolled back.
    """
    if to not in STEP_TRANSITIONS[run.status]:
        raise InvalidTransition(f"A step cannot go from {run.status} to {to}.")
    # A run created in this transaction is inserted as it ends up.
    if run.pk is not None and not update_if_status(run.pk, run.status, {"status": to, **fields}):
        raise StaleRun(f"step run {run.pk} is no longer {run.status}")
    run.status = to
    for name, value in fields.items():
        setattr(run, name, value)


def check_instance_transition(instance: FlowInstance, to: str) -> None:
    if to not in INSTANCE_TRANSITIONS[instance.status]:
        raise InvalidTransition(f"A case cannot go from {instance.status} to {to}.")
