"""Audit events about human tasks, one chain per task ("task:<id>") and per user for
delegations ("user:<id>"). Instance streams belong to the engine."""

from __future__ import annotations

from typing import Any

from approvals.models import Delegation, HumanTask
from audit.chain import Actor, Entry, append


def _task(task: HumanTask, action: str, actor: Actor, payload: dict[str, Any]) -> None:
    entry = Entry(
        action,
        actor,
        "task",
        str(task.pk),
        task.flow_id,
        task.instance_id,
        task.business_key,
        {"step_id": task.step_id, **payload},
    )
    append(f"task:{task.pk}", [entry])


def task_opened(task: HumanTask) -> None:
    _task(
        task,
        "task.opened",
        Actor.system(),
        {
            "kind": task.kind,
            "assignee_user": task.assignee_user_id,
            "assignee_team": task.assignee_team_id,
            "due_at": task.due_at,
            "delegated_from": task.delegated_from_id,
        },
    )


def task_claimed(task: HumanTask, user: Any) -> None:
    _task(task, "task.claimed", Actor.user(user), {})


def task_released(task: HumanTask, user: Any) -> None:
    _task(task, "task.released", Actor.user(user), {})


def task_decided(
    task: HumanTask, user: Any, outcome: str, reason: str, overrode_ai: bool | None
) -> None:
    _task(
        task,
        "task.decided",
        Actor.user(user),
        {
            "outcome": outcome,
            "reason": reason[:2000],
            "overrode_ai": overrode_ai,
        },
    )


def task_escalated(task: HumanTask, stage: str, detail: dict[str, Any]) -> None:
    _task(task, f"task.{stage}", Actor.system("SLA sweep"), detail)


def task_cancelled(task: HumanTask, reason: str) -> None:
    _task(task, "task.cancelled", Actor.system(), {"reason": reason})


def task_delegated(task: HumanTask, delegation: Delegation, direction: str) -> None:
    _task(
        task,
        f"task.delegation_{direction}",
        Actor.system(),
        {
            "from": delegation.user_id,
            "to": delegation.delegate_id,
            "delegation": delegation.pk,
        },
    )


def delegation_changed(delegation: Delegation, actor_user: Any, verb: str) -> None:
    entry = Entry(
        f"delegation.{verb}",
        Actor.user(actor_user),
        "delegation",
        str(delegation.pk),
        payload={
            "user": delegation.user_id,
            "delegate": delegation.delegate_id,
            "starts_at": delegation.starts_at,
            "ends_at": delegation.ends_at,
            "note": delegation.note,
        },
    )
    append(f"user:{delegation.user_id}", [entry])
