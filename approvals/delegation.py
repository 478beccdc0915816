"""Out of office: a user's personal tasks follow a delegation to a colleague for a period
and come back when it ends. Both moves are recorded on each task's chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from approvals import events
from approvals.models import OPEN_TASK_STATUSES, Delegation, HumanTask
from approvals.notify import notify


class DelegationInvalid(ValueError):
    pass


def active_delegation(user_id: int, at: datetime | None = None) -> Delegation | None:
    at = at or timezone.now()
    return (
        Delegation.objects.select_related("delegate")
        .filter(user_id=user_id, starts_at__lte=at, ends_at__gt=at, ended_at__isnull=True)
        .order_by("-id")
        .first()
    )


def start_delegation(
    user: Any, delegate: Any, starts_at: datetime, ends_at: datetime, note: str = ""
) -> Delegation:
    if delegate.pk == user.pk:
        raise DelegationInvalid("Choose a colleague, not yourself.")
    if ends_at <= starts_at:
        raise DelegationInvalid("The end must be after the start.")
    if ends_at <= timezone.now():
        raise DelegationInvalid("The end is in the past.")
    if active_delegation(delegate.pk, max(starts_at, timezone.now())):
        raise DelegationInvalid(f"{delegate.get_username()} is away then too; choose someone else.")
    delegation = Delegation.objects.create(
        user=user, delegate=delegate, starts_at=starts_at, ends_at=ends_at, note=note[:200]
    )
    events.delegation_changed(delegation, user, "created")
    if starts_at <= timezone.now():
        hand_over(delegation)
    return delegation


def hand_over(delegation: Delegation) -> int:
    """Move the user's open personal tasks (and claims) to the delegate."""
    tasks = list(
        HumanTask.objects.filter(
            Q(assignee_user_id=delegation.user_id) | Q(claimed_by_id=delegation.user_id),
            status__in=OPEN_TASK_STATUSES,
        )
    )
    for task in tasks:
        changes: dict[str, Any] = {
            "assignee_user_id": delegation.delegate_id,
            "delegated_from_id": delegation.user_id,
        }
        if task.claimed_by_id == delegation.user_id:
            changes["claimed_by_id"] = delegation.delegate_id
        moved = HumanTask.objects.filter(
            pk=task.pk, status__in=OPEN_TASK_STATUSES, assignee_user_id=task.assignee_user_id
        ).update(**changes)
        if moved:
            events.task_delegated(task, delegation, "moved")
    if tasks:
        notify(
            [delegation.delegate],
            None,
            f"{delegation.user.get_username()} is away: {len(tasks)} task(s) now wait for you.",
        )
    return len(tasks)


def end_delegation(delegation: Delegation, actor: Any = None) -> int:
    """End now; open tasks the delegate has not decided go back to the user."""
    ended = Delegation.objects.filter(pk=delegation.pk, ended_at__isnull=True).update(
        ended_at=timezone.now()
    )
    if not ended:
        return 0
    events.delegation_changed(delegation, actor, "ended")
    tasks = list(
        HumanTask.objects.filter(
            delegated_from_id=delegation.user_id,
            assignee_user_id=delegation.delegate_id,
            status__in=OPEN_TASK_STATUSES,
        )
    )
    for task in tasks:
        changes: dict[str, Any] = {
            "assignee_user_id": delegation.user_id,
            "delegated_from_id": None,
        }
        if task.claimed_by_id == delegation.delegate_id:
            changes["claimed_by_id"] = delegation.user_id
        if HumanTask.objects.filter(
            pk=task.pk, status__in=OPEN_TASK_STATUSES, assignee_user_id=delegation.delegate_id
        ).update(**changes):
            events.task_delegated(task, delegation, "returned")
    return len(tasks)


def sweep_delegations(now: datetime) -> None:
    """Start delegations whose period began and end those whose period is over."""
    for delegation in Delegation.objects.filter(ended_at__isnull=True, ends_at__lte=now):
        end_delegation(delegation)
    starting = (
        Delegation.objects.select_related("user", "delegate")
        .filter(
            ended_at__isnull=True,
            starts_at__lte=now,
            ends_at__gt=now,
            user__assigned_tasks__status__in=OPEN_TASK_STATUSES,
        )
        .distinct()
    )
    for delegation in starting:
        hand_over(delegation)
