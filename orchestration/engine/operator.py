"""Operator actions on a case: cancel, retry, skip, resume and roll back, each with a reason."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from approvals.actions import cancel_step_tasks
from approvals.stepconfig import outcome_ids
from audit.chain import Actor
from audit.models import DecisionRecord
from orchestration.definitions.graph import FlowGraph
from orchestration.engine import compensation, dispatch, event_bus, outcomes
from orchestration.engine import events as ev
from orchestration.engine.errors import EngineError, NotAllowedNow
from orchestration.engine.graphs import graph_for_version_id
from orchestration.engine.locking import lock_run
from orchestration.engine.routing import arrive, next_steps
from orchestration.engine.state import MOVING, check_instance_transition
from orchestration.engine.transition import Transition
from orchestration.json_numbers import first_non_finite
from orchestration.json_values import first_unplain
from orchestration.models import (
    FlowInstance,
    InstanceStatus,
    StepRun,
    StepStatus,
)
from orchestration.steps.base import StepError

OPEN_CASE = (InstanceStatus.RUNNING, InstanceStatus.FAILED)
# Cases whose steps an operator may retry, skip or resume: open ones and roll-backs.
WORKING_CASE = (*OPEN_CASE, InstanceStatus.COMPENSATING)
# Which step runs an operator may retry or skip (the case page offers only these). A
# running step is being executed by a worker: it finishes, fails or times out first.
RETRYABLE = (StepStatus.FAILED,)
# A sub-flow step in these no longer waits for its child case.
NOT_WAITING = (StepStatus.CANCELLED, StepStatus.SKIPPED)
SKIPPABLE = (StepStatus.FAILED, StepStatus.WAITING, StepStatus.QUEUED, StepStatus.RETRY_WAIT)


def _require_reason(reason: str) -> str:
    if not reason or not reason.strip():
        raise EngineError("Please give a reason; it is recorded in the audit log.")
    return reason.strip()


def _lock_instance(instance_id: int) -> FlowInstance:
    instance = FlowInstance.objects.select_for_update().filter(pk=instance_id).first()
    if instance is None:
        raise NotAllowedNow("This case no longer exists.")
    return instance


def is_workable(instance: FlowInstance) -> bool:
    """Whether operators may still retry, skip or resume the case's steps."""
    return instance.status in WORKING_CASE and not instance.has_ended


def can_cancel(instance: FlowInstance) -> bool:
    """Whether operators may cancel the case: not while it rolls back (see
    cancel_instance)."""
    return is_workable(instance) and instance.status != InstanceStatus.COMPENSATING


def _require_not_ended(instance: FlowInstance) -> None:
    if instance.has_ended:
        raise NotAllowedNow(
            f"This case has ended ({instance.get_status_display().lower()}), "
            "so it can no longer be changed."
        )


def _reopen(tx: Transition) -> None:
    """A failed case goes on where it stopped: running, or rolling back if it failed
    during its roll-back (only a roll-back creates compensation runs)."""
    tx.change(stuck_since=None)  # an operator acted: the case may move again
    if tx.instance.status != InstanceStatus.FAILED:
        return
    status = (
        InstanceStatus.COMPENSATING
        if compensation.has_begun(tx.instance)
        else InstanceStatus.RUNNING
    )
    check_instance_transition(tx.instance, status)
    tx.change(status=status, error="")
    # Events and sub-flow ends that came while it had failed were refused: its waits
    # get them now.
    for event_id in event_bus.events_missed_by(tx.instance):
        dispatch.deliver_event_after_commit(event_id)
    for child_id in event_bus.ended_children_of(tx.instance):
        dispatch.resume_parent_after_commit(child_id)


def cancel_instance(instance_id: int, *, actor: Actor, reason: str) -> None:
    reason = _require_reason(reason)
    with transaction.atomic():
        instance = _lock_instance(instance_id)
        _require_not_ended(instance)
        if instance.status == InstanceStatus.COMPENSATING:
            raise NotAllowedNow(
                "This case is being rolled back; cancelled now, it would stay half undone. "
                "Let the roll-back finish, or skip the undo step it waits at."
            )
        tx = Transition(instance, actor, timezone.now())
        check_instance_transition(instance, InstanceStatus.CANCELLED)
        outcomes.cancel_active_runs(tx, f"The case was cancelled: {reason}")
        tx.change(
            status=InstanceStatus.CANCELLED,
            finished_at=tx.now,
            error=reason,
            stuck_since=None,
        )
        tx.event(ev.instance_operated(instance, "cancelled", actor, reason))
        if instance.parent_step_run_id:
            dispatch.resume_parent_after_commit(instance.pk)
        tx.save()


