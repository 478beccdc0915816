"""Audit entries for engine transitions, one named function per kind of event."""

from __future__ import annotations

from typing import Any

from audit.chain import Actor, Entry
from orchestration.models import FlowInstance, InstanceStatus, StepRun


def _entry(
    action: str, instance: FlowInstance, actor: Actor, run: StepRun | None = None, **payload: Any
) -> Entry:
    if run is not None:
        payload = {"step": run.step_id, "kind": run.kind, "attempt": run.attempt, **payload}
    return Entry(
        action=action,
        actor=actor,
        object_type="step_run" if run is not None else "instance",
        object_id=str(run.pk if run is not None else instance.pk),
        flow_id=instance.flow_id,
        instance_id=instance.pk,
        business_key=instance.business_key,
        payload=payload,
    )


def instance_started(instance: FlowInstance, actor: Actor) -> Entry:
    return _entry(
        "instance.started",
        instance,
        actor,
        version=instance.version_id,
        trigger=instance.trigger,
        input=instance.input,
    )


def instance_finished(instance: FlowInstance, actor: Actor, reason: str = "") -> Entry:
    return _entry(f"instance.{instance.status}", instance, actor, reason=reason)


def instance_stuck(instance: FlowInstance, actor: Actor) -> Entry:
    reason = "No step is queued, running or waiting, and " + (
        "the roll-back did not finish."
        if instance.status == InstanceStatus.COMPENSATING
        else "no end step was reached."
    )
    return _entry("instance.stuck", instance, actor, reason=reason)


def instance_operated(instance: FlowInstance, verb: str, actor: Actor, reason: str) -> Entry:
    return _entry(f"instance.{verb}", instance, actor, reason=reason)


def step_succeeded(instance: FlowInstance, run: StepRun, actor: Actor, note: str = "") -> Entry:
    return _entry("step.succeeded", instance, actor, run, **({"note": note} if note else {}))


def step_started(instance: FlowInstance, run: StepRun, actor: Actor) -> Entry:
    return _entry("step.started", instance, actor, run, worker=run.worker)


def step_waiting(instance: FlowInstance, run: StepRun, actor: Actor) -> Entry:
    due = run.due_at.isoformat() if run.due_at else None
    return _entry("step.waiting", instance, actor, run, due_at=due)


def step_failed(instance: FlowInstance, run: StepRun, actor: Actor, next_move: str) -> Entry:
    return _entry(
        "step.failed",
        instance,
        actor,
        run,
        error=run.error[:500],
        error_kind=run.error_kind,
        next=next_move,
    )


def step_operated(
    instance: FlowInstance, run: StepRun, verb: str, actor: Actor, reason: str
) -> Entry:
    return _entry(f"step.{verb}", instance, actor, run, reason=reason)
