"""Business events between flows, and child flows reporting back to their parents."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from audit.chain import Actor
from audit.models import AuditEvent
from orchestration.engine import dispatch, notifications, start_failures
from orchestration.engine.completing import complete_waiting_step, fail_waiting_step
from orchestration.engine.errors import EngineError
from orchestration.engine.graphs import graph_for_version_id
from orchestration.engine.runner import LIVE_INSTANCE
from orchestration.engine.starting import start_instance
from orchestration.engine.state import FINISHED_INSTANCE
from orchestration.expressions import ExpressionError, NotAKey, build_context, evaluate, key_text
from orchestration.models import (
    FlowInstance,
    FlowVersion,
    InstanceStatus,
    StepRun,
    StepStatus,
    StoredEvent,
    VersionStatus,
)
from orchestration.steps.events import (
    STARTED_BY_EVENT,
    accepts_since,
    newest_event,
    received,
    received_by,
)

log = logging.getLogger(__name__)
# What a flow's audit chain says when an event could not start a case of it.
START_REFUSED = "event.start_refused"
SYSTEM = Actor.system("Podium events")
# How far back the sweep offers events again to waits that missed them; many sweeps
# (every PODIUM_SWEEP_SECONDS) fall within it.
CATCH_UP = timedelta(minutes=15)
# An event is stamped when created, before its commit, and servers' clocks differ: one
# still being written when a wait began may carry a slightly earlier time.
IN_FLIGHT = timedelta(minutes=1)


def emit_event(name: str, key: str, payload: dict[str, Any], *, actor: Actor) -> StoredEvent:
    with transaction.atomic():
        event = StoredEvent.objects.create(name=name, key=key, payload=payload)
        dispatch.deliver_event_after_commit(event.pk)
    return event


def deliver_event(event_id: int) -> None:
    event = StoredEvent.objects.filter(pk=event_id).first()
    if event is None:
        return
    waiting = (
        StepRun.objects.filter(
            kind="wait", status=StepStatus.WAITING, state__event=event.name, state__key=event.key
        )
        # A case that already received it (a delivery sent twice), or that it started,
        # does not again.
        .exclude(Exists(received_by(OuterRef("instance")).filter(event_id=event.pk)))
        .exclude(instance__idempotency_key=f"{STARTED_BY_EVENT}{event.pk}")
        .order_by("pk")
        .only("pk", "instance_id", "state", "created_at")
    )
    given: set[int] = set()
    for run in list(waiting):
        # One wait of a case gets it (its first); a delivery that comes late must not
        # hand a wait an event from before its window.
        if run.instance_id not in given and event.emitted_at >= accepts_since(run) - IN_FLIGHT:
            given.add(run.instance_id)
            _complete_quietly(run.pk, event)
    _start_triggered_flows(event)


def _complete_quietly(run_id: int, event: StoredEvent) -> None:
    try:
        complete_waiting_step(run_id, received(event), actor=SYSTEM)
    except EngineError as exc:
        log.info("event %s not delivered to step run %s: %s", event.pk, run_id, exc)


def _latest_published() -> list[FlowVersion]:
    versions = FlowVersion.objects.filter(status=VersionStatus.PUBLISHED).order_by(
        "flow_id", "-number"
    )
    latest: dict[int, FlowVersion] = {}
    for version in versions.only("pk", "flow_id", "number", "status", "definition", "published_at"):
        latest.setdefault(version.flow_id, version)
    return list(latest.values())


def _event_triggers(version: FlowVersion) -> dict[str, dict[str, Any]]:
    """The version's event triggers by event name."""
    graph = graph_for_version_id(version.pk)
    start = graph.step(graph.start_step_id or "") or {}
    triggers = (start.get("config") or {}).get("triggers") or []
    return {str(t.get("event")): t for t in reversed(triggers) if t.get("type") == "event"}


def _start_triggered_flows(event: StoredEvent) -> None:
    for version in _latest_published():
        if trigger := _event_triggers(version).get(event.name):
            _start_from(event, version, trigger)


