"""The escalation chain, driven by the periodic sweep from database deadlines.

A step declares ordered stages (see stepconfig.escalation_of): after N minutes notify
the holder (or the team, or someone named), or reassign to the next level's team or
person; at the final deadline (the SLA) the step takes its declared expiry path.
`escalation_stage` counts the stages done, and the moment the next thing happens is
kept in `next_escalation_at`, so a restarted worker loses nothing: the next sweep picks
it up. Each move is a conditional update on the stage it expects.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from approvals import events
from approvals.models import OPEN_TASK_STATUSES, HumanTask, TaskStatus
from approvals.notify import notify, team_members
from approvals.sla import add_minutes, calendar_for, describe
from audit.chain import Actor
from orchestration.models import InstanceStatus

log = logging.getLogger(__name__)
SWEEP_BATCH = 500
_TEAM_CALENDAR: Any = object()  # "look the calendar up", as opposed to "no calendar"


def schedule(task: HumanTask, calendar: Any = _TEAM_CALENDAR) -> tuple[str, int, datetime]:
    """(what happens next, which stage, when) for an open task."""
    if calendar is _TEAM_CALENDAR:
        business = task.config.get("business_hours")
        calendar = calendar_for(task.assignee_team_id) if business else None
    stages = (task.config.get("escalation") or {}).get("stages") or []
    for index in range(task.escalation_stage, len(stages)):
        at = add_minutes(task.created_at, int(stages[index]["after_minutes"]), calendar)
        if at < task.due_at:
            return stages[index]["action"], index, at
    return "expire", len(stages), task.due_at


def sweep(now: datetime | None = None) -> int:
    now = now or timezone.now()
    ids = list(
        HumanTask.objects.filter(status__in=OPEN_TASK_STATUSES, next_escalation_at__lte=now)
        # Nobody can decide while the case has failed elsewhere: reminders, reassignment
        # and expiry wait for an operator to resume it (expiring would close the task
        # that the resumed case waits for).
        .exclude(instance__status=InstanceStatus.FAILED)
        .order_by("next_escalation_at")
        .values_list("id", flat=True)[:SWEEP_BATCH]
    )
    for task_id in ids:
        try:
            escalate(task_id, now)
        except Exception:  # one bad task must not stop the others; it is retried next sweep
            log.exception("escalating task %s failed", task_id)
    return len(ids)


def escalate(task_id: int, now: datetime) -> str:
    task = HumanTask.objects.select_related("assignee_user", "claimed_by", "instance").get(
        pk=task_id
    )
    if (
        not task.is_open
        or task.next_escalation_at is None
        or task.next_escalation_at > now
        or task.instance.status == InstanceStatus.FAILED
    ):
        return ""
    action, index, _at = schedule(task)
    if action == "expire":
        _expire(task)
    else:
        stage = task.config["escalation"]["stages"][index]
        (_reassign if action == "reassign" else _remind)(task, index, stage["to"], now)
    return action


def _advance(task: HumanTask, **changes: Any) -> bool:
    """Apply changes if nobody moved the task since we read it; recompute the next deadline."""
    expected = {
        "pk": task.pk,
        "escalation_stage": task.escalation_stage,
        "status__in": OPEN_TASK_STATUSES,
    }
    for name, value in changes.items():
        setattr(task, name, value)
    task.next_escalation_at = schedule(task)[2]
    updated = HumanTask.objects.filter(**expected).update(
        next_escalation_at=task.next_escalation_at, **changes
    )
    return bool(updated)


def _holders(task: HumanTask) -> list[Any]:
    person = task.claimed_by or task.assignee_user
    return [person] if person else team_members(task.assignee_team_id)


def _resolve(target: str) -> tuple[Any, Group | None]:
    kind, _sep, name = target.partition(":")
    if kind == "user":
        return get_user_model().objects.filter(username=name, is_active=True).first(), None
    return None, Group.objects.filter(name=name).first()


def _remind(task: HumanTask, index: int, target: str, now: datetime) -> None:
    user, team = _resolve(target) if target else (None, None)
    with transaction.atomic():
        if not _advance(task, escalation_stage=index + 1):
            return
        left = describe((task.due_at - now).total_seconds())
        events.task_escalated(task, "reminded", {"due_at": task.due_at, "to": target})
        extra = [user] if user else team_members(team.pk) if team else []
        notify([*_holders(task), *extra], task, f"Reminder: {task.title} is due in {left}.")


def _reassign(task: HumanTask, index: int, target: str, now: datetime) -> None:
    user, team = _resolve(target)
    if user is None and team is None:
        log.warning("escalation target %r of task %s does not exist", target, task.pk)
        _advance(task, escalation_stage=index + 1)
        return
    previous = _holders(task)
    with transaction.atomic():
        if not _advance(
            task,
            escalation_stage=index + 1,
            escalation_level=task.escalation_level + 1,
            assignee_team=team,
            assignee_user=user,
            claimed_by=None,
            claimed_at=None,
            status=TaskStatus.ESCALATED,
        ):
            return
        name = team.name if team else user.get_username()
        events.task_escalated(task, "reassigned", {"to": target, "level": task.escalation_level})
        notify([user] if user else team_members(team.pk), task, f"Escalated to you: {task.title}")
        notify(previous, task, f"{task.title} was escalated to {name}.")


def _expire(task: HumanTask) -> None:
    from orchestration.engine.api import NotAllowedNow, complete_waiting_step

    expiry_path = task.config.get("expiry_path") or None
    with transaction.atomic():
        if task.kind != "qa":
            try:
                complete_waiting_step(
                    task.step_run_id,
                    {"outcome": "expired", "task_id": task.pk},
                    actor=Actor.system("SLA sweep"),
                    goto_step=expiry_path,
                )
            except NotAllowedNow as exc:
                _close(task, TaskStatus.CANCELLED, f"The case could not expire: {exc}")
                return
        if _close(task, TaskStatus.EXPIRED, "The final deadline passed"):
            if task.decision_record_id and task.kind != "qa":
                from orchestration.decisions.service import record_expiry

                record_expiry(task.decision_record_id)
            events.task_escalated(task, "expired", {"expiry_path": expiry_path})
            notify(_holders(task), task, f"Expired: {task.title} passed its final deadline.")


def _close(task: HumanTask, status: str, reason: str) -> bool:
    updated = HumanTask.objects.filter(pk=task.pk, status__in=OPEN_TASK_STATUSES).update(
        status=status,
        next_escalation_at=None,
        outcome="expired" if status == TaskStatus.EXPIRED else "",
        reason=reason,
    )
    return bool(updated)
