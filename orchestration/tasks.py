"""Thin Celery entry points for the engine: ids in, the engine does the rest."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from orchestration.engine import (
    dispatch,
    event_bus,
    notifications,
    operator,
    runner,
    schedules,
    sweep,
)


@shared_task(name="orchestration.run_step", bind=True)
def run_step(self, step_run_id: int) -> None:
    """Run a step; consecutive ready steps continue in this task, up to a budget."""
    worker = self.request.hostname or ""
    budget = settings.PODIUM_INLINE_STEPS
    current: int | None = step_run_id
    while current is not None:
        ready = runner.process(current, worker)
        if ready and budget > 0:
            budget -= 1
            current = ready[0]
            dispatch.send(ready[1:])
        else:
            dispatch.send(ready)
            current = None


@shared_task(name="orchestration.sweep")
def run_sweep() -> None:
    sweep.sweep()


@shared_task(name="orchestration.recover")
def run_recovery() -> None:
    sweep.recover()


@shared_task(name="orchestration.deliver_event")
def deliver_event(event_id: int) -> None:
    event_bus.deliver_event(event_id)


@shared_task(name="orchestration.resume_parent")
def resume_parent(child_instance_id: int) -> None:
    event_bus.resume_parent(child_instance_id)


@shared_task(name="orchestration.cancel_children")
def cancel_children(instance_id: int, reason: str) -> None:
    operator.cancel_children(instance_id, reason)


@shared_task(name="orchestration.notify_exception_owner")
def notify_exception_owner(instance_id: int) -> None:
    notifications.notify_exception_owner(instance_id)


@shared_task(name="orchestration.start_scheduled")
def start_scheduled(flow_id: int, trigger: int = 0, tick: str | None = None) -> None:
    schedules.start_scheduled(flow_id, trigger, tick)
