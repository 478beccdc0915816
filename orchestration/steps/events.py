"""Business events between flows: emit one, or wait for one with a matching key."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import BigIntegerField, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils.dateparse import parse_datetime

from orchestration.engine import dispatch
from orchestration.expressions import NotAKey, key_text
from orchestration.models import FlowInstance, StepRun, StoredEvent, Trigger
from orchestration.steps.base import (
    Done,
    PermanentError,
    Result,
    StepContext,
    StepExecutor,
    Wait,
)
from orchestration.steps.control import evaluate_or_fail
from orchestration.steps.registry import register

DEFAULT_WAIT = timedelta(days=7)
DEFAULT_WINDOW = timedelta(hours=1)


class WaitTimedOut(PermanentError):
    kind = "timeout"


def event_key(ctx: StepContext) -> str:
    """The key an event is correlated by, as text: "order-17", 17 -> "17", true -> "true".
    A key that is missing or not a single value would match the wrong events."""
    text = ctx.config.get("key")
    if not text:
        return ""
    value = evaluate_or_fail(ctx, text, "the event key")
    try:
        key = key_text(value)
    except NotAKey as exc:
        raise PermanentError(f"The event key ({text}) {exc}.") from None
    if not key:
        raise PermanentError(
            f"The event key ({text}) is empty in this case, so it cannot tell which event is meant."
        )
    return key


@register
class EmitStep(StepExecutor):
    kind = "emit"
    writes_records = True

    def execute(self, ctx: StepContext) -> Result:
        name = ctx.config.get("event", "")
        payload = {
            k: evaluate_or_fail(ctx, v, f"payload field '{k}'")
            for k, v in (ctx.config.get("payload") or {}).items()
        }
        event = StoredEvent.objects.create(
            name=name, key=event_key(ctx), payload=payload, source_instance=ctx.instance
        )
        dispatch.deliver_event_after_commit(event.pk)
        return Done(output={"event": name, "key": event.key, "event_id": event.pk})


@register
class WaitStep(StepExecutor):
    kind = "wait"
    reads_records = True

    def execute(self, ctx: StepContext) -> Result:
        name, key = ctx.config.get("event", ""), event_key(ctx)
        window = timedelta(seconds=float(ctx.config.get("window_seconds", DEFAULT_WINDOW.seconds)))
        earlier = newest_event(ctx.instance.pk, name, key, since=ctx.now - window)
        if earlier is not None:
            return Done(output=received(earlier))
        timeout = ctx.config.get("timeout_seconds")
        due = ctx.now + (timedelta(seconds=float(timeout)) if timeout else DEFAULT_WAIT)
        since = (ctx.now - window).isoformat()
        return Wait(due_at=due, state={"event": name, "key": key, "since": since})

    def on_due(self, ctx: StepContext) -> Result:
        if target := ctx.config.get("on_timeout"):
            return Done(output={"timed_out": True}, goto=[target])
        raise WaitTimedOut(
            f"No '{ctx.config.get('event')}' event arrived for key '{ctx.run.state.get('key')}' "
            "before the deadline."
        )


def newest_event(instance_id: int, name: str, key: str, since: datetime) -> StoredEvent | None:
    """The newest event `name` with `key` sent from `since` on that the case has not
    received yet: one event completes one wait of a case ("wait for the first document,
    then for the second" needs two), though every case waiting for it."""
    events = StoredEvent.objects.filter(name=name, key=key, emitted_at__gte=since).exclude(
        pk__in=received_by(instance_id)
    )
    if (started_by := starting_event(instance_id)) is not None:
        events = events.exclude(pk=started_by)  # it has had it: the event started it
    return events.order_by("-emitted_at").first()


STARTED_BY_EVENT = "event:"


def starting_event(instance_id: int) -> int | None:
    """The event that started the case, if one did (its start's idempotency key names
    it: engine/event_bus.py)."""
    key = (
        FlowInstance.objects.filter(pk=instance_id, trigger=Trigger.EVENT)
        .values_list("idempotency_key", flat=True)
        .first()
    )
    number = (key or "").removeprefix(STARTED_BY_EVENT)
    return int(number) if key and key.startswith(STARTED_BY_EVENT) and number.isdigit() else None


def received_by(instance_id: Any) -> QuerySet[StepRun]:
    """The ids of the events the case's waits received (`instance_id` may be an
    OuterRef)."""
    return (
        StepRun.objects.filter(instance_id=instance_id, kind="wait", output__has_key="event_id")
        .annotate(event_id=Cast(KT("output__event_id"), BigIntegerField()))
        .values_list("event_id", flat=True)
    )


def accepts_since(run: StepRun) -> datetime:
    """The oldest event a waiting run accepts: its window before the wait began. Runs
    that began waiting before this was recorded get the default window."""
    since = parse_datetime(str(run.state.get("since") or ""))
    return since if since is not None else run.created_at - DEFAULT_WINDOW


def received(event: StoredEvent) -> dict:
    return {"event": event.name, "key": event.key, "payload": event.payload, "event_id": event.pk}
