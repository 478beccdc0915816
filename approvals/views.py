"""The approval inbox: My tasks, Team queues, the task page, delegation, escalations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import Group
from django.db.models import Count, F, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from approvals import access, actions, queries
from approvals.delegation import DelegationInvalid, end_delegation, start_delegation
from approvals.forms import DelegationForm
from approvals.models import (
    OPEN_TASK_STATUSES,
    Delegation,
    HumanTask,
    Notification,
    Priority,
)
from approvals.presenters import describe_row
from approvals.stepconfig import REQUEST_CHANGES, outcome_labels
from audit.access import scope_for
from audit.masking import Masker
from audit.models import AuditEvent, DecisionRecord
from orchestration.decisions.stats import agreement
from orchestration.models import Flow, InstanceStatus
from orchestration.readable import field_titles, readable_history


def _fragment(request: HttpRequest, template: str, fragment: str) -> str:
    return f"{template}#{fragment}" if request.htmx else template


@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    tasks = queries.open_tasks(HumanTask.objects.filter(assignee_user=request.user))
    return _task_list(request, tasks, {"tab": "mine", "heading": "My tasks"})


def _busiest_first(teams: list[Group]) -> Group:
    """The first of the user's teams (by name) with open work; else the first team."""
    open_work = queries.open_tasks(HumanTask.objects.filter(assignee_team__in=teams))
    busy = set(open_work.order_by().values_list("assignee_team_id", flat=True).distinct())
    return next((team for team in teams if team.pk in busy), teams[0])


@require_GET
def team_queue(request: HttpRequest, team_id: int | None = None) -> HttpResponse:
    teams = list(access.teams_for(request.user))
    if team_id is None and teams:
        return redirect("approvals:team_queue", team_id=_busiest_first(teams).pk)
    if team_id is None:
        return _task_list(
            request,
            HumanTask.objects.none(),
            {"tab": "team", "teams": [], "heading": "Team queues"},
        )
    team = access.get_team(request.user, team_id)
    tasks = queries.open_tasks(HumanTask.objects.filter(assignee_team=team))
    return _task_list(
        request,
        tasks,
        {"tab": "team", "team": team, "teams": teams, "heading": f"{team.name} queue"},
    )


def _task_list(request: HttpRequest, tasks: Any, extra: dict[str, Any]) -> HttpResponse:
    filters = queries.Filters.from_query(request.GET)
    filtered = queries.apply_filters(tasks, filters)
    rows, next_cursor = queries.page(filtered, filters)
    now = timezone.now()
    for row in rows:
        describe_row(row, now)
    context = {
        **extra,
        "rows": rows,
        "filters": filters,
        "next_cursor": next_cursor,
        "more_url": _more_url(request, next_cursor),
        "count": queries.capped_count(filtered),
        "count_cap": queries.COUNT_CAP,
        "flows": Flow.objects.filter(id__in=tasks.values("flow_id")).only("id", "name"),
        "priorities": Priority.choices,
        "due_filters": queries.DUE_FILTERS,
        "sorts": {key: label for key, (label, _order) in queries.SORTS.items()},
        "now": now,
        "tab_counts": _tab_counts(request.user),
        "unread": Notification.objects.filter(user=request.user, read_at__isnull=True)
        .values("id")[:99]
        .count(),
        "any_bulk": any(row["bulk"] for row in rows),
    }
    fragment = "rows" if filters.after else "list"
    return TemplateResponse(request, _fragment(request, "approvals/inbox.html", fragment), context)


def _more_url(request: HttpRequest, cursor: str) -> str:
    params = request.GET.copy()
    params["after"] = cursor
    return f"{request.path}?{params.urlencode()}"


def _tab_counts(user: Any) -> dict[str, int]:
    mine = HumanTask.objects.filter(assignee_user=user, status__in=OPEN_TASK_STATUSES)
    team = HumanTask.objects.filter(
        assignee_team_id__in=access.team_ids(user),
        claimed_by__isnull=True,
        status__in=OPEN_TASK_STATUSES,
    )
    return {"mine": queries.capped_count(mine), "team": queries.capped_count(team)}


@require_GET
def nav_count(request: HttpRequest) -> HttpResponse:
    counts = _tab_counts(request.user)
    return TemplateResponse(
        request, "approvals/nav_count.html", {"total": counts["mine"] + counts["team"], **counts}
    )


@require_GET
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    task = access.get_task(request.user, task_id)
    return TemplateResponse(request, "approvals/task.html", _task_context(request, task))