def _start_from(event: StoredEvent, version: FlowVersion, trigger: dict[str, Any]) -> None:
    """Start the case the event starts (once: the event's id is the start's idempotency
    key); a start the flow refuses is recorded in its audit chain and told to its
    exception owner."""
    try:
        start_instance(
            version,
            event.payload,
            trigger="event",
            actor=SYSTEM,
            business_key=_case_key(trigger, event, version),
            idempotency_key=f"{STARTED_BY_EVENT}{event.pk}",
        )
    except EngineError as exc:
        log.warning("event %s could not start flow %s: %s", event.pk, version.flow_id, exc)
        problem = str(exc)
        start_failures.record(
            version,
            START_REFUSED,
            SYSTEM,
            timezone.now(),
            {"problem": problem, "event": event.name, "key": event.key},
            lambda: notifications.notify_event_start_failed(
                version, event.name, event.key, problem
            ),
            about=("event", str(event.pk)),
        )


def catch_up_triggers(now: datetime, limit: int = 200) -> int:
    """Start the cases of the last CATCH_UP's events whose delivery message was lost:
    events that started no case of a flow their name triggers, and that flow did not
    refuse. Events younger than IN_FLIGHT are left to their delivery; those sent before
    the version went live started nothing when they came, and start nothing now."""
    started = 0
    for version in _latest_published():
        triggers = _event_triggers(version)
        if not triggers:
            continue
        since = max(now - CATCH_UP, version.published_at or now - CATCH_UP)
        as_text = Cast(OuterRef("pk"), CharField())
        missed = (
            StoredEvent.objects.filter(
                name__in=triggers, emitted_at__gte=since, emitted_at__lt=now - IN_FLIGHT
            )
            .exclude(
                Exists(
                    FlowInstance.objects.filter(
                        flow_id=version.flow_id,
                        idempotency_key=Concat(Value(STARTED_BY_EVENT), as_text),
                    )
                )
            )
            .exclude(
                Exists(
                    AuditEvent.objects.filter(
                        stream=f"flow:{version.flow_id}", action=START_REFUSED, object_id=as_text
                    )
                )
            )
            .order_by("pk")[:limit]
        )
        for event in missed:
            _start_from(event, version, triggers[event.name])
            started += 1
    return started


def _case_key(trigger: dict[str, Any], event: StoredEvent, version: FlowVersion) -> str:
    """The business key of a case an event starts: the trigger's `key`, worked out from
    the event's payload; else the flow's own business key (start_instance works it out
    from the payload, "" here); else the event's key."""
    expression = trigger.get("key")
    if isinstance(expression, str) and expression.strip():
        context = {"event": event.payload, **build_context(event.payload, {})}
        try:
            key = key_text(evaluate(expression, context))
        except (ExpressionError, NotAKey) as exc:
            log.warning("event %s: the trigger's key %r failed: %s", event.pk, expression, exc)
        else:
            if key:
                return key[:200]
    return "" if version.definition.get("business_key") else event.key


def catch_up_waits(now: datetime, limit: int = 200) -> int:
    """Offer the events of the last CATCH_UP again to waits that missed them (sent while
    the wait was being set up, or their delivery message was lost), each to a wait that
    accepts it: sent after the wait began, or within its window before (give or take
    IN_FLIGHT). One query finds the waits with a recent event for their name and key,
    however many waits there are.
    """
    recent = StoredEvent.objects.filter(
        name=OuterRef("event_name"), key=OuterRef("event_key"), emitted_at__gte=now - CATCH_UP
    )
    waits = (
        # Only cases that take events: a failed case's waits, which refuse them, would
        # fill the batch at every sweep and crowd out the waits that would take them.
        StepRun.objects.filter(
            kind="wait", status=StepStatus.WAITING, instance__status__in=LIVE_INSTANCE
        )
        .annotate(event_name=KT("state__event"), event_key=KT("state__key"))
        .filter(Exists(recent))
        .order_by("pk")
        .only("pk", "instance_id", "state", "created_at")[:limit]
    )
    delivered = 0
    for run in waits:
        since = max(accepts_since(run) - IN_FLIGHT, now - CATCH_UP)
        event = newest_event(run.instance_id, run.state.get("event"), run.state.get("key"), since)
        if event is not None:
            _complete_quietly(run.pk, event)
            delivered += 1
    return delivered


