"""Where cases are now, as the cases list says it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orchestration.current_steps import CaseNow, CurrentStep, current_steps
from orchestration.models import FlowInstance
from tests.factories import FlowInstanceFactory, FlowVersionFactory, StepRunFactory

pytestmark = pytest.mark.django_db

DEFINITION = {
    "steps": [
        {"id": "approve", "kind": "approval", "label": "Manager approves"},
        {"id": "pay", "kind": "http", "label": "Pay the supplier"},
        {"id": "tell", "kind": "notify", "label": "Tell the requester"},
        {"id": "nap", "kind": "timer"},
    ],
    "connections": [],
}


@pytest.fixture
def version():
    return FlowVersionFactory(definition=DEFINITION)


def case(version, status="running", **runs):
    instance = FlowInstanceFactory(version=version, status=status)
    for step_id, run_status in runs.items():
        kind = next(s["kind"] for s in DEFINITION["steps"] if s["id"] == step_id)
        StepRunFactory(instance=instance, step_id=step_id, kind=kind, status=run_status)
    return instance


def test_a_running_case_is_at_its_steps_in_progress_in_words(version):
    waiting = case(version, approve="waiting")
    retrying = case(version, approve="succeeded", pay="retry_wait")
    sleeping = case(version, nap="waiting")
    now = current_steps([waiting, retrying, sleeping])
    assert now[waiting.pk] == CaseNow(
        [CurrentStep("Manager approves", "waiting", "Waiting for a person")]
    )
    assert now[retrying.pk].steps == [
        CurrentStep("Pay the supplier", "retry_wait", "Waiting to retry")
    ]
    # A step without a label goes by its id.
    assert now[sleeping.pk].steps == [CurrentStep("nap", "waiting", "Waiting for its time")]


def test_parallel_steps_are_named_up_to_two_then_counted(version):
    branching = case(version, approve="waiting", pay="running", tell="queued", nap="waiting")
    now = current_steps([branching])[branching.pk]
    assert [s.label for s in now.steps] == ["Manager approves", "Pay the supplier"]
    assert [s.doing for s in now.steps] == ["Waiting for a person", "Running"]
    assert now.more == 2


def test_a_failed_case_is_at_its_latest_failure_with_its_error(version):
    failed = FlowInstanceFactory(version=version, status="failed")
    StepRunFactory(instance=failed, step_id="pay", kind="http", status="failed", error="Said 503")
    StepRunFactory(instance=failed, step_id="tell", kind="notify", status="failed", error="No mail")
    StepRunFactory(instance=failed, step_id="approve", kind="approval", status="waiting")
    assert current_steps([failed])[failed.pk] == CaseNow(
        [CurrentStep("Tell the requester", "failed", "Failed", "No mail")]
    )


def test_finished_cases_are_nowhere_and_a_running_case_ignores_past_failures(version):
    done = case(version, status="succeeded", approve="succeeded", pay="succeeded")
    recovered = case(version, pay="failed", tell="queued")
    # Its failed payment took the error path, to an end with `result: failure`.
    ended = case(version, status="failed", pay="failed")
    FlowInstance.objects.filter(pk=ended.pk).update(finished_at=timezone.now())
    ended.refresh_from_db()
    now = current_steps([done, recovered, ended])
    assert done.pk not in now and ended.pk not in now
    assert now[recovered.pk].steps == [CurrentStep("Tell the requester", "queued", "About to run")]


def test_it_asks_the_database_once_however_many_cases(version):
    cases = [case(version, approve="waiting") for _ in range(5)]
    with CaptureQueriesContext(connection) as queries:
        now = current_steps(cases)
    assert len(now) == 5
    assert len(queries) == 1
