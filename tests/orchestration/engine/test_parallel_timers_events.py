from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.chain import Actor
from audit.models import AuditEvent
from orchestration.engine import dispatch, event_bus, transition
from orchestration.engine.api import emit_event, start_instance
from orchestration.models import InstanceStatus, StepRun, StepStatus, StoredEvent
from tests.orchestration.factories import definition, link, published, step

ACTOR = Actor.system("test")


def start(version, data=None):
    return start_instance(version, data or {}, trigger="manual", actor=ACTOR)


def split_join(mode: str, n: int | None = None, wait_branch: bool = False) -> dict:
    join_config = {"mode": mode, **({"n": n} if n else {})}
    slow = (
        step("c", "wait", config={"event": "go", "key": "'k'"})
        if wait_branch
        else step("c", "set", config={"assign": {"c": "3"}})
    )
    return definition(
        [
            step("start", "start"),
            step("split", "parallel"),
            step("a", "set", config={"assign": {"a": "1"}}),
            step("b", "set", config={"assign": {"b": "2"}}),
            slow,
            step("join", "join", config=join_config),
            step("end", "end"),
        ],
        [
            link("start", "split"),
            link("split", "a"),
            link("split", "b"),
            link("split", "c"),
            link("a", "join"),
            link("b", "join"),
            link("c", "join"),
            link("join", "end"),
        ],
    )


def runs(instance, step_id):
    return list(StepRun.objects.filter(instance=instance, step_id=step_id).order_by("id"))


def test_a_parallel_split_runs_every_branch_and_an_all_join_fires_once(engine):
    instance = start(published(split_join("all")))
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    assert {instance.data[k] for k in "abc"} == {1, 2, 3}
    joins = runs(instance, "join")
    assert len(joins) == 1
    assert sorted(joins[0].state["arrived"]) == ["a", "b", "c"]
    assert len(runs(instance, "end")) == 1


def test_an_all_join_waits_for_the_slow_branch(engine, monkeypatch):
    moves = []
    checked = transition.check_step_transition
    monkeypatch.setattr(
        transition,
        "check_step_transition",
        lambda run, to: (moves.append((run.step_id, run.status, to)), checked(run, to)),
    )
    instance = start(published(split_join("all", wait_branch=True)))
    engine.run()
    assert runs(instance, "join")[0].status == StepStatus.WAITING
    emit_event("go", "k", {}, actor=ACTOR)
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    # The join fired through the transition table, as every status change does.
    assert ("join", "waiting", "queued") in moves


def test_an_any_join_fires_on_the_first_branch_and_absorbs_the_rest(engine):
    instance = start(published(split_join("any", wait_branch=True)))
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    assert len(runs(instance, "join")) == 1
    assert len(runs(instance, "end")) == 1
    assert runs(instance, "c")[0].status == StepStatus.CANCELLED


def test_an_n_of_m_join_fires_when_n_branches_arrived(engine):
    instance = start(published(split_join("n", n=2, wait_branch=True)))
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    assert len(runs(instance, "join")[0].state["arrived"]) == 2


def timer_flow(seconds: int) -> dict:
    return definition(
        [
            step("start", "start"),
            step("pause", "timer", config={"duration_seconds": seconds}),
            step("end", "end"),
        ],
        [link("start", "pause"), link("pause", "end")],
    )


def test_a_timer_waits_until_the_sweep_finds_it_due(engine):
    instance = start(published(timer_flow(3600)))
    engine.run()
    pause = runs(instance, "pause")[0]
    assert pause.status == StepStatus.WAITING
    assert pause.due_at > timezone.now() + timedelta(minutes=59)
    engine.sweep()
    assert runs(instance, "pause")[0].status == StepStatus.WAITING
    engine.sweep(timedelta(hours=2))
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED


def wait_flow(timeout=None, on_timeout=None, window=None) -> dict:
    config = {"event": "supplier.delayed", "key": "data.order"}
    if window is not None:
        config["window_seconds"] = window
    if timeout:
        config["timeout_seconds"] = timeout
    steps = [step("start", "start"), step("wait", "wait", config=config), step("end", "end")]
    connections = [link("start", "wait"), link("wait", "end")]
    if on_timeout:
        config["on_timeout"] = "late"
        steps.append(step("late", "end", config={"result": "failure", "reason": "no news"}))
    return definition(steps, connections)