def _task_context(request: HttpRequest, task: HumanTask, **extra: Any) -> dict[str, Any]:
    labels = outcome_labels(task.config)
    record = (
        DecisionRecord.objects.filter(pk=task.decision_record_id).first()
        if task.decision_record_id
        else None
    )
    events = AuditEvent.objects.filter(instance_id=task.instance_id).order_by("occurred_at", "id")[
        :200
    ]
    # The engine takes no decision while the case has failed elsewhere: say so up front.
    case_failed = task.is_open and task.instance.status == InstanceStatus.FAILED
    return {
        "task": task,
        "record": record,
        "agreement": agreement(task.flow_id, task.step_id) if record is not None else None,
        "record_visible": record is not None and scope_for(request.user).sees_flow(task.flow_id),
        "outcomes": [(o, labels.get(o, o.replace("_", " ").capitalize())) for o in task.outcomes],
        "request_changes": REQUEST_CHANGES,
        "may_act": access.may_act(request.user, task) and task.is_open and not case_failed,
        "case_failed": case_failed,
        "can_claim": task.is_open
        and task.assignee_team_id
        and not task.claimed_by_id
        and task.assignee_team_id in access.team_ids(request.user),
        "timeline": readable_history(events, task.instance.version.definition),
        "similar": queries.similar_cases(task, request.user),
        "case_data": Masker({task.flow_id: task.flow.masked_fields or []}).mask(
            task.flow_id, task.context
        ),
        "field_titles": field_titles(task.instance.version.definition),
        "split": queries.time_split(task),
        "now": timezone.now(),
        **extra,
    }


def _conflict(request: HttpRequest, task_id: int, message: str, status: int) -> HttpResponse:
    task = access.get_task(request.user, task_id)
    if request.htmx:
        context = _task_context(request, task, error=message)
        return TemplateResponse(request, "approvals/task.html#decision", context, status=status)
    messages.error(request, message)
    return TemplateResponse(
        request, "approvals/task.html", _task_context(request, task), status=status
    )


@require_POST
def decide(request: HttpRequest, task_id: int) -> HttpResponse:
    try:
        task = access.get_task_to_act(request.user, task_id)
    except access.NotYours as exc:
        return _conflict(request, task_id, str(exc), 403)
    outcome = request.POST.get("outcome", "")
    try:
        actions.decide(task, request.user, outcome, request.POST.get("reason", ""))
    except actions.InvalidDecision as exc:
        return _conflict(request, task_id, str(exc), 422)
    except (actions.TaskConflict, actions.DecisionRefused) as exc:
        return _conflict(request, task_id, str(exc), 409)
    return _after_decision(request, task)


def _after_decision(request: HttpRequest, task: HumanTask) -> HttpResponse:
    following = (
        HumanTask.objects.filter(assignee_user=request.user, status__in=OPEN_TASK_STATUSES)
        .order_by("due_at", "id")
        .values_list("id", flat=True)
        .first()
    )
    if request.htmx:
        task = access.get_task(request.user, task.pk)
        context = _task_context(request, task, next_task=following, just_decided=True)
        response = TemplateResponse(request, "approvals/task.html#decision", context)
        response["HX-Trigger"] = "inbox-changed"
        return response
    messages.success(request, f"Decided: {task.outcome}. The case continues.")
    if following:
        return redirect("approvals:task", task_id=following)
    return redirect("approvals:inbox")


@require_POST
def claim(request: HttpRequest, task_id: int) -> HttpResponse:
    task = access.get_task(request.user, task_id)
    if task.assignee_team_id not in access.team_ids(request.user):
        return _conflict(request, task_id, "Only members of the task's team can claim it.", 403)
    try:
        actions.claim(task, request.user)
    except actions.TaskConflict as exc:
        return _conflict(request, task_id, str(exc), 409)
    return _task_changed(request, task_id, "You claimed the task.")


@require_POST
def release(request: HttpRequest, task_id: int) -> HttpResponse:
    task = access.get_task(request.user, task_id)
    try:
        actions.release(task, request.user)
    except actions.TaskConflict as exc:
        return _conflict(request, task_id, str(exc), 409)
    return _task_changed(request, task_id, "The task is back in the team queue.")


