"""Inbox lists: filters, sort and keyset paging; similar past cases; where SLA time went."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from approvals.models import OPEN_TASK_STATUSES, HumanTask, TaskStatus

PAGE_SIZE = 50
COUNT_CAP = 1000
SORTS = {
    "due": ("Due first", ("due_at", "id")),
    "priority": ("Priority", ("-priority", "id")),
    "newest": ("Newest", ("-id",)),
}
DUE_FILTERS = {"overdue": "Overdue", "today": "Due in 24 h", "week": "Due this week"}
LIST_FIELDS = (
    "id",
    "title",
    "status",
    "priority",
    "kind",
    "due_at",
    "created_at",
    "business_key",
    "flow_id",
    "flow__name",
    "assignee_user_id",
    "assignee_team_id",
    "assignee_team__name",
    "claimed_by_id",
    "claimed_by__username",
    "claimed_by__first_name",
    "claimed_by__last_name",
    "escalation_level",
    "config",
    "outcomes",
    "proposal",
    "instance__status",
)


@dataclass
class Filters:
    flow: int | None = None
    priority: int | None = None
    due: str = ""
    key: str = ""
    sort: str = "due"
    after: str = ""

    @classmethod
    def from_query(cls, params: Any) -> Filters:
        return cls(
            flow=_int(params.get("flow")),
            priority=_int(params.get("priority")),
            due=params.get("due", "") if params.get("due") in DUE_FILTERS else "",
            key=params.get("key", "").strip()[:200],
            sort=params.get("sort", "due") if params.get("sort") in SORTS else "due",
            after=params.get("after", "")[:80],
        )

    @property
    def active(self) -> bool:
        return bool(self.flow or self.priority or self.due or self.key)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def open_tasks(tasks: QuerySet[HumanTask]) -> QuerySet[HumanTask]:
    return tasks.filter(status__in=OPEN_TASK_STATUSES)


def apply_filters(tasks: QuerySet[HumanTask], filters: Filters) -> QuerySet[HumanTask]:
    now = timezone.now()
    if filters.flow:
        tasks = tasks.filter(flow_id=filters.flow)
    if filters.priority:
        tasks = tasks.filter(priority=filters.priority)
    if filters.due == "overdue":
        tasks = tasks.filter(due_at__lt=now)
    elif filters.due == "today":
        tasks = tasks.filter(due_at__lt=now + timedelta(days=1))
    elif filters.due == "week":
        tasks = tasks.filter(due_at__lt=now + timedelta(days=7))
    if filters.key:
        tasks = tasks.filter(business_key__istartswith=filters.key)
    return tasks


def page(tasks: QuerySet[HumanTask], filters: Filters) -> tuple[list[dict], str]:
    """One page after the cursor, and the cursor of the next page ("" on the last)."""
    order = SORTS[filters.sort][1]
    tasks = _after(tasks, filters.sort, filters.after).order_by(*order)
    rows = list(tasks.values(*LIST_FIELDS)[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (_cursor(rows[-1], filters.sort) if more else "")


def _cursor(row: dict, sort: str) -> str:
    if sort == "due":
        return f"{row['due_at'].isoformat()}~{row['id']}"
    if sort == "priority":
        return f"{row['priority']}~{row['id']}"
    return str(row["id"])


def _after(tasks: QuerySet[HumanTask], sort: str, cursor: str) -> QuerySet[HumanTask]:
    if not cursor:
        return tasks
    value, _sep, last = cursor.rpartition("~")
    last_id = _int(last)
    if last_id is None:
        return tasks
    if sort == "newest":
        return tasks.filter(id__lt=last_id)
    if sort == "priority" and _int(value) is not None:
        p = int(value)
        return tasks.filter(Q(priority__lt=p) | Q(priority=p, id__gt=last_id))
    moment = parse_datetime(value.replace(" ", "+"))
    if moment is None:
        return tasks
    return tasks.filter(Q(due_at__gt=moment) | Q(due_at=moment, id__gt=last_id))


def capped_count(tasks: QuerySet[HumanTask]) -> int:
    return tasks.values("id")[:COUNT_CAP].count()


def similar_cases(task: HumanTask, user: Any, limit: int = 5) -> list[dict[str, Any]]:
    """Decided tasks of the same step whose case data is closest to this one's, among
    those `user` may see (all the flow's, for someone who may view the flow; else their
    own tasks'), with the flow's masked fields masked."""
    from approvals.access import tasks_for
    from audit.masking import Masker
    from orchestration import access

    fields = task.config.get("fields") or list(task.context)[:20]
    visible = HumanTask.objects.filter(
        flow_id=task.flow_id, step_id=task.step_id, status=TaskStatus.DONE
    )
    if not access.can(user, access.VIEW, task.flow):
        visible = visible & tasks_for(user)
    masker = Masker({task.flow_id: list(task.flow.masked_fields or [])})
    past = (
        visible.exclude(pk=task.pk)
        .order_by("-decided_at")
        .values(
            "id",
            "business_key",
            "instance_id",
            "outcome",
            "reason",
            "decided_at",
            "decided_by__username",
            "context",
        )[:100]
    )
    scored = []
    for row in past:
        score = _similarity(task.context, row["context"], fields)
        scored.append((score, row))
    scored.sort(key=lambda pair: -pair[0])
    shown = []
    for score, row in scored[:limit]:
        context = masker.mask(task.flow_id, row["context"])
        key = masker.mask_text(task.flow_id, "business_key", row["business_key"])
        shown.append(
            {
                **row,
                "business_key": key,
                "context": context,
                "similarity": round(score * 100),
                "shown": {f: _path(context, f) for f in fields[:4]},
            }
        )
    return shown


def _path(data: Any, path: str) -> Any:
    for part in str(path).split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _similarity(a: dict, b: dict, fields: list[str]) -> float:
    if not fields:
        return 0.0
    total = 0.0
    for field in fields:
        x, y = _path(a, field), _path(b, field)
        if isinstance(x, int | float) and isinstance(y, int | float) and not isinstance(x, bool):
            total += 1 - min(abs(x - y) / max(abs(x), abs(y), 1), 1)
        elif x == y and x is not None:
            total += 1
    return total / len(fields)


def time_split(task: HumanTask | dict, now: datetime | None = None) -> dict[str, float]:
    """Seconds the task spent with AI, waiting in a queue, and with a person."""
    get = task.get if isinstance(task, dict) else lambda name: getattr(task, name)
    end = get("decided_at") or now or timezone.now()
    created, claimed = get("created_at"), get("claimed_at")
    ai = float(get("ai_seconds") or 0)
    if get("assignee_team_id") is None:
        return {"ai": ai, "queue": 0.0, "person": max((end - created).total_seconds(), 0)}
    queue_end = claimed or end
    return {
        "ai": ai,
        "queue": max((queue_end - created).total_seconds(), 0),
        "person": max((end - claimed).total_seconds(), 0) if claimed else 0.0,
    }
