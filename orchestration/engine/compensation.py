"""Rolling a case back: compensation steps run in reverse order of the steps they undo."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from orchestration.definitions.graph import FlowGraph
from orchestration.engine import dispatch
from orchestration.engine import events as ev
from orchestration.engine.state import check_instance_transition
from orchestration.engine.transition import Transition
from orchestration.models import (
    ACTIVE_STEP_STATUSES,
    FlowInstance,
    InstanceStatus,
    StepRun,
    StepStatus,
)

LATE_CALL = (
    "The call was under way when the roll-back began, and it went through: it is undone too."
)
# One item of work: [compensation step id, step id it undoes, run id it undoes or None]
Item = list


def _succeeded_newest_first(tx: Transition) -> list[StepRun]:
    saved = StepRun.objects.filter(instance=tx.instance, status=StepStatus.SUCCEEDED).order_by(
        "-finished_at", "-id"
    )
    return [*reversed(tx.pending_runs(StepStatus.SUCCEEDED)), *saved.only("id", "step_id", "state")]


def _compensation_of(graph: FlowGraph, run: StepRun) -> str | None:
    """The step that undoes this run's step, unless the run is itself a compensation."""
    if "compensates" in run.state:
        return None
    return (graph.step(run.step_id) or {}).get("compensation")


def pending(tx: Transition) -> list[Item]:
    items = []
    for run in _succeeded_newest_first(tx):
        if target := _compensation_of(tx.graph, run):
            items.append([target, run.step_id, run.pk])
    return items


def undoable(graph: FlowGraph, runs: Iterable[StepRun]) -> bool:
    """Whether a roll-back would undo anything: one of `runs` finished a step that has a
    compensation step (what the case page offers "Roll back" for)."""
    return any(r.status == StepStatus.SUCCEEDED and _compensation_of(graph, r) for r in runs)


def start(tx: Transition, reason: str) -> bool:
    """Begin rolling back; False when nothing has a compensation step."""
    todo = pending(tx)
    if not todo:
        return False
    from orchestration.engine.outcomes import cancel_active_runs  # outcomes imports this

    check_instance_transition(tx.instance, InstanceStatus.COMPENSATING)
    # Through the transition, and with the case's open tasks: nobody is left deciding a
    # step of a case that is being rolled back.
    cancel_active_runs(tx, f"The case is being rolled back: {reason}")
    tx.change(status=InstanceStatus.COMPENSATING, error=reason, stuck_since=None)
    tx.event(ev.instance_finished(tx.instance, tx.actor, reason))
    _schedule(tx, todo)
    return True


def advance(tx: Transition, run: StepRun) -> None:
    """A compensation step finished: mark what it undid, then run the next or finish."""
    undone = _undone_run(tx, run.state["compensates"], run.state.get("undoes"))
    if undone is not None and undone.status == StepStatus.SUCCEEDED:
        tx.set_status(undone, StepStatus.COMPENSATED)
    remaining = run.state.get("remaining", [])
    if remaining:
        _schedule(tx, remaining)
        return
    check_instance_transition(tx.instance, InstanceStatus.COMPENSATED)
    tx.change(status=InstanceStatus.COMPENSATED, finished_at=tx.now)
    tx.event(ev.instance_finished(tx.instance, tx.actor, tx.instance.error))
    if tx.instance.parent_step_run_id:
        dispatch.resume_parent_after_commit(tx.instance.pk)


def has_begun(instance: FlowInstance) -> bool:
    """Whether the case has started rolling back (it may have failed on the way)."""
    return StepRun.objects.filter(instance=instance, state__has_key="compensates").exists()


def takes_late_calls(instance: FlowInstance) -> bool:
    """Whether a call the roll-back cancelled while it was under way is undone if it
    comes back done: the case is rolling back, rolled back, or failed while it rolled
    back (an operator retries or skips the failed compensation step, and it goes on)."""
    return instance.status in (InstanceStatus.COMPENSATING, InstanceStatus.COMPENSATED) or (
        instance.status == InstanceStatus.FAILED and has_begun(instance)
    )


def undo_late_call(tx: Transition, run: StepRun, output: dict[str, Any]) -> None:
    """A call under way when the roll-back cancelled its run came back done: the call
    happened, so the run succeeded after all, and its compensation step undoes it too,
    next in line (or, when the roll-back ended meanwhile, in a roll-back of its own)."""
    from orchestration.engine.outcomes import mark_succeeded  # outcomes imports this

    step_id = run.step_id
    tx.change(outputs={**tx.instance.outputs, step_id: output})
    mark_succeeded(tx, run, output, note=LATE_CALL)
    item = [tx.graph.step(step_id)["compensation"], step_id, run.pk]
    # The roll-back's next work is kept by its latest compensation run, in progress or
    # failed (a retry of it, or skipping it, carries on from its state).
    current = (
        StepRun.objects.filter(
            instance=tx.instance,
            status__in=(*ACTIVE_STEP_STATUSES, StepStatus.FAILED),
            state__has_key="compensates",
        )
        .order_by("-id")
        .first()
    )
    if tx.instance.status != InstanceStatus.COMPENSATED and current is not None:
        state = current.state
        tx.update(current, state={**state, "remaining": [item, *state.get("remaining", [])]})
        return
    if tx.instance.status == InstanceStatus.COMPENSATED:
        check_instance_transition(tx.instance, InstanceStatus.COMPENSATING)
        tx.change(status=InstanceStatus.COMPENSATING, finished_at=None)
        tx.event(ev.instance_finished(tx.instance, tx.actor, LATE_CALL))
    _schedule(tx, [item])


def _undone_run(tx: Transition, step_id: str, run_id: int | None) -> StepRun | None:
    if run_id is not None:
        return StepRun.objects.filter(pk=run_id).first()
    # The run was created in the same transaction as the roll-back began.
    in_memory = [r for r in tx.pending_runs(StepStatus.SUCCEEDED) if r.step_id == step_id]
    if in_memory:
        return in_memory[-1]
    runs = StepRun.objects.filter(
        instance=tx.instance, step_id=step_id, status=StepStatus.SUCCEEDED
    )
    return runs.order_by("-id").first()


def _schedule(tx: Transition, todo: list[Item]) -> None:
    (step_id, undoes_step, undoes_run), rest = todo[0], todo[1:]
    tx.new_run(
        step_id,
        state={"compensates": undoes_step, "undoes": undoes_run, "remaining": rest},
    )