def test_an_event_reaches_the_case_waiting_for_its_key_only(engine):
    version = published(wait_flow())
    mine, other = start(version, {"order": "order-17"}), start(version, {"order": "order-18"})
    engine.run()
    emit_event("supplier.delayed", "order-17", {"days": 3}, actor=ACTOR)
    engine.run()
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.status == InstanceStatus.SUCCEEDED
    assert mine.outputs["wait"]["payload"] == {"days": 3}
    assert other.status == InstanceStatus.RUNNING


def test_a_wait_that_starts_after_the_event_still_sees_it(engine):
    emit_event("supplier.delayed", "order-17", {"days": 3}, actor=ACTOR)
    engine.run()
    instance = start(published(wait_flow()), {"order": "order-17"})
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED


def test_the_sweep_gives_a_missed_event_to_its_wait_however_many_others_wait(engine):
    version = published(wait_flow())
    for n in range(210):  # more waits than the sweep looks at in one go
        start(version, {"order": f"other-{n}"})
    mine = start(version, {"order": "order-17"})
    engine.run()
    # Stored, but its delivery message was lost.
    StoredEvent.objects.create(name="supplier.delayed", key="order-17", payload={"days": 1})
    engine.sweep()
    mine.refresh_from_db()
    assert mine.status == InstanceStatus.SUCCEEDED
    assert mine.outputs["wait"]["payload"] == {"days": 1}
    assert StepRun.objects.filter(step_id="wait", status=StepStatus.WAITING).count() == 210


def test_the_sweep_keeps_to_a_waits_window(engine):
    emit_event("supplier.delayed", "order-17", {"days": 3}, actor=ACTOR)
    engine.run()
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=True):
        instance = start(published(wait_flow(window=60)), {"order": "order-17"})
        engine.run()
    engine.sweep(timedelta(minutes=10, seconds=5))
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING  # the event came before its window
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=True):
        emit_event("supplier.delayed", "order-17", {"days": 4}, actor=ACTOR)
        engine.run()
    instance.refresh_from_db()
    assert instance.outputs["wait"]["payload"] == {"days": 4}


def test_a_late_delivery_keeps_to_a_waits_window(engine):
    event = StoredEvent.objects.create(name="supplier.delayed", key="order-17", payload={})
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=True):
        instance = start(published(wait_flow(window=60)), {"order": "order-17"})
        engine.run()
        event_bus.deliver_event(event.pk)  # its message was held up for ten minutes
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING


def test_a_flow_emits_an_event_another_flow_waits_for(engine):
    waiting = start(published(wait_flow(), slug="waiter"), {"order": "order-9"})
    emitter = definition(
        [
            step("start", "start"),
            step(
                "tell",
                "emit",
                config={
                    "event": "supplier.delayed",
                    "key": "data.order",
                    "payload": {"days": "data.days"},
                },
            ),
            step("end", "end"),
        ],
        [link("start", "tell"), link("tell", "end")],
    )
    start(published(emitter, slug="emitter"), {"order": "order-9", "days": 2})
    engine.run()
    waiting.refresh_from_db()
    assert waiting.status == InstanceStatus.SUCCEEDED
    assert waiting.outputs["wait"]["payload"] == {"days": 2}


def test_a_wait_times_out_onto_its_timeout_path(engine):
    instance = start(published(wait_flow(timeout=60, on_timeout=True)), {"order": "x"})
    engine.run()
    engine.sweep(timedelta(minutes=2))
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.FAILED
    assert instance.error == "no news"


def test_an_event_trigger_starts_a_flow(engine):
    defn = definition(
        [
            step(
                "start", "start", config={"triggers": [{"type": "event", "event": "order.placed"}]}
            ),
            step("end", "end"),
        ],
        [link("start", "end")],
    )
    version = published(defn)
    emit_event("order.placed", "order-1", {"total": 5}, actor=ACTOR)
    engine.run()
    instance = version.instances.get()
    assert instance.trigger == "event"
    assert instance.business_key == "order-1"
    assert instance.status == InstanceStatus.SUCCEEDED


@pytest.mark.parametrize(
    "trigger_key, flow_key, expected",
    [
        ("event.order_id", None, "O-9"),
        ("event.order_id + '/' + string(event.line)", "data.order_id", "O-9/2"),
        (None, "data.order_id", "O-9"),
        ("event.missing", None, "K-1"),
    ],
)
def test_an_event_started_case_takes_its_business_key_from_the_trigger_or_the_flow(
    engine, trigger_key, flow_key, expected
):
    trigger = {"type": "event", "event": "supplier.delayed"}
    if trigger_key:
        trigger["key"] = trigger_key
    defn = definition(
        [step("start", "start", config={"triggers": [trigger]}), step("end", "end")],
        [link("start", "end")],
        **({"business_key": flow_key} if flow_key else {}),
    )
    version = published(defn)
    emit_event("supplier.delayed", "K-1", {"order_id": "O-9", "line": 2}, actor=ACTOR)
    engine.run()
    assert version.instances.get().business_key == expected