def cancel_children(instance_id: int, reason: str) -> None:
    """Cancel the sub-flow cases of case `instance_id` whose parent step no longer waits for
    them: it was cancelled (the parent ended, was cancelled or is rolled back), an
    operator skipped it, or it timed out."""
    children = FlowInstance.objects.filter(
        # A cancelled run no longer waits for its child; a failed one (at its time limit)
        # leaves a child still at work, while a child that failed stays failed.
        # One rolling back is left to finish it: cancelled, it would stay half undone.
        Q(parent_step_run__status__in=NOT_WAITING, status__in=OPEN_CASE)
        | Q(parent_step_run__status=StepStatus.FAILED, status=InstanceStatus.RUNNING),
        parent_step_run__instance_id=instance_id,
        finished_at__isnull=True,
    ).values_list("pk", flat=True)
    actor = Actor.system("Podium engine")
    for child_id in list(children):
        try:
            cancel_instance(
                child_id, actor=actor, reason=f"Parent case #{instance_id} stopped: {reason}"
            )
        except NotAllowedNow:
            continue  # it finished meanwhile


def _latest_attempt(run: StepRun) -> None:
    newer = StepRun.objects.filter(instance_id=run.instance_id, step_id=run.step_id, pk__gt=run.pk)
    if newer.exists():
        raise NotAllowedNow("A newer attempt of this step exists; act on that one instead.")


def handled_by_error_path(graph: FlowGraph, run: StepRun, runs: Iterable[StepRun]) -> bool:
    """Whether `run` failed and the case went on along its step's error path (one of
    `runs`, the case's runs, is on it): the failure is dealt with, and retrying or
    skipping the step would send the case down both paths at once."""
    target = (graph.step(run.step_id) or {}).get("on_error")
    return (
        run.status == StepStatus.FAILED
        and bool(target)
        and any(r.step_id == target and r.pk > run.pk for r in runs)
    )


def offered(graph: FlowGraph, run: StepRun, runs: list[StepRun]) -> bool:
    """Whether an operator may retry or skip `run`, judged from the case's `runs` as the
    case page has them: what retry_step and skip_step accept."""
    rolling_back = any("compensates" in r.state for r in runs)
    return (
        run.status in SKIPPABLE
        and (run.kind != "end" or run.status in RETRYABLE)
        and not handled_by_error_path(graph, run, runs)
        and ("compensates" in run.state or not rolling_back)
    )


def _require_forward_allowed(run: StepRun) -> None:
    """A case being rolled back (or that failed while it was) only undoes: its forward
    steps are not retried or skipped, or it would run on while rolling back."""
    if "compensates" in run.state:
        return
    if run.instance.status == InstanceStatus.COMPENSATING or compensation.has_begun(run.instance):
        raise NotAllowedNow(
            "This case is being rolled back: only its compensation steps can be retried or "
            "skipped now."
        )
    _require_parent_waits(run.instance)


# How a parent's sub-flow step that no longer waits for its child case came to stop.
_STOPPED = {
    StepStatus.FAILED: "failed",
    StepStatus.CANCELLED: "was cancelled",
    StepStatus.SKIPPED: "was skipped",
    StepStatus.SUCCEEDED: "has finished",
    StepStatus.RETRY_WAIT: "failed and waits to be tried again",
}


def parent_gave_up(instance: FlowInstance) -> str:
    """Why this sub-flow case may not be moved on: the step of its parent case that
    started it no longer waits for it, so what it did next would reach nobody (and a
    retry of that step starts a new case). "" if it may, or it has no parent."""
    if instance.parent_step_run_id is None:
        return ""
    parent = (
        StepRun.objects.filter(pk=instance.parent_step_run_id)
        .only("status", "step_id", "instance__version_id")
        .select_related("instance")
        .first()
    )
    if parent is None or parent.status not in _STOPPED:
        return ""
    step = graph_for_version_id(parent.instance.version_id).step(parent.step_id) or {}
    label = step.get("label") or parent.step_id
    case = parent.instance_id
    return (
        f"Case #{case} no longer waits for this one: its step “{label}” "
        f"{_STOPPED[parent.status]}. To run this flow again for it, retry that step in "
        f"case #{case}; it starts a new case."
    )


