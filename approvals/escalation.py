"""The escalation chain, driven by the periodic sweep from database deadlines.

After T1 the holder (or the team) is reminded; after T2 the task is reassigned to the
next level's team (and again after each further T2 while levels remain); at the final
deadline the step takes its declared expiry path. The next moment anything happens is
kept in `next_escalation_at`, so a restarted worker loses nothing: the next sweep
picks it up. Each move is a conditional update on the stage it expects.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from approvals import events
from approvals.models import OPEN_TASK_STATUSES, EscalationStage, HumanTask, TaskStatus
from approvals.notify import notify, team_members
from approvals.sla import add_minutes, calendar_for, describe
from audit.chain import Actor

log = logging.getLogger(__name__)
SWEEP_BATCH = 500
_TEAM_CALENDAR: Any = object()  # "look the calendar up", as opposed to "no calendar"


def schedule(task: HumanTask, calendar: Any = _TEAM_CALENDAR) -> tuple[str, datetime]:
    """(what happens next, when) for an open task."""
    if calendar is _TEAM_CALENDAR:
        calendar = (
            calendar_for(task.assignee_team_id) if task.config.get("business_hours") else None
        )
    chain = task.config.get("escalation") or {}
    t1, t2 = chain.get("notify_after_minutes"), chain.get("reassign_after_minutes")
    levels = chain.get("levels") or []
    stage, start = task.escalation_stage, task.created_at
    if stage == EscalationStage.NONE and t1:
        at = add_minutes(start, int(t1), calendar)
        if at < task.due_at:
            return "notify", at
    if t2 and task.escalation_level < len(levels) and stage <= EscalationStage.REASSIGNED:
        at = add_minutes(start, int(t2) * (task.escalation_level + 1), calendar)
        if at < task.due_at:
            return "reassign", at
    return "expire", task.due_at


def sweep(now: datetime | None = None) -> int:
    now = now or timezone.now()
    ids = list(
        HumanTask.objects.filter(status__in=OPEN_TASK_STATUSES, next_escalation_at__lte=now)
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
    task = HumanTask.objects.select_related("assignee_user", "claimed_by").get(pk=task_id)
    if not task.is_open or task.next_escalation_at is None or task.next_escalation_at > now:
        return ""
    action, _at = schedule(task)
    {"notify": _remind, "reassign": _reassign, "expire": _expire}[action](task, now)
    return action


def _advance(task: HumanTask, **changes: Any) -> bool:
    """Apply changes if nobody moved the task since we read it; recompute the next deadline."""
    expected = {
        "pk": task.pk,
        "escalation_stage": task.escalation_stage,
        "escalation_level": task.escalation_level,
        "status__in": OPEN_TASK_STATUSES,
    }
    for name, value in changes.items():
        setattr(task, name, value)
    task.next_escalation_at = schedule(task)[1]
    return bool(
        HumanTask.objects.filter(**expected).update(
            next_escalation_at=task.next_escalation_at, **changes
        )
    )


def _holders(task: HumanTask) -> list[Any]:
    person = task.claimed_by or task.assignee_user
    return [person] if person else team_members(task.assignee_team_id)


def _remind(task: HumanTask, now: datetime) -> None:
    with transaction.atomic():
        if not _advance(task, escalation_stage=EscalationStage.NOTIFIED):
            return
        left = describe((task.due_at - now).total_seconds())
        events.task_escalated(task, "reminded", {"due_at": task.due_at})
        notify(_holders(task), task, f"Reminder: {task.title} is due in {left}.")


def _reassign(task: HumanTask, now: datetime) -> None:
    levels = task.config["escalation"]["levels"]
    team = Group.objects.filter(name=levels[task.escalation_level]).first()
    if team is None:
        log.warning("escalation level %r of task %s is not a team", levels, task.pk)
        _advance(task, escalation_level=task.escalation_level + 1)
        return
    previous = _holders(task)
    with transaction.atomic():
        if not _advance(
            task,
            escalation_stage=EscalationStage.REASSIGNED,
            escalation_level=task.escalation_level + 1,
            assignee_team=team,
            assignee_user=None,
            claimed_by=None,
            claimed_at=None,
            status=TaskStatus.ESCALATED,
        ):
            return
        events.task_escalated(
            task, "reassigned", {"team": team.name, "level": task.escalation_level}
        )
        notify(team_members(team.pk), task, f"Escalated to {team.name}: {task.title}")
        notify(previous, task, f"{task.title} was escalated to {team.name}.")


def _expire(task: HumanTask, now: datetime) -> None:
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
                _close(
                    task, TaskStatus.CANCELLED, f"The case could not take its expiry path: {exc}"
                )
                return
        if _close(task, TaskStatus.EXPIRED, "The final deadline passed"):
            events.task_escalated(task, "expired", {"expiry_path": expiry_path})
            notify(_holders(task), task, f"Expired: {task.title} passed its final deadline.")


def _close(task: HumanTask, status: str, reason: str) -> bool:
    return bool(
        HumanTask.objects.filter(pk=task.pk, status__in=OPEN_TASK_STATUSES).update(
            status=status,
            escalation_stage=EscalationStage.FINAL,
            next_escalation_at=None,
            outcome="expired" if status == TaskStatus.EXPIRED else "",
            reason=reason,
        )
    )