@pytest.mark.parametrize("child_fails", [False, True])
def test_a_subflow_runs_and_reports_back_to_its_parent(engine, child_fails):
    child = definition(
        [
            step("start", "start"),
            step("calc", "set", config={"assign": {"total": "data.n * 10"}}),
            step(
                "end",
                "end",
                config={
                    "result": "failure" if child_fails else "success",
                    "reason": "child said no",
                },
            ),
        ],
        [link("start", "calc"), link("calc", "end")],
    )
    published(child, slug="child")
    parent = definition(
        [
            step("start", "start"),
            step(
                "call",
                "subflow",
                config={"flow": "child", "input": {"n": "data.n"}},
                on_error="fallback",
            ),
            step("fallback", "set", config={"assign": {"fell_back": "true"}}),
            step("end", "end"),
        ],
        [link("start", "call"), link("call", "end"), link("fallback", "end")],
    )
    instance = start(published(parent, slug="parent"), {"n": 4})
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    if child_fails:
        assert instance.data["fell_back"] is True
        assert "child said no" in instance.outputs["call"]["error"]
    else:
        assert instance.outputs["call"]["data"]["total"] == 40


def child_and_parent(parent_steps=(), parent_links=()) -> tuple:
    child = definition(
        [
            step("start", "start"),
            step("pause", "timer", config={"duration_seconds": 60}),
            step("end", "end"),
        ],
        [link("start", "pause"), link("pause", "end")],
    )
    published(child, slug="child")
    parent = definition(
        [
            step("start", "start"),
            step("call", "subflow", config={"flow": "child"}),
            step("end", "end"),
            *parent_steps,
        ],
        [link("start", "call"), link("call", "end"), *parent_links],
    )
    return published(parent, slug="parent")


def test_a_parent_whose_report_was_lost_hears_from_its_child_at_a_later_sweep(engine, monkeypatch):
    instance = start(child_and_parent())
    engine.run()
    with monkeypatch.context() as lost:
        lost.setattr(dispatch, "resume_parent_after_commit", lambda child_id: None)
        engine.sweep(timedelta(seconds=61))  # the child's timer fires and it ends
    child = instance.__class__.objects.get(parent_step_run__instance=instance)
    assert child.status == InstanceStatus.SUCCEEDED
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING, "the report was lost"
    engine.sweep(timedelta(minutes=3))
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED


def test_a_child_that_ends_while_its_parent_has_failed_reports_once_the_parent_resumes(engine):
    from orchestration.engine.api import skip_step

    version = child_and_parent(
        [step("split", "parallel"), step("broken", "action", config={"action": "tests.nope"})],
    )
    version.definition["connections"] = [
        link("start", "split"),
        link("split", "call"),
        link("split", "broken"),
        link("call", "join"),
        link("broken", "join"),
        link("join", "end"),
    ]
    version.definition["steps"].append(step("join", "join"))
    version.save()
    instance = start(version)
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.FAILED
    engine.sweep(timedelta(seconds=61))  # the child ends; its report is refused
    call = StepRun.objects.get(instance=instance, step_id="call")
    assert call.status == StepStatus.WAITING
    broken = StepRun.objects.filter(instance=instance, step_id="broken").latest("pk")
    skip_step(broken.pk, actor=ACTOR, reason="posted by hand")
    engine.run()
    engine.sweep(timedelta(minutes=3))
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED


def test_a_due_timer_of_a_failed_case_waits_for_the_case_and_then_fires(engine):
    instance = start(
        published(
            definition(
                [
                    step("start", "start"),
                    step("pause", "timer", config={"duration_seconds": 60}),
                    step("end", "end"),
                ],
                [link("start", "pause"), link("pause", "end")],
            )
        )
    )
    engine.run()
    type(instance).objects.filter(pk=instance.pk).update(status="failed")
    engine.sent.clear()
    engine.sweep(timedelta(minutes=5))
    assert engine.sent == [], "nothing is sent for a case that waits for an operator"
    type(instance).objects.filter(pk=instance.pk).update(status="running")
    engine.sweep(timedelta(minutes=5))
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED


