"""The periodic sweep (Celery beat): nothing waits forever (DESIGN invariant 4).

It re-dispatches queued runs whose message was lost, hands due timers, retries, wait
deadlines and expired leases to the runner, catches up on event waits, and flags cases
that are running (or rolling back) with nothing left to run, telling their exception
owner. Once a minute `recover` reports again the end of a child case whose parent still
waits for it, and cancels child cases their parent no longer waits for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from orchestration.engine import dispatch, operator
from orchestration.engine import events as ev
from orchestration.engine.event_bus import (
    catch_up_parents,
    catch_up_triggers,
    catch_up_waits,
    parents_of_orphans,
)
from orchestration.engine.runner import LIVE_INSTANCE, SYSTEM
from orchestration.engine.state import MOVING
from orchestration.engine.transition import QUEUED_GRACE, Transition
from orchestration.models import (
    FlowInstance,
    StepRun,
    StepStatus,
)

BATCH = 1000


@dataclass
class SweepReport:
    redispatched: int
    due: int
    events: int
    stuck: int


def sweep(now: datetime | None = None) -> SweepReport:
    now = now or timezone.now()
    lost = list(
        StepRun.objects.filter(
            status=StepStatus.QUEUED, due_at__lte=now, instance__status__in=LIVE_INSTANCE
        ).values_list("pk", flat=True)[:BATCH]
    )
    StepRun.objects.filter(pk__in=lost).update(due_at=now + QUEUED_GRACE, dispatched_at=now)
    due = list(
        StepRun.objects.filter(
            status__in=(StepStatus.RUNNING, StepStatus.RETRY_WAIT, StepStatus.WAITING),
            due_at__lte=now,
            # A failed case's runs wait for an operator; they are picked up once it resumes.
            instance__status__in=LIVE_INSTANCE,
        )
        .filter(
            Q(dispatched_at__isnull=True)
            | Q(dispatched_at__lt=F("due_at"))
            | Q(dispatched_at__lte=now - QUEUED_GRACE)
        )
        .values_list("pk", flat=True)[:BATCH]
    )
    StepRun.objects.filter(pk__in=due).update(dispatched_at=now)
    dispatch.send(lost + due)
    return SweepReport(len(lost), len(due), catch_up_waits(now), flag_stuck(now))


@dataclass
class RecoveryReport:
    parents: int
    orphans: int
    started: int


def recover(now: datetime | None = None) -> RecoveryReport:
    """Repairs after a lost message, run every minute (each looks through many rows, and
    such losses are rare): between a parent case and its sub-flow cases, and the cases
    an event should have started."""
    now = now or timezone.now()
    return RecoveryReport(catch_up_parents(now), cancel_orphans(now), catch_up_triggers(now))


def cancel_orphans(now: datetime) -> int:
    """Cancel child cases still at work though their parent stopped waiting for them a
    minute ago (the message that should have cancelled them was lost); how many parents
    were looked after."""
    parents = parents_of_orphans(now)
    for parent_id in parents:
        operator.cancel_children(parent_id, "its parent step no longer waits for it")
    return len(parents)


def flag_stuck(now: datetime) -> int:
    """Flag running (or rolling back) cases with nothing left to run, each in a transition
    of its own that writes its audit event and tells the exception owner; how many were
    flagged."""
    active = StepRun.objects.filter(MOVING, instance=OuterRef("pk"))
    candidates = (
        FlowInstance.objects.filter(
            status__in=LIVE_INSTANCE,
            stuck_since__isnull=True,
            updated_at__lte=now - QUEUED_GRACE,
        )
        .exclude(Exists(active))
        .values_list("pk", flat=True)[:BATCH]
    )
    return sum(_flag_stuck(pk, now) for pk in list(candidates))


def _flag_stuck(instance_id: int, now: datetime) -> bool:
    with transaction.atomic():
        instance = FlowInstance.objects.select_for_update().filter(pk=instance_id).first()
        # Looked at again under the lock: a step may have been started or the case ended.
        if (
            instance is None
            or instance.status not in LIVE_INSTANCE
            or instance.stuck_since is not None
            or instance.step_runs.filter(MOVING).exists()
        ):
            return False
        tx = Transition(instance, SYSTEM, now)
        tx.change(stuck_since=now)
        tx.event(ev.instance_stuck(instance, SYSTEM))
        tx.save()
        dispatch.notify_exception_owner_after_commit(instance_id)
    return True
