"""Rolling a case back: compensation steps run in reverse order of the steps they undo."""

from __future__ import annotations

from orchestration.engine import events as ev
from orchestration.engine.state import check_instance_transition, set_step_status
from orchestration.engine.transition import Transition
from orchestration.models import ACTIVE_STEP_STATUSES, InstanceStatus, StepRun, StepStatus


def pending(tx: Transition) -> list[tuple[str, int]]:
    """(compensation step, run it undoes) for every succeeded step, newest first."""
    done = StepRun.objects.filter(instance=tx.instance, status=StepStatus.SUCCEEDED).order_by(
        "-finished_at", "-id"
    )
    pairs = []
    for run in done.only("id", "step_id", "state"):
        if "compensation_for" in run.state:
            continue
        target = (tx.graph.step(run.step_id) or {}).get("compensation")
        if target:
            pairs.append((target, run.pk))
    return pairs


def start(tx: Transition, reason: str) -> bool:
    """Begin rolling back; False when nothing has a compensation step."""
    todo = pending(tx)
    if not todo:
        return False
    check_instance_transition(tx.instance, InstanceStatus.COMPENSATING)
    StepRun.objects.filter(instance=tx.instance, status__in=ACTIVE_STEP_STATUSES).update(
        status=StepStatus.CANCELLED, finished_at=tx.now
    )
    tx.change(status=InstanceStatus.COMPENSATING, error=reason)
    tx.event(ev.instance_finished(tx.instance, tx.actor, reason))
    _schedule(tx, todo)
    return True


def advance(tx: Transition, run: StepRun) -> None:
    """A compensation step finished: mark what it undid, then run the next or finish."""
    undone = StepRun.objects.filter(pk=run.state["undoes"]).first()
    if undone is not None and undone.status == StepStatus.SUCCEEDED:
        set_step_status(undone, StepStatus.COMPENSATED)
    remaining = [tuple(pair) for pair in run.state.get("remaining", [])]
    if remaining:
        _schedule(tx, remaining)
        return
    check_instance_transition(tx.instance, InstanceStatus.COMPENSATED)
    tx.change(status=InstanceStatus.COMPENSATED, finished_at=tx.now)
    tx.event(ev.instance_finished(tx.instance, tx.actor, tx.instance.error))


def _schedule(tx: Transition, todo: list[tuple[str, int]]) -> None:
    (step_id, undoes), rest = todo[0], todo[1:]
    tx.new_run(
        step_id,
        state={"compensation_for": step_id, "undoes": undoes, "remaining": [list(p) for p in rest]},
    )
