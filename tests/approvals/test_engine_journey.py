"""Through the real engine and a real Celery worker: approvals and decision reviews resume
the case, cancelling a case cancels its tasks, expiry takes the declared path."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals import actions
from approvals.escalation import sweep
from approvals.models import HumanTask
from audit.chain import Actor
from audit.models import DecisionRecord
from orchestration.engine.api import cancel_instance, start_instance
from orchestration.models import FlowInstance, StepRun
from tests.approvals.credit_flow import credit_flow
from tests.factories import TeamFactory, UserFactory
from tests.orchestration.factories import definition, link, published, step
from tests.workers import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ACTOR = Actor.system("test")


def approval_flow(**config):
    steps = [
        step("start", "start"),
        step(
            "approve_invoice",
            "approval",
            owner="team:Finance",
            sla={"minutes": 30},
            config={
                "assignees": ["team:Finance"],
                "outcomes": ["approve", "reject"],
                "expiry_path": "too_late",
                **config,
            },
        ),
        step("too_late", "set", config={"assign": {"late": "true"}}),
        step("end", "end", config={"result": "success"}),
    ]
    links = [
        link("start", "approve_invoice"),
        link("approve_invoice", "end"),
        link("too_late", "end"),
    ]
    return published(definition(steps, links))


@pytest.fixture
def people(transactional_db):
    review, finance = TeamFactory(name="Credit review"), TeamFactory(name="Finance")
    return {
        "riley": UserFactory(username="riley", teams=[review]),
        "alex": UserFactory(username="alex", teams=[finance]),
    }


def status(instance_id):
    return FlowInstance.objects.get(pk=instance_id).status


def test_a_confident_decision_runs_straight_through(celery_worker, people):
    instance = start_instance(
        credit_flow(), {"amount": 500, "supplier": "ACME"}, trigger="manual", actor=ACTOR
    )
    wait_for(lambda: status(instance.pk) != "running", what="the case to finish")
    instance.refresh_from_db()
    assert instance.status == "succeeded" and instance.data["paid"] is True
    record = DecisionRecord.objects.get(instance_id=instance.pk)
    assert (record.route, record.final_outcome, record.decided_by_kind) == (
        "automatic",
        "approve",
        "ai",
    )
    assert not HumanTask.objects.exists()


def test_an_unsure_decision_waits_for_a_person_who_overrides_it(celery_worker, people):
    instance = start_instance(
        credit_flow(), {"amount": 12000, "supplier": "ACME"}, trigger="manual", actor=ACTOR
    )
    wait_for(lambda: HumanTask.objects.filter(instance=instance).exists(), what="the review task")
    task = HumanTask.objects.get(instance=instance)
    assert task.kind == "review" and task.proposal["outcome"] == "approve"
    assert StepRun.objects.get(pk=task.step_run_id).status == "waiting"

    actions.decide(task, people["riley"], "reject", "Supplier is under investigation")
    wait_for(lambda: status(instance.pk) != "running", what="the case to finish")
    instance.refresh_from_db()
    assert instance.status == "succeeded" and instance.data["paid"] is False
    record = DecisionRecord.objects.get(instance_id=instance.pk)
    assert (record.proposed_outcome, record.final_outcome, record.overrode_ai) == (
        "approve",
        "reject",
        True,
    )
    assert record.decided_by == "riley"
    run = StepRun.objects.get(pk=task.step_run_id)
    assert run.output["outcome"] == "reject" and run.output["overrode_ai"] is True


def test_an_approval_resumes_the_case_and_a_second_decision_is_refused(celery_worker, people):
    instance = start_instance(approval_flow(), {"amount": 10}, trigger="manual", actor=ACTOR)
    wait_for(lambda: HumanTask.objects.filter(instance=instance).exists(), what="the task")
    task = HumanTask.objects.get(instance=instance)
    actions.decide(task, people["alex"], "approve", "")
    wait_for(lambda: status(instance.pk) == "succeeded", what="the case to finish")
    stale = HumanTask.objects.get(pk=task.pk)
    stale.status = "open"
    with pytest.raises(actions.TaskConflict, match="already decided"):
        actions.decide(stale, people["alex"], "reject", "changed my mind")


def test_cancelling_the_case_cancels_the_task_and_refuses_decisions(celery_worker, people):
    instance = start_instance(approval_flow(), {"amount": 10}, trigger="manual", actor=ACTOR)
    wait_for(lambda: HumanTask.objects.filter(instance=instance).exists(), what="the task")
    cancel_instance(instance.pk, actor=ACTOR, reason="Duplicate invoice")
    task = HumanTask.objects.get(instance=instance)
    assert task.status == "cancelled"
    with pytest.raises(actions.TaskConflict, match="cancelled"):
        actions.decide(task, people["alex"], "approve", "")


def test_the_final_deadline_takes_the_expiry_path(celery_worker, people):
    instance = start_instance(approval_flow(), {"amount": 10}, trigger="manual", actor=ACTOR)
    wait_for(lambda: HumanTask.objects.filter(instance=instance).exists(), what="the task")
    with time_machine.travel(timezone.now() + timedelta(minutes=31), tick=True):
        assert sweep() == 1
    wait_for(lambda: status(instance.pk) != "running", what="the case to finish")
    instance.refresh_from_db()
    assert instance.data.get("late") is True
    task = HumanTask.objects.get(instance=instance)
    assert (task.status, task.outcome) == ("expired", "expired")
