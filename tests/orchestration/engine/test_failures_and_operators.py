from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from approvals.models import HumanTask, TaskStatus
from audit.chain import Actor
from audit.models import AuditEvent
from orchestration.engine import notifications, runner
from orchestration.engine import sweep as sweep_module
from orchestration.engine.api import (
    EngineError,
    NotAllowedNow,
    cancel_instance,
    complete_waiting_step,
    resume_instance,
    retry_step,
    rollback_instance,
    skip_step,
    start_instance,
)
from orchestration.models import InstanceStatus, StepRun, StepStatus
from orchestration.steps.base import PermanentError, RetryableError
from orchestration.steps.python_action import action
from tests.factories import TeamFactory, UserFactory
from tests.orchestration.factories import definition, link, published, step

ACTOR = Actor.system("test")
CALLS: dict[str, int] = {}


@action("tests.flaky", label="Fails twice, then works")
def flaky(name: str) -> dict:
    CALLS[name] = CALLS.get(name, 0) + 1
    if CALLS[name] < 3:
        raise RetryableError(f"not yet ({CALLS[name]})")
    return {"calls": CALLS[name]}


@action("tests.broken", label="Always fails for good")
def broken() -> dict:
    raise PermanentError("the ledger rejected the entry")


@action("tests.book", label="Book something")
def book(item: str) -> dict:
    return {"booked": item}


@action("tests.rate", label="Answers with a rate that is not a number")
def rate() -> dict:
    return {"rate": float("nan")}


@pytest.fixture(autouse=True)
def _reset_calls():
    CALLS.clear()


def start(version, data=None):
    return start_instance(version, data or {}, trigger="manual", actor=ACTOR)


def one_action(name: str, args: dict | None = None, **step_extra) -> dict:
    steps = [
        step("start", "start"),
        step("act", "action", config={"action": name, "arguments": args or {}}, **step_extra),
        step("end", "end"),
    ]
    connections = [link("start", "act"), link("act", "end")]
    if "on_error" in step_extra:
        steps.append(step("handle", "set", config={"assign": {"handled": "true"}}))
        connections.append(link("handle", "end"))
    return definition(steps, connections)


def attempts(instance, step_id="act"):
    return list(StepRun.objects.filter(instance=instance, step_id=step_id).order_by("attempt"))


def test_a_retryable_error_is_retried_until_the_third_attempt_succeeds(engine):
    defn = one_action(
        "tests.flaky",
        {"name": "'a'"},
        retry={"attempts": 3, "backoff_seconds": 0.01, "jitter": False},
    )
    instance = start(published(defn))
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    runs = attempts(instance)
    assert [r.status for r in runs] == ["failed", "failed", "succeeded"]
    assert len({r.idempotency_key for r in runs}) == 1
    assert instance.outputs["act"] == {"calls": 3}


def test_exhausted_retries_take_the_error_path(engine):
    defn = one_action(
        "tests.flaky",
        {"name": "'b'"},
        on_error="handle",
        retry={"attempts": 2, "backoff_seconds": 0.01, "jitter": False},
    )
    instance = start(published(defn))
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    assert instance.data["handled"] is True
    assert [r.status for r in attempts(instance)] == ["failed", "failed"]


def test_a_permanent_error_is_not_retried_and_fails_the_case_and_tells_the_exception_owner(
    engine, settings
):
    settings.PODIUM_BASE_URL = "https://podium.example.com"
    team = TeamFactory(name="Exceptions")
    UserFactory(username="eve", email="eve@example.com", teams=[team])
    instance = start(published(one_action("tests.broken"), exception_owner_team=team))
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.FAILED
    assert "ledger rejected" in instance.error
    assert len(attempts(instance)) == 1
    assert attempts(instance)[0].traceback
    assert mail.outbox[0].to == ["eve@example.com"]
    assert "failed" in mail.outbox[0].subject
    assert f"https://podium.example.com/instances/{instance.pk}/" in mail.outbox[0].body


