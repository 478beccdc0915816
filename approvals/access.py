"""Permission-checked look-ups of human tasks.

A task is visible to its assignee, its claimant, the members of its team, the person
who delegated it, and to people with the global "view human task" permission (team
leads, auditors). Only the first three may act on it. A task you may not see is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Q, QuerySet
from django.http import Http404

from approvals.models import HumanTask

VIEW_ALL = "approvals.view_humantask"


class NotYours(Exception):
    """The user may see the task but not act on it; views answer 403 with the message."""


def team_ids(user: Any) -> list[int]:
    cached = getattr(user, "_podium_team_ids", None)
    if cached is None:
        cached = list(user.groups.values_list("id", flat=True))
        user._podium_team_ids = cached
    return cached


def sees_everything(user: Any) -> bool:
    return user.is_superuser or user.has_perm(VIEW_ALL)


def tasks_for(user: Any) -> QuerySet[HumanTask]:
    tasks = HumanTask.objects.all()
    if sees_everything(user):
        return tasks
    return tasks.filter(
        Q(assignee_user=user)
        | Q(claimed_by=user)
        | Q(assignee_team_id__in=team_ids(user))
        | Q(delegated_from=user)
    )


def teams_for(user: Any) -> QuerySet[Group]:
    if sees_everything(user):
        return Group.objects.order_by("name")
    return Group.objects.filter(id__in=team_ids(user)).order_by("name")


def get_team(user: Any, team_id: int) -> Group:
    team = teams_for(user).filter(pk=team_id).first()
    if team is None:
        raise Http404("No such team")
    return team


def get_task(user: Any, task_id: int) -> HumanTask:
    task = (
        tasks_for(user)
        .select_related(
            "flow",
            "instance",
            "assignee_user",
            "assignee_team",
            "claimed_by",
            "decided_by",
            "delegated_from",
        )
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        raise Http404("No such task")
    return task


def may_act(user: Any, task: HumanTask) -> bool:
    if task.claimed_by_id is not None:
        return task.claimed_by_id == user.pk
    if task.assignee_user_id is not None:
        return task.assignee_user_id == user.pk
    return task.assignee_team_id in team_ids(user)


def get_task_to_act(user: Any, task_id: int) -> HumanTask:
    task = get_task(user, task_id)
    if not may_act(user, task) and task.is_open:
        holder = task.claimed_by or task.assignee_user
        if holder is not None:
            raise NotYours(
                f"{holder.get_full_name() or holder.get_username()} is working on "
                "this task. Ask them, or their team lead, to release it."
            )
        raise NotYours("Only the team this task is assigned to can act on it.")
    return task
