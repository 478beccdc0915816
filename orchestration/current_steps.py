"""Where cases are now: the steps a running case is at, or the step a failed case
stopped at, in words a process owner reads in the cases list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from orchestration.engine.runner import LIVE_INSTANCE
from orchestration.models import (
    ACTIVE_STEP_STATUSES,
    FlowInstance,
    InstanceStatus,
    StepRun,
    StepStatus,
)
from orchestration.readable import step_labels

# A list cell names this many steps of a case in parallel branches, then "and N more".
SHOWN = 2
# What a waiting step waits for, by kind; other waiting kinds just "wait".
WAITS_FOR = {
    "approval": "Waiting for a person",
    "decision": "Waiting for a person",
    "wait": "Waiting for an event",
    "timer": "Waiting for its time",
    "subflow": "Waiting for another flow",
}
DOING = {
    StepStatus.QUEUED: "About to run",
    StepStatus.RUNNING: "Running",
    StepStatus.RETRY_WAIT: "Waiting to retry",
    StepStatus.FAILED: "Failed",
}


@dataclass(frozen=True)
class CurrentStep:
    label: str
    status: str
    doing: str
    error: str = ""


@dataclass(frozen=True)
class CaseNow:
    """Where one case is: the steps shown, and how many more are in progress."""

    steps: list[CurrentStep]
    more: int = 0


def current_steps(instances: Iterable[FlowInstance]) -> dict[int, CaseNow]:
    """Where each live or failed case among `instances` is, by case id, in one query.

    A live case is at its steps in progress; a failed case at its latest failed step.
    Cases that have ended (a failed one may have, at a failure end) are nowhere.
    """
    wanted = {
        i.pk: i
        for i in instances
        if i.status in LIVE_INSTANCE or (i.status == InstanceStatus.FAILED and not i.has_ended)
    }
    if not wanted:
        return {}
    runs = (
        StepRun.objects.filter(
            instance_id__in=wanted, status__in=(*ACTIVE_STEP_STATUSES, StepStatus.FAILED)
        )
        .order_by("instance_id", "id")
        .values_list("instance_id", "step_id", "kind", "status", "error")
    )
    labels: dict[int, dict[str, str]] = {}
    found: dict[int, list[CurrentStep]] = {}
    for instance_id, step_id, kind, status, error in runs:
        instance = wanted[instance_id]
        failed_case = instance.status == InstanceStatus.FAILED
        if (status == StepStatus.FAILED) != failed_case:
            continue
        if instance.version_id not in labels:
            labels[instance.version_id] = step_labels(instance.version.definition)
        label = labels[instance.version_id].get(step_id, step_id)
        step = CurrentStep(label, status, _doing(kind, status), error if failed_case else "")
        # A failed case shows only its latest failure; earlier ones were retried past.
        found[instance_id] = [step] if failed_case else [*found.get(instance_id, []), step]
    return {pk: CaseNow(steps[:SHOWN], max(len(steps) - SHOWN, 0)) for pk, steps in found.items()}


def with_current_steps(instances: list[FlowInstance]) -> list[FlowInstance]:
    """`instances`, each with `now`: where it is (a CaseNow), or None if finished."""
    now = current_steps(instances)
    for instance in instances:
        instance.now = now.get(instance.pk)
    return instances


def _doing(kind: str, status: str) -> str:
    if status == StepStatus.WAITING:
        return WAITS_FOR.get(kind, "Waiting")
    return DOING.get(status, status)
