"""Operator actions on sub-flow cases, end steps and roll-backs: what the fourth engine
review found."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from audit.chain import Actor
from audit.models import AuditEvent
from orchestration.engine import runner
from orchestration.engine.api import (
    NotAllowedNow,
    cancel_instance,
    complete_waiting_step,
    resume_instance,
    retry_step,
    rollback_instance,
    skip_step,
    start_instance,
)
from orchestration.models import FlowInstance, InstanceStatus, StepRun, StepStatus
from orchestration.steps.base import PermanentError
from orchestration.steps.python_action import action
from tests.factories import TeamFactory, UserFactory
from tests.orchestration.factories import definition, link, published, step

A = Actor.system("test")
SERVICE = {"down": True}


@pytest.fixture(autouse=True)
def _service_down():
    SERVICE["down"] = True


@action("tests.until_mended", label="Fails until the service is back")
def until_mended() -> dict:
    if SERVICE["down"]:
        raise PermanentError("The service is down.")
    return {"ok": True}


@action("tests.fine", label="Always works")
def fine() -> dict:
    return {"ok": True}


def go(version, data=None):
    return start_instance(version, data or {}, trigger="manual", actor=A)


def runs(case, step_id):
    return list(StepRun.objects.filter(instance=case, step_id=step_id).order_by("id"))


def status(case):
    case.refresh_from_db()
    return case.status


def child_flow(middle: dict):
    """The flow `child`: start, `middle`, end."""
    return published(
        definition(
            [step("start", "start"), middle, step("end", "end")],
            [link("start", middle["id"]), link(middle["id"], "end")],
        ),
        slug="child",
    )


def failing_child():
    return child_flow(step("work", "action", config={"action": "tests.until_mended"}))


def calling_parent(**call):
    return published(
        definition(
            [
                step("start", "start"),
                step("call", "subflow", label="Book the trip", config={"flow": "child"}, **call),
                step("end", "end"),
            ],
            [link("start", "call"), link("call", "end")],
        ),
        slug="parent",
    )


def test_a_child_case_its_parent_no_longer_waits_for_is_not_moved_on(engine):
    failing_child()
    parent = go(calling_parent())
    engine.run()
    child = FlowInstance.objects.get(parent_step_run__instance=parent)
    assert (status(child), status(parent)) == (InstanceStatus.FAILED, InstanceStatus.FAILED)
    SERVICE["down"] = False
    why = f"Case #{parent.pk} no longer waits for this one: its step “Book the trip” failed."
    with pytest.raises(NotAllowedNow, match=why):
        retry_step(runs(child, "work")[0].pk, actor=A, reason="service back")
    with pytest.raises(NotAllowedNow, match=why):
        skip_step(runs(child, "work")[0].pk, actor=A, reason="done by hand")
    with pytest.raises(NotAllowedNow, match=why):
        resume_instance(child.pk, actor=A, reason="go on")
    # The way on is the parent's step: it starts a new child, which now succeeds.
    retry_step(runs(parent, "call")[0].pk, actor=A, reason="service back")
    engine.run()
    assert status(parent) == InstanceStatus.SUCCEEDED
    assert status(child) == InstanceStatus.FAILED
    cancel_instance(child.pk, actor=A, reason="replaced by the retry")
    assert status(child) == InstanceStatus.CANCELLED


def test_the_case_page_of_such_a_child_says_why_and_offers_only_cancel(engine, client):
    failing_child()
    parent = go(calling_parent())
    engine.run()
    child = FlowInstance.objects.get(parent_step_run__instance=parent)
    client.force_login(UserFactory(username="tia", is_superuser=True))
    page = client.get(reverse("orchestration:instance_detail", args=[child.pk]))
    body = page.content.decode()
    assert 'data-testid="detached"' in body
    assert f"Case #{parent.pk} no longer waits for this one" in body
    assert page.context["actionable_runs"] == []
    assert 'value="retry"' not in body and 'value="resume"' not in body
    assert 'value="cancel"' in body


def waiting_child():
    TeamFactory(name="Finance")
    return child_flow(step("approve", "approval", config={"assignees": ["team:Finance"]}))


def parent_failing_beside_its_child(**call):
    return published(
        definition(
            [
                step("start", "start"),
                step("split", "parallel"),
                step("a", "action", config={"action": "tests.until_mended"}),
                step("call", "subflow", config={"flow": "child"}, **call),
                step("join", "join"),
                step("end", "end"),
            ],
            [
                link("start", "split"),
                link("split", "call"),  # first, so its child starts before `a` fails
                link("split", "a"),
                link("a", "join"),
                link("call", "join"),
                link("join", "end"),
            ],
        ),
        slug="parent",
    )


def test_a_child_that_ended_while_its_parent_had_failed_reports_when_the_parent_goes_on(engine):
    waiting_child()
    parent = go(parent_failing_beside_its_child())
    engine.run()
    assert status(parent) == InstanceStatus.FAILED
    child = FlowInstance.objects.get(parent_step_run__instance=parent)
    complete_waiting_step(runs(child, "approve")[0].pk, {"outcome": "approve"}, actor=A)
    engine.run()
    assert status(child) == InstanceStatus.SUCCEEDED
    assert runs(parent, "call")[0].status == StepStatus.WAITING  # the report was refused
    SERVICE["down"] = False
    retry_step(runs(parent, "a")[0].pk, actor=A, reason="service back")
    engine.run()
    assert runs(parent, "call")[0].status == StepStatus.SUCCEEDED
    assert runs(parent, "call")[0].output["instance"] == child.pk
    assert status(parent) == InstanceStatus.SUCCEEDED


def test_a_child_that_ended_is_its_result_not_a_time_out_when_the_deadline_passed(engine):
    waiting_child()
    parent = go(parent_failing_beside_its_child(timeout_seconds=3600))
    engine.run()
    child = FlowInstance.objects.get(parent_step_run__instance=parent)
    complete_waiting_step(runs(child, "approve")[0].pk, {"outcome": "approve"}, actor=A)
    engine.run()
    engine.queue.clear()  # the report to the parent is lost
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=True):
        SERVICE["down"] = False
        retry_step(runs(parent, "a")[0].pk, actor=A, reason="service back")
        runner.process(runs(parent, "call")[0].pk, "test-worker")  # due: the time limit
    call = runs(parent, "call")
    assert [r.status for r in call] == [StepStatus.SUCCEEDED]
    assert call[0].output["instance"] == child.pk


def test_an_end_step_is_not_skipped(engine):
    case = go(
        published(
            definition(
                [
                    step("start", "start"),
                    step("split", "parallel"),
                    step("a", "action", config={"action": "tests.until_mended"}),
                    step("b", "action", config={"action": "tests.fine"}),
                    step("a_end", "end"),
                    step("b_end", "end", config={"result": "failure", "reason": "'B says no'"}),
                ],
                [
                    link("start", "split"),
                    link("split", "a"),
                    link("split", "b"),
                    link("a", "a_end"),
                    link("b", "b_end"),
                ],
            )
        )
    )
    engine.queue.clear()
    runner.process(runs(case, "split")[0].pk, "test-worker")
    runner.process(runs(case, "b")[0].pk, "test-worker")
    runner.process(runs(case, "a")[0].pk, "test-worker")  # the case fails; b_end waits
    (b_end,) = runs(case, "b_end")
    assert (status(case), b_end.status) == (InstanceStatus.FAILED, StepStatus.QUEUED)
    with pytest.raises(NotAllowedNow, match="An end step cannot be skipped"):
        skip_step(b_end.pk, actor=A, reason="skip the end")
    assert status(case) == InstanceStatus.FAILED


def test_a_case_being_rolled_back_is_not_cancelled_half_undone(engine):
    TeamFactory(name="Finance")
    case = go(
        published(
            definition(
                [
                    step("start", "start"),
                    step(
                        "book", "set", config={"assign": {"booked": "true"}}, compensation="unbook"
                    ),
                    step("pause", "timer", config={"duration_seconds": 600}),
                    step("unbook", "approval", config={"assignees": ["team:Finance"]}),
                    step("end", "end"),
                ],
                [link("start", "book"), link("book", "pause"), link("pause", "end")],
            )
        )
    )
    engine.run()
    rollback_instance(case.pk, actor=A, reason="order withdrawn")
    engine.run()
    assert status(case) == InstanceStatus.COMPENSATING
    with pytest.raises(NotAllowedNow, match="it would stay half undone"):
        cancel_instance(case.pk, actor=A, reason="give up")
    assert status(case) == InstanceStatus.COMPENSATING


def test_skipping_one_of_two_failed_paths_warns_that_the_other_is_still_failed(engine, client):
    case = go(
        published(
            definition(
                [
                    step("start", "start"),
                    step("split", "parallel"),
                    step("a", "action", config={"action": "tests.until_mended"}),
                    step("b", "action", label="Book", config={"action": "tests.until_mended"}),
                    step("join", "join"),
                    step("end", "end"),
                ],
                [
                    link("start", "split"),
                    link("split", "a"),
                    link("split", "b"),
                    link("a", "join"),
                    link("b", "join"),
                    link("join", "end"),
                ],
            )
        )
    )
    engine.run()
    retry_step(runs(case, "a")[0].pk, actor=A, reason="try again")
    engine.queue.clear()
    runner.process(runs(case, "b")[0].pk, "test-worker")  # fails too, before a's retry runs
    assert [r.status for r in runs(case, "a") + runs(case, "b")] == [
        StepStatus.FAILED,
        StepStatus.QUEUED,
        StepStatus.FAILED,
    ]
    client.force_login(UserFactory(username="tia", is_superuser=True))
    page = client.post(
        reverse("orchestration:instance_act", args=[case.pk]),
        {"action": "skip", "step_run": runs(case, "a")[1].pk, "reason": "done by hand"},
        follow=True,
    )
    shown = [str(m) for m in page.context["messages"]]
    assert shown == [
        "Step skipped.",
        "Still failed: “Book”. What comes after it waits until you retry or skip it.",
    ]


CASE: dict[str, int] = {}


@action("tests.pay_while_cancelled", label="Pays while an operator cancels the case")
def pay_while_cancelled() -> dict:
    cancel_instance(CASE["id"], actor=A, reason="customer withdrew")
    return {"payment_id": "PAY-1"}


def test_a_call_that_went_through_while_the_case_was_cancelled_is_kept(engine):
    version = published(
        definition(
            [
                step("start", "start"),
                step("pay", "action", config={"action": "tests.pay_while_cancelled"}),
                step("end", "end"),
            ],
            [link("start", "pay"), link("pay", "end")],
        )
    )
    case = go(version)
    CASE["id"] = case.pk
    engine.run()
    assert status(case) == InstanceStatus.CANCELLED
    (pay,) = runs(case, "pay")
    assert (pay.status, pay.output) == (StepStatus.SUCCEEDED, {"payment_id": "PAY-1"})
    assert runs(case, "end") == []
    kept = AuditEvent.objects.get(instance_id=case.pk, action="step.succeeded", object_id=pay.pk)
    assert kept.payload["note"].startswith("The call was under way when the case stopped")