def test_an_event_that_came_while_the_case_had_failed_reaches_its_wait_once_resumed(engine):
    from orchestration.engine.api import skip_step

    defn = split_join("all", wait_branch=True)
    defn["steps"][2] = step("a", "action", config={"action": "tests.nope"})
    # "a" fails a minute in, once the wait has begun.
    defn["steps"].append(step("later", "timer", config={"duration_seconds": 60}))
    defn["connections"][1] = link("split", "later")
    defn["connections"].append(link("later", "a"))
    instance = start(published(defn))
    engine.run()
    engine.sweep(timedelta(seconds=61))
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.FAILED
    emit_event("go", "k", {"late": True}, actor=ACTOR)
    engine.run()  # refused: the case has failed
    engine.sweep(timedelta(minutes=30))  # long past the sweep's own catch-up
    assert runs(instance, "c")[0].status == StepStatus.WAITING
    skip_step(runs(instance, "a")[-1].pk, actor=ACTOR, reason="done by hand")
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    assert instance.outputs["c"]["payload"] == {"late": True}


def test_a_child_case_is_cancelled_when_its_parent_ends_without_waiting_for_it(engine):
    version = child_and_parent([step("split", "parallel"), step("quick", "end")])
    version.definition["connections"] = [
        link("start", "split"),
        link("split", "call"),
        link("split", "quick"),
        link("call", "end"),
    ]
    version.save()
    instance = start(version)
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED  # "quick" ended the case
    child = instance.__class__.objects.get(parent_step_run__instance=instance)
    assert child.status == InstanceStatus.CANCELLED, "no orphan keeps working"
    assert (
        f"#{instance.pk}"
        in AuditEvent.objects.get(instance_id=child.pk, action="instance.cancelled").payload[
            "reason"
        ]
    )


def test_cancelling_a_parent_cancels_its_child_case(engine):
    from orchestration.engine.api import cancel_instance

    instance = start(child_and_parent())
    engine.run()
    cancel_instance(instance.pk, actor=ACTOR, reason="customer withdrew")
    engine.run()
    child = instance.__class__.objects.get(parent_step_run__instance=instance)
    assert child.status == InstanceStatus.CANCELLED
    reason = AuditEvent.objects.get(instance_id=child.pk, action="instance.cancelled")
    assert "customer withdrew" in reason.payload["reason"]


def test_a_sub_flow_step_that_times_out_cancels_its_child_and_a_retry_starts_a_new_one(engine):
    version = child_and_parent()
    version.definition["steps"][1].update(timeout_seconds=30, retry={"attempts": 2})
    version.save()
    instance = start(version)
    engine.run()
    engine.sweep(timedelta(seconds=31))  # the step's time limit passes before the child ends
    children = list(
        instance.__class__.objects.filter(parent_step_run__instance=instance).order_by("pk")
    )
    assert [c.status for c in children] == [InstanceStatus.CANCELLED]
    assert runs(instance, "call")[0].error_kind == "timeout"
    engine.sweep(timedelta(minutes=1))  # the retry is due: it starts a new child case
    children = instance.__class__.objects.filter(parent_step_run__instance=instance)
    assert sorted(c.status for c in children) == ["cancelled", "running"]


def test_a_child_left_running_when_its_cancel_was_lost_is_cancelled_by_the_sweep(
    engine, monkeypatch
):
    from orchestration.engine.api import cancel_instance

    instance = start(child_and_parent())
    engine.run()
    with monkeypatch.context() as lost:
        lost.setattr(dispatch, "cancel_children_after_commit", lambda *args: None)
        cancel_instance(instance.pk, actor=ACTOR, reason="customer withdrew")
        engine.run()
    child = instance.__class__.objects.get(parent_step_run__instance=instance)
    assert child.status == InstanceStatus.RUNNING, "the cancel message was lost"
    engine.sweep(timedelta(minutes=2))
    child.refresh_from_db()
    assert child.status == InstanceStatus.CANCELLED


def test_a_child_that_failed_stays_failed_for_its_owner_to_see(engine):
    child = definition(
        [step("start", "start"), step("no", "end", config={"result": "failure"})],
        [link("start", "no")],
    )
    published(child, slug="child")
    parent = definition(
        [step("start", "start"), step("call", "subflow", config={"flow": "child"})],
        [link("start", "call")],
    )
    instance = start(published(parent, slug="parent"))
    engine.run()
    engine.sweep(timedelta(minutes=5))
    kid = instance.__class__.objects.get(parent_step_run__instance=instance)
    assert kid.status == InstanceStatus.FAILED