def _task_changed(request: HttpRequest, task_id: int, text: str) -> HttpResponse:
    if request.htmx:
        task = access.get_task(request.user, task_id)
        context = _task_context(request, task, notice=text)
        response = TemplateResponse(request, "approvals/task.html#decision", context)
        response["HX-Trigger"] = "inbox-changed"
        return response
    messages.success(request, text)
    return redirect("approvals:task", task_id=task_id)


@require_POST
def bulk_approve(request: HttpRequest) -> HttpResponse:
    ids = [int(i) for i in request.POST.getlist("task") if i.isdigit()][:200]
    tasks = [
        t
        for t in access.tasks_for(request.user).filter(pk__in=ids)
        if access.may_act(request.user, t)
    ]
    approved, problems = actions.bulk_approve(tasks, request.user, request.POST.get("reason", ""))
    if approved:
        messages.success(request, f"Approved {approved} task{'s' if approved != 1 else ''}.")
    for problem in problems[:10]:
        messages.warning(request, problem)
    if len(tasks) < len(ids):
        messages.warning(
            request, f"{len(ids) - len(tasks)} selected task(s) are not yours to act on."
        )
    return redirect(_safe_next(request) or "approvals:inbox")


def _safe_next(request: HttpRequest) -> str | None:
    """The page to go back to, if it is one of Podium's own."""
    target = request.POST.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


ESCALATIONS_SHOWN = 100


@require_GET
def escalations(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    soon = now + timedelta(hours=4)
    tasks = queries.open_tasks(access.tasks_for(request.user)).filter(
        Q(escalation_stage__gt=0) | Q(due_at__lt=soon)
    )
    team = request.GET.get("team", "")
    level = request.GET.get("level", "")
    if team.isdigit():
        tasks = tasks.filter(assignee_team_id=int(team))
    if level.isdigit():
        tasks = tasks.filter(escalation_level=int(level))
    summary = (
        tasks.values("assignee_team_id", "assignee_team__name")
        .annotate(
            total=Count("id"),
            overdue=Count("id", filter=Q(due_at__lt=now)),
            escalated=Count("id", filter=Q(escalation_level__gt=0)),
        )
        .order_by("-overdue", "assignee_team__name")
    )
    rows = list(
        tasks.select_related("assignee_team", "assignee_user", "claimed_by")
        .defer("context", "proposal", "config", "outcomes", "reason")
        .annotate(case_status=F("instance__status"))
        .order_by("due_at", "id")[:ESCALATIONS_SHOWN]
    )
    for task in rows:
        task.split = queries.time_split(task, now)
        task.split_total = sum(task.split.values()) or 1
    return TemplateResponse(
        request,
        "approvals/escalations.html",
        {
            "rows": rows,
            "shown": ESCALATIONS_SHOWN,
            "summary": list(summary),
            "now": now,
            "team": team,
            "level": level,
            "teams": access.teams_for(request.user),
        },
    )


def away(request: HttpRequest) -> HttpResponse:
    form = DelegationForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            start_delegation(
                request.user, data["delegate"], data["starts_at"], data["ends_at"], data["note"]
            )
        except DelegationInvalid as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Your tasks go to {data['delegate']} until "
                f"{timezone.localtime(data['ends_at']):%d %b %H:%M}.",
            )
            return redirect("approvals:away")
    mine = Delegation.objects.filter(
        user=request.user, ended_at__isnull=True, ends_at__gt=timezone.now()
    ).select_related("delegate")
    received = Delegation.objects.filter(
        delegate=request.user, ended_at__isnull=True, ends_at__gt=timezone.now()
    ).select_related("user")
    return TemplateResponse(
        request,
        "approvals/away.html",
        {"form": form, "mine": mine, "received": received, "now": timezone.now()},
        status=400 if form.errors else 200,
    )


@require_POST
def end_away(request: HttpRequest, delegation_id: int) -> HttpResponse:
    delegation = Delegation.objects.filter(pk=delegation_id, user=request.user).first()
    if delegation is None:
        raise Http404("No such delegation")
    returned = end_delegation(delegation, request.user)
    messages.success(request, f"Welcome back. {returned} task(s) returned to you.")
    return redirect("approvals:away")


def notifications(request: HttpRequest) -> HttpResponse:
    mine = Notification.objects.filter(user=request.user)
    if request.method == "POST":
        mine.filter(read_at__isnull=True).update(read_at=timezone.now())
        return redirect("approvals:notifications")
    return TemplateResponse(
        request,
        "approvals/notifications.html",
        {"notifications": mine.select_related("task").order_by("-id")[:50]},
    )
