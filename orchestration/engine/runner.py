"""Executes one step run: the only code that moves a run forward from a Celery message.

A message only says "look at step run N now" (DESIGN invariant 1). The runner re-reads
the run under its instance's lock and decides from the database what, if anything, is
due: a duplicate or stale message finds nothing to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.chain import Actor
from orchestration.engine import compensation, outcomes
from orchestration.engine import events as ev
from orchestration.engine.locking import lock_run
from orchestration.engine.state import StaleRun
from orchestration.engine.transition import Transition
from orchestration.models import InstanceStatus, StepRun, StepStatus
from orchestration.steps.base import Done, StepContext, StepError, StepTimeout
from orchestration.steps.registry import executor_for

SYSTEM = Actor.system("Podium engine")
LIVE_INSTANCE = (InstanceStatus.RUNNING, InstanceStatus.COMPENSATING)
# A call's result is kept in a case that failed at another step meanwhile too: the call
# happened, and dropping it would make the sweep time it out and call again. What it
# leads to waits, frozen, until an operator puts the case right.
RESULT_TAKEN = (*LIVE_INSTANCE, InstanceStatus.FAILED)
LATE_AFTER_CANCEL = (
    "The call was under way when the case stopped, and it went through: its result is "
    "kept here, and nothing follows from it."
)
# Early redelivery of a retry (broker countdown vs. clock skew) is tolerated this much.
DUE_TOLERANCE = timedelta(milliseconds=200)


@dataclass
class Claim:
    """An external step claimed for execution outside the lock."""

    run: StepRun
    context: StepContext
    lease_started: datetime


def process(step_run_id: int, worker: str = "") -> list[int]:
    """Do whatever is due for this run; return the ids of runs that became ready."""
    try:
        return _process(step_run_id, worker)
    except StaleRun:
        return []  # a duplicate message lost the race: the winner did the work


def _process(step_run_id: int, worker: str) -> list[int]:
    with transaction.atomic():
        run = lock_run(step_run_id)
        if run is None or run.instance.status not in LIVE_INSTANCE:
            return []
        tx = Transition(run.instance, SYSTEM, timezone.now())
        with tx.deferred_run_updates():
            outcome = _due_work(tx, run, worker)
            if not isinstance(outcome, Claim):
                return tx.save(commit=True) if outcome else []
            tx.save(commit=True)
    return _run_claimed(outcome, worker)


def _due_work(tx: Transition, run: StepRun, worker: str) -> bool | Claim:
    now = tx.now
    if run.status == StepStatus.RETRY_WAIT:
        if run.due_at and run.due_at > now + DUE_TOLERANCE:
            return False
        tx.set_status(run, StepStatus.QUEUED, due_at=now)
    known = _known(tx, run)
    if isinstance(known, StepError):
        outcomes.fail(tx, run, {"id": run.step_id}, known)
        return True
    step, executor = known
    context = StepContext(tx.instance, run, step, tx.graph, now)
    if run.status == StepStatus.QUEUED:
        if executor.external:
            return _claim(tx, run, step, context, worker)
        _apply(tx, run, step, outcomes.executor_outcome(executor, context, due=False))
        _chain(tx)
        return True
    if run.due_at is None or run.due_at > now:
        return False  # running elsewhere, or waiting and not yet due
    if run.status == StepStatus.RUNNING:
        timeout = StepTimeout(
            "The step did not finish in time: the worker running it stopped or took too long."
        )
        outcomes.fail(tx, run, step, timeout)
        return True
    if run.status == StepStatus.WAITING:
        _apply(tx, run, step, outcomes.executor_outcome(executor, context, due=True))
        _chain(tx)
        return True
    return False


def _chain(tx: Transition) -> None:
    """Run the automated steps this transition made ready, in this same transaction.

    Each still writes its own audit event here; the case just commits once for the
    whole chain instead of once per step. External steps and waits end the chain.
    """
    budget = settings.PODIUM_INLINE_STEPS
    while budget > 0 and tx.instance.status in LIVE_INSTANCE:
        run = next((r for r in tx.pending_runs(StepStatus.QUEUED) if _inline(r)), None)
        if run is None:
            return
        budget -= 1
        known = _known(tx, run)
        if isinstance(known, StepError):
            outcomes.fail(tx, run, {"id": run.step_id}, known)
            continue
        step, executor = known
        if executor.writes_records:
            tx.flush_records()
        context = StepContext(tx.instance, run, step, tx.graph, tx.now)
        _apply(tx, run, step, outcomes.executor_outcome(executor, context, due=False))


def _inline(run: StepRun) -> bool:
    """Whether the chain runs this run itself: any but an external step (a run of an
    unknown kind too, to fail it)."""
    try:
        return not executor_for(run.kind).external
    except StepError:
        return True


def _known(tx: Transition, run: StepRun) -> tuple[dict[str, Any], Any] | StepError:
    """The run's step and executor, or why there are none: a version stored without the
    lint (by hand, or before a rule existed) may name a step or kind Podium does not
    have. The run then fails like any step, instead of the worker at every delivery."""
    try:
        return tx.step(run.step_id), executor_for(run.kind)
    except StepError as broken:
        return broken


def _apply(tx: Transition, run: StepRun, step: dict[str, Any], result: Any) -> None:
    if isinstance(result, StepError):
        outcomes.fail(tx, run, step, result)
    else:
        outcomes.apply(tx, run, step, result)


def _claim(
    tx: Transition, run: StepRun, step: dict[str, Any], context: StepContext, worker: str
) -> Claim:
    limit = executor_for(run.kind).time_limit(step) or settings.CELERY_TASK_TIME_LIMIT
    lease = limit + settings.PODIUM_LEASE_MARGIN_SECONDS
    tx.set_status(
        run,
        StepStatus.RUNNING,
        started_at=tx.now,
        worker=worker[:200],
        due_at=tx.now + timedelta(seconds=lease),
    )
    tx.event(ev.step_started(tx.instance, run, tx.actor))
    return Claim(run, context, tx.now)


def _run_claimed(claim: Claim, worker: str) -> list[int]:
    executor = executor_for(claim.run.kind)
    result = outcomes.executor_outcome(executor, claim.context, due=False)
    try:
        return _complete_claim(claim, result)
    except StaleRun:
        return []


def _complete_claim(claim: Claim, result: Any) -> list[int]:
    with transaction.atomic():
        run = lock_run(claim.run.pk)
        if run is not None and _done_after_roll_back_began(run, claim, result):
            tx = Transition(run.instance, SYSTEM, timezone.now())
            with tx.deferred_run_updates():
                compensation.undo_late_call(tx, run, result.output)
                return tx.save(commit=True)
        if run is not None and _done_after_cancel(run, claim, result):
            tx = Transition(run.instance, SYSTEM, timezone.now())
            with tx.deferred_run_updates():
                outcomes.mark_succeeded(tx, run, result.output, note=LATE_AFTER_CANCEL)
                return tx.save(commit=True)
        if (
            run is None
            or run.status != StepStatus.RUNNING
            or run.started_at != claim.lease_started
            or run.instance.status not in RESULT_TAKEN
            or run.instance.has_ended
        ):
            return []  # the sweep timed this attempt out, or the case moved on: drop it
        tx = Transition(run.instance, SYSTEM, timezone.now())
        with tx.deferred_run_updates():
            _apply(tx, run, claim.context.step, result)
            return tx.save(commit=True)


def _done_after_cancel(run: StepRun, claim: Claim, result: Any) -> bool:
    """The case ended (was cancelled, or finished at another step) while this attempt's
    call was under way, and the call went through: what it did is kept, though nothing
    follows from it."""
    return (
        run.status == StepStatus.CANCELLED
        and run.started_at == claim.lease_started
        and isinstance(result, Done)
        and run.instance.has_ended
    )


def _done_after_roll_back_began(run: StepRun, claim: Claim, result: Any) -> bool:
    """The roll-back cancelled this attempt while its call was under way, and the call
    went through: undone, if its step has a compensation step. (A call that failed
    did nothing to undo.)"""
    return (
        run.status == StepStatus.CANCELLED
        and run.started_at == claim.lease_started
        and isinstance(result, Done)
        and "compensates" not in run.state
        and bool(claim.context.step.get("compensation"))
        and compensation.takes_late_calls(run.instance)
    )
