"""Joins count arrivals on a waiting step run and fire when their mode is satisfied."""

from __future__ import annotations

from typing import Any

from orchestration.engine.transition import QUEUED_GRACE, Transition
from orchestration.models import StepRun, StepStatus


def required(step: dict[str, Any], expected: int) -> int:
    config = step.get("config") or {}
    mode = config.get("mode", "all")
    if mode == "any":
        return 1
    if mode == "n":
        return min(int(config.get("n", expected)), expected)
    return expected


def arrive(tx: Transition, step: dict[str, Any], from_step: str) -> None:
    expected = len(tx.graph.incoming(step["id"]))
    if _absorbed_by_fired_join(tx, step, from_step, expected):
        return
    run = _waiting_run(tx, step["id"])
    if run is None:
        run = tx.new_run(step["id"], status=StepStatus.WAITING, state={"arrived": []})
    run.state = {**run.state, "arrived": [*run.state.get("arrived", []), from_step]}
    if len(run.state["arrived"]) >= required(step, expected):
        # Fired: from here on the runner executes it like any queued step.
        run.state["fired"] = True
        if run.pk is None:
            run.status, run.due_at = StepStatus.QUEUED, tx.now + QUEUED_GRACE
        else:
            tx.set_status(run, StepStatus.QUEUED, state=run.state, due_at=tx.now + QUEUED_GRACE)
            tx.ready.append(run.pk)
    elif run.pk is not None:
        StepRun.objects.filter(pk=run.pk).update(state=run.state)


def _waiting_run(tx: Transition, step_id: str) -> StepRun | None:
    for run in tx.new_runs:
        if run.step_id == step_id and run.status == StepStatus.WAITING:
            return run
    return (
        StepRun.objects.filter(instance=tx.instance, step_id=step_id, status=StepStatus.WAITING)
        .order_by("-id")
        .first()
    )


def _absorbed_by_fired_join(
    tx: Transition, step: dict[str, Any], from_step: str, expected: int
) -> bool:
    """A late branch of an any/N join is absorbed by a join that already fired without
    it: the oldest such, so that in a loop each round's late branch goes to its own
    round's join (and no round's join fires twice)."""
    for fired in _fired(tx, step["id"]):
        arrived = fired.state.get("arrived", [])
        if len(arrived) >= expected or from_step in arrived:
            continue
        fired.state = {**fired.state, "arrived": [*arrived, from_step]}
        if fired.pk is not None:
            StepRun.objects.filter(pk=fired.pk).update(state=fired.state)
        return True
    return False


def _fired(tx: Transition, step_id: str) -> list[StepRun]:
    """The join's fired runs, oldest first (those of this transition last)."""
    saved = (
        StepRun.objects.filter(instance=tx.instance, step_id=step_id, state__fired=True)
        .exclude(status=StepStatus.WAITING)
        .order_by("id")
        .only("pk", "state")
    )
    new = [r for r in tx.new_runs if r.step_id == step_id and r.state.get("fired")]
    return [*saved, *new]
