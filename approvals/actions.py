"""Operations on human tasks. The engine calls `open_task` and `cancel_open_tasks`;
views call the rest. Every status change is a conditional update, so double submits
and two people at once record exactly one decision. The inbox never writes engine
state: a decision resumes the instance through `orchestration.engine.api`."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from approvals import events
from approvals.delegation import active_delegation
from approvals.escalation import schedule
from approvals.models import OPEN_TASK_STATUSES, HumanTask, Priority, TaskKind, TaskStatus
from approvals.notify import notify
from approvals.sla import add_minutes, calendar_for
from approvals.stepconfig import (
    REQUEST_CHANGES,
    assignee_of,
    escalation_of,
    first_reassignment,
    outcome_ids,
    sla_of,
)
from audit.chain import Actor

MAX_REASON = 2000


class TaskConflict(Exception):
    """Someone else got there first (HTTP 409); the message says who or what."""


class DecisionRefused(Exception):
    """The engine refused the decision (e.g. the case was cancelled); shown as is."""


class InvalidDecision(ValueError):
    """The submitted decision is incomplete (unknown outcome, missing reason)."""


def open_task(
    step_run: Any,
    step: dict[str, Any],
    instance: Any,
    *,
    kind: str = "approval",
    proposal: dict[str, Any] | None = None,
    decision_record_id: int | None = None,
    ai_seconds: float = 0.0,
    escalate: bool = False,
) -> HumanTask:
    """Create the task for a waiting step (inside the engine's transaction); idempotent."""
    existing = HumanTask.objects.filter(step_run=step_run, kind=kind).first()
    if existing is not None:
        return existing
    config = step.get("config") or {}
    user, team = _assignee(step, instance)
    level, stage = 0, 0
    first = first_reassignment(escalation_of(config)) if escalate else None
    if first is not None:
        to_user, to_team = _target(first[1])
        if to_user or to_team:
            user, team, level, stage = to_user, to_team, 1, first[0] + 1
    delegation = active_delegation(user.pk) if user else None
    minutes, business_hours = sla_of(step)
    calendar = calendar_for(team.pk if team else None) if business_hours else None
    now = timezone.now()
    task = HumanTask(
        step_run=step_run,
        instance=instance,
        flow_id=instance.flow_id,
        step_id=str(step.get("id", ""))[:80],
        step_label=str(step.get("label") or step.get("id", ""))[:200],
        business_key=instance.business_key,
        kind=kind,
        title=_title(step, instance, kind),
        status=TaskStatus.ESCALATED if level else TaskStatus.OPEN,
        priority=Priority.URGENT if escalate else _priority(config),
        assignee_user=delegation.delegate if delegation else user,
        delegated_from=user if delegation else None,
        assignee_team=team,
        outcomes=outcome_ids(config),
        context=dict(instance.data or {}),
        proposal=proposal or {},
        config=_kept_config(config, step, business_hours),
        decision_record_id=decision_record_id,
        escalation_level=level,
        escalation_stage=stage,
        ai_seconds=ai_seconds,
        due_at=add_minutes(now, minutes, calendar),
    )
    task.created_at = now
    task.next_escalation_at = schedule(task, calendar)[2]
    task.save()
    events.task_opened(task)
    if task.assignee_user is not None:
        notify([task.assignee_user], task, f"New task for you: {task.title}")
    return task


def _assignee(step: dict[str, Any], instance: Any) -> tuple[Any, Group | None]:
    kind, name = assignee_of(step)
    if kind == "user":
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is not None:
            return user, None
    elif kind == "team":
        team = _team(name)
        if team is not None:
            return None, team
    flow = instance.flow
    if flow.exception_owner_team_id or flow.owner_team_id:
        return None, flow.exception_owner_team or flow.owner_team
    return flow.exception_owner_user or flow.owner_user, None


def _team(name: str) -> Group | None:
    return Group.objects.filter(name=name).first()


def _target(target: str) -> tuple[Any, Group | None]:
    kind, _sep, name = target.partition(":")
    if kind == "user":
        return get_user_model().objects.filter(username=name, is_active=True).first(), None
    return None, _team(name)


def _title(step: dict[str, Any], instance: Any, kind: str) -> str:
    label = step.get("label") or str(step.get("id", "")).replace("_", " ").capitalize()
    prefix = {"qa": "Quality check: ", "review": "Review: "}.get(kind, "")
    case = instance.business_key or f"case #{instance.pk}"
    return f"{prefix}{label} · {instance.flow.name} · {case}"[:300]


def _priority(config: dict[str, Any]) -> int:
    value = config.get("priority", Priority.NORMAL)
    if isinstance(value, str) and not value.isdigit():
        return Priority.__members__.get(value.upper(), Priority.NORMAL)
    return min(max(int(value), Priority.LOW), Priority.URGENT)


def _kept_config(config: dict[str, Any], step: dict[str, Any], business_hours: bool) -> dict:
    kept = {
        k: config[k]
        for k in ("allow_request_changes", "allow_bulk", "expiry_path", "fields", "outcomes")
        if k in config
    }
    return {
        **kept,
        "escalation": escalation_of(config),
        "business_hours": business_hours,
        "sla_minutes": sla_of(step)[0],
    }


def cancel_open_tasks(instance: Any, reason: str) -> int:
    """Called by the engine inside its transaction when a case ends, is cancelled or is
    rolled back, with the reason people will read on the task.

    Quality checks stay open: they review an automatic decision the case has already
    acted on, and are worth answering whatever became of the case afterwards.
    """
    tasks = HumanTask.objects.filter(instance=instance).exclude(kind=TaskKind.QA_SAMPLE)
    return _cancel(tasks, reason)


def cancel_step_tasks(step_run: Any, reason: str) -> int:
    """For the engine when an operator skips a waiting step; `reason` is what the
    people holding its tasks read on them."""
    return _cancel(HumanTask.objects.filter(step_run=step_run), reason)


def _cancel(tasks: Any, reason: str) -> int:
    found = list(tasks.filter(status__in=OPEN_TASK_STATUSES))
    HumanTask.objects.filter(pk__in=[t.pk for t in found], status__in=OPEN_TASK_STATUSES).update(
        status=TaskStatus.CANCELLED, next_escalation_at=None, reason=reason[:MAX_REASON]
    )
    for task in found:
        events.task_cancelled(task, reason)
    return len(found)


def claim(task: HumanTask, user: Any) -> None:
    if task.assignee_team_id is None:
        raise TaskConflict("This task is assigned to one person; it cannot be claimed.")
    claimed = HumanTask.objects.filter(
        pk=task.pk, status__in=(TaskStatus.OPEN, TaskStatus.ESCALATED), claimed_by__isnull=True
    ).update(
        status=TaskStatus.CLAIMED, claimed_by=user, claimed_at=timezone.now(), assignee_user=user
    )
    if not claimed:
        raise TaskConflict(_why_not_open(task.pk, user))
    events.task_claimed(task, user)


def release(task: HumanTask, user: Any) -> None:
    status = TaskStatus.ESCALATED if task.escalation_level else TaskStatus.OPEN
    released = HumanTask.objects.filter(
        pk=task.pk, status=TaskStatus.CLAIMED, claimed_by=user, assignee_team__isnull=False
    ).update(status=status, claimed_by=None, claimed_at=None, assignee_user=None)
    if not released:
        raise TaskConflict(_why_not_open(task.pk, user))
    events.task_released(task, user)


def _why_not_open(task_id: int, user: Any) -> str:
    task = HumanTask.objects.select_related("claimed_by", "decided_by").get(pk=task_id)
    if task.status == TaskStatus.DONE:
        who = task.decided_by
        name = "you" if who == user else (who.get_full_name() or who.get_username()) if who else ""
        outcome = task.outcome.replace("_", " ")
        return f"This task was already decided{' by ' + name if name else ''}: {outcome}."
    if task.status == TaskStatus.CANCELLED:
        return task.cancellation_note
    if task.status == TaskStatus.EXPIRED:
        return "This task expired: its final deadline passed and the case moved on."
    if task.claimed_by_id and task.claimed_by_id != user.pk:
        holder = task.claimed_by
        return f"{holder.get_full_name() or holder.get_username()} has claimed this task."
    if task.claimed_by_id == user.pk:
        return "You have already claimed this task."
    return "This task is not claimed by you."


def validate(task: HumanTask, outcome: str, reason: str) -> tuple[str, str]:
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise InvalidDecision(f"Keep the reason under {MAX_REASON} characters.")
    if outcome == REQUEST_CHANGES:
        if not task.allows_request_changes:
            raise InvalidDecision("This step does not allow requesting changes.")
        if not reason:
            raise InvalidDecision("Say what should change.")
        return outcome, reason
    if outcome not in task.outcomes:
        raise InvalidDecision("Choose one of the outcomes offered.")
    if task.ai_outcome and outcome != task.ai_outcome and not reason:
        raise InvalidDecision(
            f"The AI proposed “{task.ai_outcome}”. Give a reason when you decide otherwise."
        )
    return outcome, reason


def decide(task: HumanTask, user: Any, outcome: str, reason: str) -> HumanTask:
    """Record a person's decision and resume the case through the engine, exactly once."""
    from orchestration.engine.api import NotAllowedNow, complete_waiting_step

    outcome, reason = validate(task, outcome, reason)
    if not task.is_open:
        raise TaskConflict(_why_not_open(task.pk, user))
    if task.kind == "qa":
        return _qa_review(task, user, outcome, reason)
    overrode = _overrides(task, outcome)
    output = {
        "outcome": outcome,
        "reason": reason,
        "decided_by": user.get_username(),
        "overrode_ai": overrode,
        "task_id": task.pk,
        "record_id": task.decision_record_id,
    }
    try:
        with transaction.atomic():
            if not complete_waiting_step(task.step_run_id, output, actor=Actor.user(user)):
                raise TaskConflict(
                    _why_not_open(task.pk, user)
                    if not _still_open(task)
                    else "This step was already finished; nothing was changed."
                )
            _mark_done(task, user, outcome, reason)
    except NotAllowedNow as exc:
        if not _still_open(task):  # decided or cancelled meanwhile: say what happened
            raise TaskConflict(_why_not_open(task.pk, user)) from exc
        raise DecisionRefused(str(exc) or "This case no longer takes decisions.") from exc
    return task


def _still_open(task: HumanTask) -> bool:
    return HumanTask.objects.filter(pk=task.pk, status__in=OPEN_TASK_STATUSES).exists()


def _overrides(task: HumanTask, outcome: str) -> bool | None:
    if not task.decision_record_id:
        return None
    from audit.models import DecisionRecord

    proposed = (
        DecisionRecord.objects.filter(pk=task.decision_record_id)
        .values_list("proposed_outcome", flat=True)
        .first()
    )
    return None if not proposed else proposed != outcome


def _mark_done(task: HumanTask, user: Any, outcome: str, reason: str) -> None:
    now = timezone.now()
    won = (
        HumanTask.objects.filter(pk=task.pk, status__in=OPEN_TASK_STATUSES)
        .filter(Q(claimed_by__isnull=True) | Q(claimed_by=user))
        .update(
            status=TaskStatus.DONE,
            outcome=outcome,
            reason=reason,
            decided_by=user,
            decided_at=now,
            next_escalation_at=None,
        )
    )
    if not won:
        raise TaskConflict(_why_not_open(task.pk, user))
    overrode = None
    if task.decision_record_id:
        from orchestration.decisions.service import record_human_decision

        overrode = record_human_decision(task.decision_record_id, outcome, reason, user)
    events.task_decided(task, user, outcome, reason, overrode)
    task.status, task.outcome, task.reason, task.decided_at = TaskStatus.DONE, outcome, reason, now


def _qa_review(task: HumanTask, user: Any, outcome: str, reason: str) -> HumanTask:
    with transaction.atomic():
        _mark_done_qa(task, user, outcome, reason)
    return task


def _mark_done_qa(task: HumanTask, user: Any, outcome: str, reason: str) -> None:
    from orchestration.decisions.service import record_qa_review

    won = HumanTask.objects.filter(pk=task.pk, status__in=OPEN_TASK_STATUSES).update(
        status=TaskStatus.DONE,
        outcome=outcome,
        reason=reason,
        decided_by=user,
        decided_at=timezone.now(),
        next_escalation_at=None,
    )
    if not won:
        raise TaskConflict(_why_not_open(task.pk, user))
    agreed = record_qa_review(task.decision_record_id, outcome, reason, user)
    events.task_decided(task, user, outcome, reason, None if agreed else True)
    task.status, task.outcome = TaskStatus.DONE, outcome


def bulk_approve(tasks: list[HumanTask], user: Any, reason: str) -> tuple[int, list[str]]:
    """Approve each selected task that allows it; returns (approved, problems)."""
    approved, problems = 0, []
    for task in tasks:
        if not task.allows_bulk or "approve" not in task.outcomes:
            problems.append(f"{task.title}: this step must be decided one at a time.")
            continue
        try:
            decide(task, user, "approve", reason)
            approved += 1
        except (TaskConflict, DecisionRefused, InvalidDecision) as exc:
            problems.append(f"{task.title}: {exc}")
    return approved, problems