def events_missed_by(instance: FlowInstance) -> list[int]:
    """For each wait of this case, the latest stored event it accepts (it came while
    the case could take none, e.g. had failed at another step): their ids."""
    waits = StepRun.objects.filter(instance=instance, kind="wait", status=StepStatus.WAITING)
    found = []
    for run in waits.only("pk", "state", "created_at"):
        since = accepts_since(run) - IN_FLIGHT
        event = newest_event(instance.pk, run.state.get("event"), run.state.get("key"), since)
        if event is not None:
            found.append(event.pk)
    return found


# A child case's end reports back to its parent at once; the sweep looks again this
# much later, for a report that was lost or refused while the parent had failed.
REPORT_GRACE = timedelta(minutes=1)
ENDED = (*FINISHED_INSTANCE, InstanceStatus.FAILED)


def catch_up_parents(now: datetime, limit: int = 200) -> int:
    """Report again the ends of child cases whose parent still waits for them: the
    message was lost, or came while the parent had failed at another step (it goes on
    once an operator resumes it). How many reports were sent."""
    waiting = StepRun.objects.filter(
        kind="subflow",
        status=StepStatus.WAITING,
        instance__status__in=LIVE_INSTANCE,
    )
    children = list(
        FlowInstance.objects.filter(
            parent_step_run__in=waiting, status__in=ENDED, updated_at__lte=now - REPORT_GRACE
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for child in children:
        dispatch.resume_parent_after_commit(child)
    return len(children)


def child_outcome(child: FlowInstance) -> dict[str, Any] | str | None:
    """What a child case's end gives the step that waits for it: its output if it
    succeeded, why it did not if it ended otherwise, None while it has not ended."""
    if child.status == InstanceStatus.SUCCEEDED:
        return {"instance": child.pk, "status": child.status, "data": child.data}
    if child.status in (
        InstanceStatus.FAILED,
        InstanceStatus.CANCELLED,
        InstanceStatus.COMPENSATED,
    ):
        how = child.get_status_display().lower()
        return f"The sub-flow case #{child.pk} ended {how}" + (
            f": {child.error}" if child.error else "."
        )
    return None


def ended_children_of(instance: FlowInstance) -> list[int]:
    """The child cases that ended while this case, waiting for them, could take no
    report (it had failed at another step): reported to it again once it goes on."""
    return list(
        FlowInstance.objects.filter(
            parent_step_run__instance=instance,
            parent_step_run__status=StepStatus.WAITING,
            status__in=ENDED,
        ).values_list("pk", flat=True)
    )


def parents_of_orphans(now: datetime, limit: int = 200) -> list[int]:
    """Parents of child cases that still run though their parent step stopped waiting
    for them a while ago (the message that should have cancelled them was lost). A child
    rolling back is left to finish: cancelled, it would stay half undone."""
    return list(
        FlowInstance.objects.filter(
            status=InstanceStatus.RUNNING,
            parent_step_run__status__in=(
                StepStatus.CANCELLED,
                StepStatus.SKIPPED,
                StepStatus.FAILED,
            ),
            parent_step_run__finished_at__lte=now - REPORT_GRACE,
        )
        .order_by()
        .values_list("parent_step_run__instance_id", flat=True)
        .distinct()[:limit]
    )


def resume_parent(child_instance_id: int) -> None:
    child = FlowInstance.objects.filter(pk=child_instance_id).first()
    if child is None or child.parent_step_run_id is None:
        return
    actor = Actor.system(f"{child.flow.slug} #{child.pk}")
    outcome = child_outcome(child)
    try:
        if isinstance(outcome, dict):
            complete_waiting_step(child.parent_step_run_id, outcome, actor=actor)
        elif outcome is not None:
            fail_waiting_step(child.parent_step_run_id, outcome, actor=actor)
    except EngineError as exc:
        log.info("parent of case %s not resumed: %s", child.pk, exc)