def test_an_output_with_nan_takes_the_error_path_instead_of_breaking_the_write(engine):
    instance = start(published(one_action("tests.rate", on_error="handle")))
    engine.run()
    instance.refresh_from_db()
    assert (instance.status, instance.data["handled"]) == (InstanceStatus.SUCCEEDED, True)
    (failed,) = attempts(instance)
    assert failed.error == (
        "The step gave an infinite or undefined number (NaN or infinity) in output.rate, "
        "which cannot be stored."
    )


def test_a_division_by_zero_fails_the_step_with_a_plain_message(engine):
    defn = definition(
        [
            step("start", "start"),
            step("ratio", "set", config={"assign": {"ratio": "data.paid / data.count"}}),
            step("end", "end"),
        ],
        [link("start", "ratio"), link("ratio", "end")],
    )
    instance = start(published(defn), {"paid": 10.0, "count": 0.0})
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.FAILED
    assert "The expression gave an infinite or undefined number" in instance.error
    assert "ratio" not in instance.data


def test_the_audit_trail_has_the_steps_failure_before_the_case_failing(engine):
    instance = start(published(one_action("tests.broken")))
    engine.run()
    instance.refresh_from_db()
    # Named by its label, as people know it, not by its id.
    assert instance.error == "“Act” failed: the ledger rejected the entry"
    actions = list(
        AuditEvent.objects.filter(stream=instance.audit_stream)
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["step.failed", "instance.failed"]


def test_a_step_that_runs_past_its_lease_times_out_and_is_retried(engine):
    defn = one_action(
        "tests.book",
        {"item": "'x'"},
        timeout_seconds=1,
        retry={"attempts": 2, "backoff_seconds": 0.01, "jitter": False},
    )
    instance = start(published(defn))
    run = attempts(instance)[0]
    # A worker claimed the run and then vanished without finishing it.
    StepRun.objects.filter(pk=run.pk).update(
        status=StepStatus.RUNNING, started_at=timezone.now(), due_at=timezone.now()
    )
    engine.queue.clear()
    engine.sweep(timedelta(seconds=5))
    instance.refresh_from_db()
    runs = attempts(instance)
    assert runs[0].status == StepStatus.FAILED
    assert runs[0].error_kind == "timeout"
    assert runs[1].status == StepStatus.SUCCEEDED
    assert instance.status == InstanceStatus.SUCCEEDED


def test_a_lost_message_is_sent_again_by_the_sweep(engine):
    instance = start(published(one_action("tests.book", {"item": "'x'"})))
    engine.queue.clear()  # the broker lost it
    engine.sweep()
    assert attempts(instance)[0].status == StepStatus.QUEUED
    engine.sweep(timedelta(minutes=2))
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED


def test_the_same_message_delivered_twice_completes_the_step_once(engine):
    instance = start(published(one_action("tests.book", {"item": "'x'"})))
    run = attempts(instance)[0]
    engine.queue.append(engine.queue[0])
    engine.run()
    assert len(attempts(instance)) == 1
    assert (
        AuditEvent.objects.filter(
            stream=f"instance:{instance.pk}", action="step.succeeded", object_id=str(run.pk)
        ).count()
        == 1
    )
    assert runner.process(run.pk) == []


def compensating_flow() -> dict:
    return definition(
        [
            step("start", "start"),
            step(
                "reserve",
                "action",
                config={"action": "tests.book", "arguments": {"item": "'room'"}},
                compensation="release",
            ),
            step(
                "charge",
                "action",
                config={"action": "tests.book", "arguments": {"item": "'card'"}},
                compensation="refund",
            ),
            step("check", "branch"),
            step("ok", "end"),
            step("no", "end", config={"result": "failure", "reason": "customer declined"}),
            step("release", "set", config={"assign": {"released": "true"}}),
            step("refund", "set", config={"assign": {"refunded": "true"}}),
        ],
        [
            link("start", "reserve"),
            link("reserve", "charge"),
            link("charge", "check"),
            link("check", "no", condition="data.decline"),
            link("check", "ok", default=True),
        ],
    )


def test_a_failure_end_runs_compensations_in_reverse_order(engine):
    instance = start(published(compensating_flow()), {"decline": True})
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPENSATED
    order = list(
        StepRun.objects.filter(instance=instance, step_id__in=["release", "refund"])
        .order_by("id")
        .values_list("step_id", flat=True)
    )
    assert order == ["refund", "release"]
    assert instance.data["released"] is True and instance.data["refunded"] is True
    assert set(
        StepRun.objects.filter(instance=instance, step_id__in=["reserve", "charge"]).values_list(
            "status", flat=True
        )
    ) == {"compensated"}


def failing_then_fixable() -> dict:
    return one_action("tests.flaky", {"name": "'op'"}, retry={"attempts": 1})


def paused_compensating_flow() -> dict:
    """Two steps with compensations done, then a ten-minute pause: a case to roll back."""
    defn = compensating_flow()
    defn["steps"][3] = step("check", "timer", config={"duration_seconds": 600})
    defn["connections"] = [
        link("start", "reserve"),
        link("reserve", "charge"),
        link("charge", "check"),
        link("check", "ok"),
    ]
    return defn


def test_an_operator_retries_a_failed_step_and_the_case_continues(engine):
    instance = start(published(failing_then_fixable()))
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.FAILED
    with pytest.raises(EngineError, match="reason"):
        retry_step(attempts(instance)[0].pk, actor=ACTOR, reason=" ")
    retry_step(attempts(instance)[0].pk, actor=ACTOR, reason="ledger is back")
    engine.run()
    retry_step(attempts(instance)[1].pk, actor=ACTOR, reason="once more")
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    event = AuditEvent.objects.filter(action="step.retried").first()
    assert event.payload["reason"] == "ledger is back"


def test_an_operator_cannot_retry_an_old_attempt(engine):
    instance = start(published(failing_then_fixable()))
    engine.run()
    first = attempts(instance)[0]
    retry_step(first.pk, actor=ACTOR, reason="again")
    engine.run()
    with pytest.raises(NotAllowedNow, match="newer attempt"):
        retry_step(first.pk, actor=ACTOR, reason="again")


def test_an_operator_skips_a_failed_step_with_a_reason(engine):
    instance = start(published(one_action("tests.broken")))
    engine.run()
    skip_step(
        attempts(instance)[0].pk, actor=ACTOR, reason="booked by hand", output={"manual": True}
    )
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    assert instance.outputs["act"] == {"manual": True}
    assert AuditEvent.objects.get(action="step.skipped").payload["reason"] == "booked by hand"


def test_an_operator_cancels_a_waiting_case_and_it_cannot_be_cancelled_twice(engine):
    defn = definition(
        [
            step("start", "start"),
            step("pause", "timer", config={"duration_seconds": 600}),
            step("end", "end"),
        ],
        [link("start", "pause"), link("pause", "end")],
    )
    instance = start(published(defn))
    engine.run()
    cancel_instance(instance.pk, actor=ACTOR, reason="customer withdrew")
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.CANCELLED
    assert attempts(instance, "pause")[0].status == StepStatus.CANCELLED
    with pytest.raises(NotAllowedNow, match=r"has ended \(cancelled\)"):
        cancel_instance(instance.pk, actor=ACTOR, reason="again")
    engine.sweep(timedelta(hours=1))
    assert attempts(instance, "end") == []


def test_resume_re_dispatches_a_stuck_case(engine):
    instance = start(published(one_action("tests.book", {"item": "'x'"})))
    engine.queue.clear()
    resume_instance(instance.pk, actor=ACTOR, reason="worker was down")
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED


def test_an_operator_rolls_back_a_running_case(engine):
    defn = paused_compensating_flow()
    instance = start(published(defn))
    engine.run()
    rollback_instance(instance.pk, actor=ACTOR, reason="order cancelled by customer")
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPENSATED
    assert instance.data["refunded"] is True


def test_a_lost_message_of_a_case_being_rolled_back_is_sent_again_by_the_sweep(engine):
    defn = paused_compensating_flow()
    instance = start(published(defn))
    engine.run()
    rollback_instance(instance.pk, actor=ACTOR, reason="order cancelled by customer")
    engine.queue.clear()  # the broker lost the first compensation's message
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPENSATING
    engine.sweep(timedelta(minutes=2))
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPENSATED
    assert instance.data["refunded"] is True


def test_a_running_case_with_nothing_to_run_is_flagged_stuck_once_and_its_owner_told(engine):
    team = TeamFactory(name="Exceptions")
    UserFactory(username="eve", email="eve@example.com", teams=[team])
    version = published(one_action("tests.book", {"item": "'x'"}), exception_owner_team=team)
    instance = start(version)
    StepRun.objects.filter(instance=instance).exclude(step_id="start").update(
        status=StepStatus.CANCELLED
    )
    engine.sweep(timedelta(minutes=5))
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING
    assert instance.stuck_since is not None
    stuck = AuditEvent.objects.filter(instance_id=instance.pk, action="instance.stuck")
    assert stuck.count() == 1
    assert "no end step was reached" in stuck.get().payload["reason"]
    ((message,),) = [mail.outbox]
    assert message.to == ["eve@example.com"]
    assert "is stuck" in message.subject
    assert "no step left to run" in message.body
    engine.sweep(timedelta(minutes=10))
    assert stuck.count() == 1 and len(mail.outbox) == 1


def test_a_case_being_rolled_back_with_nothing_left_to_run_is_flagged_stuck(engine):
    team = TeamFactory(name="Exceptions")
    UserFactory(username="eve", email="eve@example.com", teams=[team])
    defn = paused_compensating_flow()
    instance = start(published(defn, exception_owner_team=team))
    engine.run()
    rollback_instance(instance.pk, actor=ACTOR, reason="order cancelled by customer")
    engine.queue.clear()
    StepRun.objects.filter(instance=instance, status=StepStatus.QUEUED).update(
        status=StepStatus.CANCELLED
    )
    engine.sweep(timedelta(minutes=5))
    instance.refresh_from_db()
    assert (instance.status, instance.stuck_since is not None) == (
        InstanceStatus.COMPENSATING,
        True,
    )
    stuck = AuditEvent.objects.get(instance_id=instance.pk, action="instance.stuck")
    assert "the roll-back did not finish" in stuck.payload["reason"]
    ((message,),) = [mail.outbox]
    assert "is being rolled back but has no step left to run" in message.body


def test_a_case_that_moves_again_is_not_flagged_nor_its_owner_told(engine):
    instance = start(published(one_action("tests.book", {"item": "'x'"})))
    # Chosen by the sweep, but a step is queued by the time its lock is taken.
    assert sweep_module._flag_stuck(instance.pk, timezone.now()) is False
    assert not AuditEvent.objects.filter(action="instance.stuck").exists()
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    notifications.notify_exception_owner(instance.pk)
    assert mail.outbox == []


def test_automated_steps_with_compensations_roll_back_even_within_one_transaction(engine):
    defn = definition(
        [
            step("start", "start"),
            step("hold", "set", config={"assign": {"held": "true"}}, compensation="unhold"),
            step("note", "set", config={"assign": {"noted": "true"}}, compensation="unnote"),
            step("no", "end", config={"result": "failure", "reason": "rule says no"}),
            step("unhold", "set", config={"assign": {"held": "false"}}),
            step("unnote", "set", config={"assign": {"noted": "false"}}),
        ],
        [link("start", "hold"), link("hold", "note"), link("note", "no")],
    )
    instance = start(published(defn))
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPENSATED
    assert instance.data == {"held": False, "noted": False}
    order = list(
        StepRun.objects.filter(instance=instance, step_id__startswith="un")
        .order_by("id")
        .values_list("step_id", flat=True)
    )
    assert order == ["unnote", "unhold"]
    assert set(
        StepRun.objects.filter(instance=instance, step_id__in=["hold", "note"]).values_list(
            "status", flat=True
        )
    ) == {"compensated"}


def finance_approval() -> dict:
    return step(
        "approve",
        "approval",
        config={"assignees": ["team:Finance"], "outcomes": ["approve", "reject"]},
    )


def test_a_step_whose_outcome_the_paths_after_it_read_cannot_be_skipped_or_retried(engine):
    TeamFactory(name="Finance")
    defn = definition(
        [
            step("start", "start"),
            finance_approval() | {"label": "Finance approves"},
            step("pay", "set", config={"assign": {"paid": "true"}}),
            step("done", "end"),
        ],
        [
            link("start", "approve"),
            link("approve", "pay", condition='steps.approve.outcome == "approve"'),
            link("approve", "done", default=True),
            link("pay", "done"),
        ],
    )
    instance = start(published(defn))
    engine.run()
    waiting = StepRun.objects.get(instance=instance, step_id="approve")
    with pytest.raises(NotAllowedNow) as refused:
        skip_step(waiting.pk, actor=ACTOR, reason="Manager is away")
    assert str(refused.value) == (
        "“Finance approves” cannot be skipped: the path after it depends on what it gives, "
        "and a skipped step gives nothing. Decide its task in the inbox instead."
    )
    with pytest.raises(NotAllowedNow, match="this one has not failed; choose"):
        retry_step(waiting.pk, actor=ACTOR, reason="try again")
    waiting.refresh_from_db()
    assert waiting.status == "waiting"


def test_a_case_rolled_back_by_its_end_step_cancels_its_open_tasks(engine):
    TeamFactory(name="Finance")
    defn = definition(
        [
            step("start", "start"),
            step("split", "parallel"),
            finance_approval(),
            step("done", "end"),
            step("hold", "set", config={"assign": {"held": "true"}}, compensation="unhold"),
            step("no", "end", config={"result": "failure", "reason": "credit check says no"}),
            step("unhold", "set", config={"assign": {"held": "false"}}),
        ],
        [
            link("start", "split"),
            link("split", "approve"),
            link("split", "hold"),
            link("approve", "done"),
            link("hold", "no"),
        ],
    )
    instance = start(published(defn))
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPENSATED
    assert attempts(instance, "approve")[0].status == StepStatus.CANCELLED
    task = HumanTask.objects.get(instance=instance)
    assert task.status == TaskStatus.CANCELLED


def test_a_failure_end_ends_the_case_and_cancels_what_else_was_in_progress(engine):
    TeamFactory(name="Finance")
    team = TeamFactory(name="Exceptions")
    UserFactory(username="eve", email="eve@example.com", teams=[team])
    defn = definition(
        [
            step("start", "start"),
            step("split", "parallel"),
            finance_approval(),
            step("done", "end"),
            step("no", "end", config={"result": "failure", "reason": "credit check says no"}),
        ],
        [
            link("start", "split"),
            link("split", "approve"),
            link("split", "no"),
            link("approve", "done"),
        ],
    )
    instance = start(published(defn, exception_owner_team=team))
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.FAILED
    assert instance.error == "credit check says no"
    assert instance.has_ended and instance.finished_at is not None
    assert attempts(instance, "approve")[0].status == StepStatus.CANCELLED
    assert HumanTask.objects.get(instance=instance).status == TaskStatus.CANCELLED
    # The flow chose this outcome: there is nothing for the exception owner to put right.
    assert mail.outbox == []
    notifications.notify_exception_owner(instance.pk)
    assert mail.outbox == []


def test_a_case_that_ended_at_a_failure_end_takes_no_operator_action(engine):
    defn = one_action("tests.broken", on_error="no")
    defn["steps"].append(step("no", "end", config={"result": "failure", "reason": "not booked"}))
    instance = start(published(defn))
    engine.run()
    instance.refresh_from_db()
    assert (instance.status, instance.has_ended) == (InstanceStatus.FAILED, True)
    failed = attempts(instance)[0]
    assert failed.status == StepStatus.FAILED  # it took its error path, to the failure end
    refusal = r"This case has ended \(failed\), so it can no longer be changed\."
    events = AuditEvent.objects.filter(instance_id=instance.pk).count()
    with pytest.raises(NotAllowedNow, match=refusal):
        retry_step(failed.pk, actor=ACTOR, reason="try again")
    with pytest.raises(NotAllowedNow, match=refusal):
        skip_step(failed.pk, actor=ACTOR, reason="done by hand")
    for act in (cancel_instance, resume_instance, rollback_instance):
        with pytest.raises(NotAllowedNow, match=refusal):
            act(instance.pk, actor=ACTOR, reason="tidy up")
    instance.refresh_from_db()
    assert (instance.status, len(attempts(instance))) == (InstanceStatus.FAILED, 1)
    assert AuditEvent.objects.filter(instance_id=instance.pk).count() == events


def test_a_decision_on_a_case_that_failed_elsewhere_waits_for_the_case_to_be_resumed(engine):
    TeamFactory(name="Finance")
    defn = definition(
        [
            step("start", "start"),
            step("split", "parallel"),
            finance_approval(),
            step("post", "action", config={"action": "tests.broken"}),
            step("join", "join"),
            step("end", "end"),
        ],
        [
            link("start", "split"),
            link("split", "approve"),
            link("split", "post"),
            link("approve", "join"),
            link("post", "join"),
            link("join", "end"),
        ],
    )
    instance = start(published(defn))
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.FAILED
    waiting = attempts(instance, "approve")[0]
    with pytest.raises(NotAllowedNow, match="until an operator resumes it"):
        complete_waiting_step(waiting.pk, {"outcome": "approve"}, actor=ACTOR)
    assert attempts(instance, "approve")[0].status == StepStatus.WAITING


def test_an_operator_retries_a_failed_compensation_and_the_roll_back_finishes(engine):
    CALLS.clear()
    defn = compensating_flow()
    # Refunding fails twice for good, then works when an operator retries it.
    defn["steps"][7] = step(
        "refund",
        "action",
        config={"action": "tests.flaky", "arguments": {"name": "'refund'"}},
        retry={"attempts": 1},
    )
    instance = start(published(defn), {"decline": True})
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.FAILED
    assert "roll-back" in instance.error.lower() or "Rolling back" in instance.error
    failed = attempts(instance, "refund")[-1]
    retry_step(failed.pk, actor=ACTOR, reason="the bank is back")
    engine.run()
    failed = attempts(instance, "refund")[-1]
    retry_step(failed.pk, actor=ACTOR, reason="once more")
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPENSATED
    assert attempts(instance, "reserve")[0].status == StepStatus.COMPENSATED
    assert instance.data.get("released") is True


def test_an_operator_skips_a_failed_compensation_and_the_roll_back_goes_on(engine):
    defn = compensating_flow()
    defn["steps"][7] = step("refund", "action", config={"action": "tests.broken"})
    instance = start(published(defn), {"decline": True})
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.FAILED
    skip_step(attempts(instance, "refund")[-1].pk, actor=ACTOR, reason="refunded by phone")
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPENSATED, "not 'succeeded'"
    assert instance.data.get("released") is True, "the remaining compensation ran"
    assert attempts(instance, "charge")[0].status == StepStatus.COMPENSATED
