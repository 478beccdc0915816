"""Finishing step runs that wait for the outside: people, events, child flows."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.chain import Actor
from orchestration.engine import dispatch, outcomes
from orchestration.engine.errors import NotAllowedNow
from orchestration.engine.runner import LIVE_INSTANCE, lock_run
from orchestration.engine.transition import Transition
from orchestration.models import InstanceStatus, StepRun, StepStatus
from orchestration.steps.base import Done, PermanentError


def _locked_waiting(step_run_id: int) -> StepRun | None:
    run = lock_run(step_run_id)
    if run is None:
        raise NotAllowedNow("This step no longer exists.")
    if run.instance.status == InstanceStatus.FAILED:
        raise NotAllowedNow(
            "This case failed at another step, so it takes no decisions or events until an "
            "operator resumes it."
        )
    if run.instance.status not in LIVE_INSTANCE:
        raise NotAllowedNow(
            f"This case is {run.instance.get_status_display().lower()}, "
            "so it takes no more decisions or events."
        )
    return run if run.status == StepStatus.WAITING else None


def complete_waiting_step(
    step_run_id: int, output: dict[str, Any], *, actor: Actor, goto_step: str | None = None
) -> bool:
    with transaction.atomic():
        run = _locked_waiting(step_run_id)
        if run is None:
            return False
        tx = Transition(run.instance, actor, timezone.now())
        run.actor = actor.label[:150]
        StepRun.objects.filter(pk=run.pk).update(actor=run.actor)
        result = Done(output=output, goto=[goto_step] if goto_step else None)
        outcomes.apply(tx, run, tx.step(run.step_id), result)
        dispatch.after_commit(tx.save())
    return True


def fail_waiting_step(step_run_id: int, message: str, *, actor: Actor) -> bool:
    with transaction.atomic():
        run = _locked_waiting(step_run_id)
        if run is None:
            return False
        tx = Transition(run.instance, actor, timezone.now())
        outcomes.fail(tx, run, tx.step(run.step_id), PermanentError(message))
        dispatch.after_commit(tx.save())
    return True