def _require_parent_waits(instance: FlowInstance) -> None:
    if why := parent_gave_up(instance):
        raise NotAllowedNow(why)


def _require_not_handled(tx: Transition, run: StepRun) -> None:
    target = tx.step(run.step_id).get("on_error")
    later = StepRun.objects.filter(instance=run.instance, step_id=target, pk__gt=run.pk)
    if target and handled_by_error_path(tx.graph, run, later.only("id", "step_id")):
        label = tx.step(target).get("label") or target
        raise NotAllowedNow(
            f"The case already went on along this step's error path (“{label}”), "
            "so the step can no longer be retried or skipped."
        )


def retry_step(step_run_id: int, *, actor: Actor, reason: str) -> StepRun:
    reason = _require_reason(reason)
    with transaction.atomic():
        run = lock_run(step_run_id)
        if run is None or run.status not in RETRYABLE:
            raise NotAllowedNow(
                "Only a failed step can be retried, and this one has not failed; choose a "
                "failed step, or skip this one."
            )
        _require_not_ended(run.instance)
        if run.instance.status not in WORKING_CASE:
            raise NotAllowedNow("Steps can only be retried in a case that has not finished.")
        _latest_attempt(run)
        _require_forward_allowed(run)
        tx = Transition(run.instance, actor, timezone.now())
        _require_not_handled(tx, run)
        _reopen(tx)
        retry = tx.new_run(
            run.step_id,
            attempt=run.attempt + 1,
            idempotency_key=run.idempotency_key,
            state=run.state,
        )
        tx.event(ev.step_operated(run.instance, run, "retried", actor, reason))
        dispatch.after_commit(tx.save() + _frozen_runs(run.instance))
    return retry


def _require_known_outcome(run: StepRun, step: dict, output: dict) -> None:
    """A decision or approval skipped with an outcome must name one the step has: the
    paths after it are chosen by it."""
    if run.kind not in ("approval", "decision") or "outcome" not in output:
        return
    known = outcome_ids(step.get("config") or {})
    if output["outcome"] not in known:
        choices = ", ".join(f"“{o}”" for o in known)
        raise NotAllowedNow(
            f"“{output['outcome']}” is not one of this step's outcomes ({choices})."
        )


def _finalise_decision(run: StepRun, output: dict, actor: Actor, reason: str) -> None:
    """The decision record of a skipped AI decision says who made the call instead, and
    what it was ("skipped" if the operator gave none), with their reason."""
    record = DecisionRecord.objects.filter(step_run_id=run.pk).order_by("-id").first()
    if record is None or record.is_final:
        return
    record.finalise(
        final_outcome=str(output.get("outcome") or "skipped"),
        decided_by_kind=actor.kind,
        decided_by=actor.label,
        reviewer_reason=f"Skipped by an operator: {reason}",
    )


def _require_storable_output(step: dict, output: Any) -> None:
    """What an operator gives as a skipped step's output stands in for the step's own:
    it must be a set of named fields JSON can hold, and fit the step's output schema."""
    if not isinstance(output, dict):
        raise NotAllowedNow("A skipped step's output must be a set of named fields.")
    if where := first_non_finite(output, "output"):
        raise NotAllowedNow(
            f"The output holds an infinite or undefined number at {where}, which cannot be stored."
        )
    if problem := first_unplain(output, "output"):
        raise NotAllowedNow(f"The output holds {problem}.")
    try:
        outcomes.check_output(step, output)
    except StepError as exc:
        raise NotAllowedNow(exc.message) from exc


