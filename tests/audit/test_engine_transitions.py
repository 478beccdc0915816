"""Property: whatever flow a process owner draws, every engine transition of its cases
leaves its audit event, on a chain that verifies and ends at the head kept on the case."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.chain import Actor
from audit.models import AuditEvent
from audit.verification import verify_stream
from orchestration.engine.api import (
    cancel_instance,
    complete_waiting_step,
    retry_step,
    skip_step,
    start_instance,
)
from orchestration.models import FlowInstance, StepRun
from tests.orchestration.engine.driver import EngineDriver
from tests.orchestration.factories import definition, link, published, step

ACTOR = Actor.system("property test")
MIDDLE_KINDS = ["set", "bad_set", "timer", "approval", "branch"]
# What each final step-run status must have left on the chain.
EXPECTED = {
    "succeeded": {"step.succeeded", "step.completed"},
    "failed": {"step.failed"},
    "waiting": {"step.waiting"},
    "skipped": {"step.skipped"},
    "cancelled": {"step.cancelled"},
    "compensated": {"step.compensated", "step.succeeded"},
}


def _step(sid: str, kind: str) -> dict:
    if kind == "set":
        return step(sid, "set", config={"assign": {sid: "1"}})
    if kind == "bad_set":  # refers to a field the data never has: a permanent failure
        return step(sid, "set", config={"assign": {sid: "data.missing.deeper + 1"}})
    if kind == "timer":
        return step(sid, "timer", config={"duration_seconds": 60})
    if kind == "approval":
        return step(sid, "approval", config={"assignees": "team:Property testers"})
    return step(sid, "branch")


def random_flow(kinds: list[str], ends_in_failure: bool) -> dict:
    ids = [f"s{i}" for i in range(len(kinds))]
    steps = [step("start", "start")] + [_step(s, k) for s, k in zip(ids, kinds, strict=True)]
    steps.append(
        step(
            "end",
            "end",
            config={"result": "failure" if ends_in_failure else "success", "reason": "generated"},
        )
    )
    steps.append(step("other_end", "end"))
    order = ["start", *ids, "end"]
    links = []
    for here, there in itertools.pairwise(order):
        if here in ids and kinds[ids.index(here)] == "branch":
            links += [
                link(here, there, condition="data.flag"),
                link(here, "other_end", default=True),
            ]
        else:
            links.append(link(here, there))
    return definition(steps, links)


def drive(engine: EngineDriver, instance: FlowInstance) -> None:
    """Run the case to its end: approve open tasks, let timers fire."""
    engine.run()
    for round_ in range(1, 21):
        instance.refresh_from_db()
        if instance.status != "running":
            return
        waiting = list(StepRun.objects.filter(instance=instance, status="waiting"))
        if not waiting:
            return
        for run in waiting:
            if run.kind == "approval":
                complete_waiting_step(run.pk, {"outcome": "approve", "reason": "ok"}, actor=ACTOR)
        engine.sweep(later=timedelta(minutes=5 * round_))  # each timer is set later
        engine.run()


def operate(engine: EngineDriver, instance: FlowInstance, operator: str) -> bool:
    """What an operator may do to the case: skip or retry its failed step, or cancel it.
    Whether they could: a case that reached a failure end has ended."""
    instance.refresh_from_db()
    if instance.has_ended:
        return False
    failed = StepRun.objects.filter(instance=instance, status="failed").order_by("-id").first()
    if operator == "cancel" and instance.status in ("running", "failed"):
        cancel_instance(instance.pk, actor=ACTOR, reason="Duplicate case")
    elif operator == "skip" and failed is not None:
        skip_step(failed.pk, actor=ACTOR, reason="Done by hand", output={})
    elif operator == "retry" and failed is not None:
        retry_step(failed.pk, actor=ACTOR, reason="Try again")
    drive(engine, instance)
    return True


@pytest.mark.django_db
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kinds=st.lists(st.sampled_from(MIDDLE_KINDS), min_size=1, max_size=6),
    flag=st.booleans(),
    ends_in_failure=st.booleans(),
    operator=st.sampled_from(["none", "skip", "retry", "cancel", "cancel_early"]),
)
def test_every_transition_of_a_random_flow_leaves_its_event(
    monkeypatch, kinds, flag, ends_in_failure, operator
):
    from tests.factories import TeamFactory, UserFactory

    UserFactory(username="pat", teams=[TeamFactory(name="Property testers")])
    engine = EngineDriver(monkeypatch)
    version = published(random_flow(kinds, ends_in_failure))
    instance = start_instance(version, {"flag": flag}, trigger="manual", actor=ACTOR)
    if operator == "cancel_early":
        engine.run()
        operated = operate(engine, instance, "cancel")
    else:
        drive(engine, instance)
        operated = operate(engine, instance, operator)
    instance.refresh_from_db()

    events = list(AuditEvent.objects.filter(stream=instance.audit_stream).order_by("seq"))
    assert events[0].action == "instance.started"  # also the start step's record
    assert instance.audit_seq == len(events) and instance.audit_hash == events[-1].hash
    assert verify_stream(instance.audit_stream).ok
    by_step: dict[str, set[str]] = {}
    for event in events:
        by_step.setdefault(str((event.payload or {}).get("step", "")), set()).add(event.action)
    for run in StepRun.objects.filter(instance=instance).exclude(kind="start"):
        left = by_step.get(run.step_id, set())
        if run.status == "cancelled":  # cancelled with the case: the case's event says so
            left = left | (
                {"step.cancelled"} if "instance.cancelled" in {e.action for e in events} else set()
            )
        expected = EXPECTED.get(run.status, {f"step.{run.status}"})
        assert left & expected, f"{run.step_id} ({run.kind}) is {run.status} but left {left}"
        if run.kind in ("approval", "timer") and run.status == "succeeded":
            assert "step.waiting" in left, f"{run.step_id} never recorded that it waited"
    actions = {e.action for e in events}
    assert instance.status != "running", "the generated case never finished"
    assert f"instance.{instance.status}" in actions
    recorded = {"skip": "step.skipped", "retry": "step.retried"}.get(operator)
    if operated and recorded and "step.failed" in actions:
        assert recorded in actions, f"the operator's {operator} left no event"
