"""Case screens: the instances list (keyset paging), one case's timeline and operator actions."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.contrib import messages
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from approvals.models import HumanTask
from audit.access import scope_for
from audit.chain import Actor
from audit.deciders import name_deciders
from audit.models import AuditEvent, DecisionRecord
from orchestration import access, attention
from orchestration.current_steps import with_current_steps
from orchestration.engine import api as engine
from orchestration.engine.graphs import graph_for_version_id
from orchestration.forms import NEEDS_OPERATOR, STUCK, InstanceFilterForm, ReasonForm
from orchestration.models import (
    FlowInstance,
    InstanceStatus,
    StepRun,
    StepStatus,
)
from orchestration.readable import field_titles, people_names, readable_history, step_labels
from orchestration.views import go, render

PAGE_SIZE = 50
COUNT_CAP = 1000
FINISHED = (
    InstanceStatus.SUCCEEDED,
    InstanceStatus.FAILED,
    InstanceStatus.CANCELLED,
    InstanceStatus.COMPENSATED,
)
POLL_SECONDS = 2


def _filtered(user: Any, data: dict[str, Any]) -> QuerySet[FlowInstance]:
    """The cases the user may see, filtered; every filter can use an index.

    The visible flows are resolved to a short list of ids first, so the database
    plans against constants (a permission subquery makes PostgreSQL walk the whole
    table when a filter matches nothing visible), and a date range becomes an id
    range too, so paging by id stays an index walk.
    """
    flows = access.flows_for(user)
    if data.get("flow"):
        flows = flows.filter(pk=data["flow"].pk)
    if data.get("owner_team"):
        flows = flows.filter(owner_team=data["owner_team"])
    flow_ids = list(flows.values_list("id", flat=True))
    if not flow_ids:
        return FlowInstance.objects.none()
    qs = FlowInstance.objects.filter(flow_id__in=flow_ids)
    if data.get("status") == STUCK:
        qs = qs.filter(attention.STUCK)
    elif data.get("status") == NEEDS_OPERATOR:
        qs = qs.filter(attention.AWAITING_OPERATOR)
    elif data.get("status"):
        qs = qs.filter(status=data["status"])
    if data.get("business_key"):
        # As the inbox finds them: what the key starts with, in any case ("inv-10").
        qs = qs.filter(business_key__istartswith=data["business_key"].strip())
    return _in_date_range(qs, data.get("created_from"), data.get("created_to"))


def _in_date_range(
    qs: QuerySet[FlowInstance], first: dt.date | None, last: dt.date | None
) -> QuerySet[FlowInstance]:
    tz = timezone.get_current_timezone()
    slack = dt.timedelta(minutes=5)  # ids and creation times are ordered alike, nearly
    by_time = FlowInstance.objects.order_by()
    # The first and last days a calendar has bound nothing (and would overflow below).
    if first and first > dt.date.min:
        start = dt.datetime.combine(first, dt.time.min, tzinfo=tz)
        qs = qs.filter(created_at__gte=start)
        low = by_time.filter(created_at__gte=start - slack).order_by("created_at")
        low_id = low.values_list("id", flat=True).first()
        qs = qs.filter(id__gte=low_id) if low_id else qs.none()
    if last and last < dt.date.max:
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        qs = qs.filter(created_at__lt=end)
        high = by_time.filter(created_at__lt=end + slack).order_by("-created_at")
        high_id = high.values_list("id", flat=True).first()
        qs = qs.filter(id__lte=high_id) if high_id else qs.none()
    return qs


def _page_ids(page: QuerySet[FlowInstance], few: bool) -> list[int]:
    """Ids of the next page, newest first.

    With many matches, walking the primary key backwards finds a page at once. With
    few (the capped count said so), that walk may cross the whole table before it
    gives up, e.g. for a status that is rare among the user's flows; ordering by an
    expression makes the database fetch the few matches by their own index instead.
    """
    ordered = page.annotate(newest=F("id") + 0).order_by("-newest") if few else page.order_by("-id")
    return list(ordered.values_list("id", flat=True)[: PAGE_SIZE + 1])


def instance_list(request: HttpRequest) -> HttpResponse:
    """Newest first, PAGE_SIZE at a time, by id: no OFFSET and no unbounded count."""
    form = InstanceFilterForm(request.GET or None, user=request.user)
    invalid = form.is_bound and not form.is_valid()
    data = {} if invalid or not form.is_bound else form.cleaned_data
    # A filter that does not make sense (e.g. a flow the user may not see) matches nothing.
    qs = FlowInstance.objects.none() if invalid else _filtered(request.user, data)
    page = qs
    if data.get("before"):
        page = qs.filter(id__lt=data["before"])
    total = qs.order_by().values("id")[: COUNT_CAP + 1].count()
    ids = _page_ids(page, few=total <= COUNT_CAP)
    # The rows and their relations by primary key, apart from the id walk: joining
    # before the LIMIT makes SQLite sort every match.
    rows = list(
        FlowInstance.objects.filter(id__in=ids)
        .select_related("flow", "version", "started_by")
        .order_by("-id")
    )
    has_more = len(rows) > PAGE_SIZE
    rows = with_current_steps(rows[:PAGE_SIZE])
    query = request.GET.copy()
    query.pop("before", None)
    first_query = "?" + query.urlencode() if query else ""
    next_query = None
    if has_more:
        query["before"] = str(rows[-1].pk)
        next_query = query.urlencode()
    context = {
        "form": form,
        "instances": rows,
        "next_query": next_query,
        "first_query": first_query,
        "paged": bool(data.get("before")),
        "total": min(total, COUNT_CAP),
        "total_capped": total > COUNT_CAP,
    }
    return render(request, "orchestration/instance_list.html", context, fragment="results")


def _url(name: str, pk: int) -> str | None:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return None


def _live_context(instance: FlowInstance) -> dict[str, Any]:
    runs = list(instance.step_runs.order_by("id"))
    labels = step_labels(instance.version.definition)
    people = people_names(run.actor for run in runs)
    for run in runs:
        run.label = labels.get(run.step_id, run.step_id)
        run.person = people.get(run.actor)
        undone = run.state.get("compensates") if isinstance(run.state, dict) else None
        run.undoes = labels.get(undone, undone) if undone else None
    # Every change writes an audit event, tasks' too (claimed, released): the newest
    # one's id changes with anything the page shows.
    newest_event = (
        AuditEvent.objects.filter(instance_id=instance.pk)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    stamp = f"{instance.updated_at.timestamp():.6f}-{newest_event}-" + "-".join(
        f"{r.pk}{r.status[:2]}" for r in runs
    )
    return {
        "stamp": hashlib.sha1(stamp.encode()).hexdigest()[:16],
        "instance": instance,
        "runs": runs,
        "active": instance.status not in FINISHED,
        "poll_seconds": POLL_SECONDS,
        "masked_fields": instance.flow.masked_fields or [],
        "field_titles": field_titles(instance.version.definition),
    }


def _detail_context(
    request: HttpRequest, instance: FlowInstance, live: dict[str, Any]
) -> dict[str, Any]:
    context = dict(live)
    # An ended case takes no more operator actions, whatever its runs' statuses.
    choices = _step_choices(instance, live["runs"]) if engine.is_workable(instance) else []
    # A sub-flow case its parent no longer waits for is only undone or cancelled.
    detached = engine.parent_gave_up(instance) if engine.is_workable(instance) else ""
    if detached:
        choices = [run for run in choices if "compensates" in run.state]
    tasks = list(
        HumanTask.objects.filter(instance=instance).select_related(
            "assignee_team", "assignee_user", "decided_by"
        )
    )
    for task in tasks:
        task.url = _url("approvals:task", task.pk)
    decisions = list(DecisionRecord.objects.filter(instance_id=instance.pk).order_by("id"))
    name_deciders(decisions)
    labels = step_labels(instance.version.definition)
    for record in decisions:
        record.url = _url("audit:decision", record.pk)
        record.step_label = labels.get(record.step_id, record.step_id)
    history = AuditEvent.objects.filter(instance_id=instance.pk).order_by("-occurred_at", "-id")
    context.update(
        {
            "flow": instance.flow,
            "perms": access.permissions_on(request.user, instance.flow),
            "tasks": tasks,
            "decisions": decisions,
            "history": readable_history(history[:50], instance.version.definition),
            "evidence_url": _url("audit:evidence_pack", instance.pk),
            "audit_url": f"{reverse('audit:search')}?instance={instance.pk}"
            if scope_for(request.user).sees_flow(instance.flow_id)
            else None,
            "action_form": ReasonForm(),
            "actionable_runs": choices,
            "can_retry": any(r.status in engine.RETRYABLE for r in choices),
            "can_resume": not detached and _can_resume(instance, live["runs"]),
            "can_roll_back": _can_roll_back(instance, live["runs"]),
            "can_cancel": engine.can_cancel(instance),
            "detached": detached,
            "parent_case": _parent_case(request.user, instance),
        }
    )
    _link_child_cases(request.user, live["runs"])
    return context


def _link_child_cases(user: Any, runs: list[StepRun]) -> None:
    """Give each sub-flow run `child_id`, and `child_url` where the user may see that case."""
    children = {run: run.state.get("child_instance") for run in runs if run.kind == "subflow"}
    visible = set(
        access.instances_for(user)
        .filter(pk__in=[c for c in children.values() if c])
        .values_list("pk", flat=True)
    )
    for run, child in children.items():
        run.child_id = child
        run.child_url = _url("orchestration:instance_detail", child) if child in visible else None


def _parent_case(user: Any, instance: FlowInstance) -> FlowInstance | None:
    """The case whose sub-flow step started this one, if the user may see it."""
    if instance.parent_step_run_id is None:
        return None
    return (
        access.instances_for(user)
        .select_related("flow")
        .filter(step_runs=instance.parent_step_run_id)
        .first()
    )


def _can_resume(instance: FlowInstance, runs: list[StepRun]) -> bool:
    """Resume is offered for a failed or stuck case, and only while it has steps that
    can move it on, as the engine requires (a failed step alone is retried or skipped;
    a join waiting alone waits for paths nobody takes)."""
    if instance.status != InstanceStatus.FAILED and not instance.stuck_since:
        return False
    return any(engine.moves_the_case(run) for run in runs)


def _can_roll_back(instance: FlowInstance, runs: list[StepRun]) -> bool:
    """Roll back is offered for a running or failed case with a finished step that has a
    compensation step, as the engine requires."""
    if instance.status not in engine.OPEN_CASE or instance.has_ended:
        return False
    return engine.undoable(graph_for_version_id(instance.version_id), runs)


def _step_choices(instance: FlowInstance, runs: list[StepRun]) -> list[StepRun]:
    """Each step's latest run that an operator may retry or skip, as the engine allows,
    failed ones first and the rest by status (the page groups them so)."""
    graph = graph_for_version_id(instance.version_id)
    latest: dict[str, StepRun] = {}
    for run in runs:
        latest[run.step_id] = run
    choices = [r for r in latest.values() if engine.offered(graph, r, runs)]
    return sorted(choices, key=lambda r: engine.SKIPPABLE.index(r.status))


def instance_detail(request: HttpRequest, instance_id: int) -> HttpResponse:
    instance = access.get_instance(request.user, instance_id)
    context = _detail_context(request, instance, _live_context(instance))
    return TemplateResponse(request, "orchestration/instance_detail.html", context)


def instance_live(request: HttpRequest, instance_id: int) -> HttpResponse:
    """The case's live part, polled every few seconds while it runs.

    Answers 204 (htmx keeps the page, open details stay open) while nothing changed.
    """
    instance = access.get_instance(request.user, instance_id)
    live = _live_context(instance)
    if request.GET.get("since") == live["stamp"]:
        return HttpResponse(status=204)
    context = _detail_context(request, instance, live)
    return TemplateResponse(request, "orchestration/instance_detail.html#live", context)


@require_POST
def instance_act(request: HttpRequest, instance_id: int) -> HttpResponse:
    """Cancel, resume, roll back, retry a failed step or skip a step; each needs a reason."""
    instance = access.get_instance(request.user, instance_id, access.OPERATE)
    form = ReasonForm(request.POST)
    action = request.POST.get("action", "")
    run = None
    if action in ("retry", "skip"):
        run = _run_of(instance, request.POST.get("step_run"))
        if run is None:
            form.add_error(None, "Choose the step to retry or skip.")
    if action not in ("cancel", "resume", "rollback", "retry", "skip"):
        form.add_error(None, "Choose what to do.")
    if not form.is_valid():
        return _actions_fragment(request, instance, form, status=422)
    actor, reason = Actor.user(request.user), form.cleaned_data["reason"]
    try:
        if action == "cancel":
            engine.cancel_instance(instance.pk, actor=actor, reason=reason)
        elif action == "resume":
            engine.resume_instance(instance.pk, actor=actor, reason=reason)
        elif action == "rollback":
            engine.rollback_instance(instance.pk, actor=actor, reason=reason)
        elif action == "retry":
            engine.retry_step(run.pk, actor=actor, reason=reason)
        else:
            engine.skip_step(run.pk, actor=actor, reason=reason)
    except engine.NotAllowedNow as exc:
        form.add_error(None, str(exc))
        return _actions_fragment(request, instance, form, status=409)
    done = {
        "cancel": "Case cancelled.",
        "resume": "Case resumed.",
        "rollback": "Rolling the case back: the steps that undo its finished work run now, "
        "newest first.",
        "retry": "Step queued again.",
        "skip": "Step skipped.",
    }
    messages.success(request, done[action])
    if action in ("resume", "retry", "skip"):
        _warn_of_failed_steps(request, instance)
    return go(request, reverse("orchestration:instance_detail", args=[instance.pk]))


def _warn_of_failed_steps(request: HttpRequest, instance: FlowInstance) -> None:
    """Resuming, retrying or skipping moves part of a case on; another step that failed
    stays failed, and what comes after it waits for an operator. Say so, or the case
    looks mended."""
    runs = list(instance.step_runs.order_by("id"))
    failed = [r for r in _step_choices(instance, runs) if r.status == StepStatus.FAILED]
    if failed:
        labels = step_labels(instance.version.definition)
        names = ", ".join(f"“{labels.get(r.step_id, r.step_id)}”" for r in failed)
        messages.warning(
            request,
            f"Still failed: {names}. What comes after it waits until you retry or skip it.",
        )


def _run_of(instance: FlowInstance, value: str | None) -> StepRun | None:
    try:
        return instance.step_runs.get(pk=int(value or ""))
    except (ValueError, StepRun.DoesNotExist):
        return None


def _actions_fragment(
    request: HttpRequest, instance: FlowInstance, form: ReasonForm, status: int
) -> HttpResponse:
    context = _detail_context(request, instance, _live_context(instance))
    context["action_form"] = form
    return render(
        request, "orchestration/instance_detail.html", context, fragment="actions", status=status
    )