def skip_step(step_run_id: int, *, actor: Actor, reason: str, output: dict | None = None) -> None:
    reason = _require_reason(reason)
    with transaction.atomic():
        run = lock_run(step_run_id)
        if run is None or run.status not in SKIPPABLE:
            raise NotAllowedNow(
                "Only a step that failed, waits, is queued or waits to retry can be skipped; "
                "this one has moved on. Reload the case to see where it is."
            )
        _require_not_ended(run.instance)
        if run.instance.status not in WORKING_CASE:
            raise NotAllowedNow("Steps can only be skipped in a case that has not finished.")
        if run.kind == "end":
            raise NotAllowedNow(
                "An end step cannot be skipped: the case ends there, as the flow says. "
                "Cancel the case instead if it should not end so."
            )
        _latest_attempt(run)
        _require_forward_allowed(run)
        tx = Transition(run.instance, actor, timezone.now())
        _require_not_handled(tx, run)
        if output is not None:
            _require_storable_output(tx.step(run.step_id), output)
            _require_known_outcome(run, tx.step(run.step_id), output)
        _reopen(tx)
        tx.set_status(
            run,
            StepStatus.SKIPPED,
            output=output or {},
            finished_at=tx.now,
            actor=actor.label[:150],
        )
        cancel_step_tasks(run, f"The step was skipped: {reason}")
        if run.kind == "decision":
            _finalise_decision(run, output or {}, actor, reason)
        if run.kind == "subflow":
            # Nobody waits for the sub-flow case any more.
            dispatch.cancel_children_after_commit(
                run.instance_id, f"the step was skipped: {reason}"
            )
        tx.change(outputs={**tx.instance.outputs, run.step_id: output or {}})
        tx.event(ev.step_operated(run.instance, run, "skipped", actor, reason))
        if "compensates" in run.state:
            # The operator undid it by hand: the roll-back goes on with the next one.
            compensation.advance(tx, run)
        else:
            _continue_past(tx, run)
        dispatch.after_commit(tx.save() + _frozen_runs(run.instance))


def _continue_past(tx: Transition, run: StepRun) -> None:
    step = tx.step(run.step_id)
    try:
        for target in next_steps(tx, step):
            arrive(tx, target, run.step_id)
    except StepError as exc:
        # Typically a path after it reads what the step would have given (a decision's
        # outcome), which a skipped step does not give.
        label = step.get("label") or run.step_id
        instead = (
            "Decide its task in the inbox instead."
            if run.kind in ("approval", "decision")
            else "Retry it instead, or cancel the case."
        )
        raise NotAllowedNow(
            f"“{label}” cannot be skipped: the path after it depends on what it gives, "
            f"and a skipped step gives nothing. {instead}"
        ) from exc
    if not tx.new_runs and not tx.ready:
        outcomes.finish_if_idle(tx, run)


def _frozen_runs(instance: FlowInstance) -> list[int]:
    """Queued runs of a case that was failed: they resume with it."""
    return list(
        StepRun.objects.filter(instance=instance, status=StepStatus.QUEUED).values_list(
            "pk", flat=True
        )
    )


def resume_instance(instance_id: int, *, actor: Actor, reason: str) -> None:
    reason = _require_reason(reason)
    with transaction.atomic():
        instance = _lock_instance(instance_id)
        _require_not_ended(instance)
        if instance.status not in WORKING_CASE:
            raise NotAllowedNow("Only a case that has not finished can be resumed.")
        if not compensation.has_begun(instance):
            _require_parent_waits(instance)
        active = StepRun.objects.filter(MOVING, instance=instance)
        if not active.exists():
            raise NotAllowedNow(
                "Nothing is left to run in this case. Retry or skip the failed step instead, "
                "or cancel the case."
            )
        tx = Transition(instance, actor, timezone.now())
        _reopen(tx)
        tx.event(ev.instance_operated(instance, "resumed", actor, reason))
        tx.save()
        dispatch.after_commit(list(active.values_list("pk", flat=True)))


def rollback_instance(instance_id: int, *, actor: Actor, reason: str) -> None:
    reason = _require_reason(reason)
    with transaction.atomic():
        instance = _lock_instance(instance_id)
        _require_not_ended(instance)
        if instance.status not in OPEN_CASE:
            raise NotAllowedNow("Only a running or failed case can be rolled back.")
        tx = Transition(instance, actor, timezone.now())
        tx.event(ev.instance_operated(instance, "rollback_requested", actor, reason))
        if not compensation.start(tx, f"Rolled back by an operator: {reason}"):
            raise NotAllowedNow(
                "No finished step of this case has a compensation step, so there is nothing "
                "to roll back."
            )
        dispatch.after_commit(tx.save())
