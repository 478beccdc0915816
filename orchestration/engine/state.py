"""Statuses and the transitions the engine allows between them."""

from __future__ import annotations

from django.db.models import Q

from orchestration.models import (
    ACTIVE_STEP_STATUSES,
    FlowInstance,
    InstanceStatus,
    StepRun,
    StepStatus,
)

S, IS = StepStatus, InstanceStatus

STEP_TRANSITIONS: dict[str, set[str]] = {
    S.QUEUED: {S.RUNNING, S.SUCCEEDED, S.FAILED, S.WAITING, S.CANCELLED, S.SKIPPED},
    S.RUNNING: {S.SUCCEEDED, S.FAILED, S.WAITING, S.CANCELLED},
    # Queued again: a join whose branches have arrived fires.
    S.WAITING: {S.QUEUED, S.SUCCEEDED, S.FAILED, S.CANCELLED, S.SKIPPED},
    S.RETRY_WAIT: {S.QUEUED, S.CANCELLED, S.SKIPPED},
    S.FAILED: {S.SKIPPED},
    S.SUCCEEDED: {S.COMPENSATED},
    S.SKIPPED: set(),
    # Succeeded after all: a call under way when a roll-back cancelled its run came
    # back done (engine/compensation.undo_late_call).
    S.CANCELLED: {S.SUCCEEDED},
    S.COMPENSATED: set(),
}

INSTANCE_TRANSITIONS: dict[str, set[str]] = {
    IS.RUNNING: {IS.SUCCEEDED, IS.FAILED, IS.CANCELLED, IS.COMPENSATING},
    IS.FAILED: {IS.RUNNING, IS.CANCELLED, IS.COMPENSATING},
    IS.COMPENSATING: {IS.COMPENSATED, IS.FAILED, IS.CANCELLED},
    IS.SUCCEEDED: set(),
    IS.CANCELLED: set(),
    # Rolled back again: a call under way when the roll-back ended came back done.
    IS.COMPENSATED: {IS.COMPENSATING},
}

FINISHED_INSTANCE = {IS.SUCCEEDED, IS.CANCELLED, IS.COMPENSATED}


class InvalidTransition(Exception):
    pass


class StaleRun(Exception):
    """Another writer moved the run on since we read it; the whole transition is void."""


def check_step_transition(run: StepRun, to: str) -> None:
    if to not in STEP_TRANSITIONS[run.status]:
        raise InvalidTransition(f"A step cannot go from {run.status} to {to}.")


def check_instance_transition(instance: FlowInstance, to: str) -> None:
    # A failed case that reached a failure end has ended: the table alone cannot tell.
    ended = instance.status == IS.FAILED and instance.has_ended
    if ended or to not in INSTANCE_TRANSITIONS[instance.status]:
        raise InvalidTransition(f"A case cannot go from {instance.status} to {to}.")


def moves_the_case(run: StepRun) -> bool:
    """Whether the run can still move its case on: it is in progress, and not a join
    that waits (alone, a join waits for paths nobody will take)."""
    return run.status in ACTIVE_STEP_STATUSES and not (
        run.kind == "join" and run.status == S.WAITING
    )


# moves_the_case, as a filter on step runs.
MOVING = Q(status__in=ACTIVE_STEP_STATUSES) & ~Q(kind="join", status=S.WAITING)
