"""Opening, claiming, deciding and cancelling human tasks (engine faked)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from approvals import actions
from approvals.models import HumanTask, Notification, TaskStatus
from audit.models import AuditEvent
from tests.approvals.conftest import approval_step, make_task
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_it_queues_a_task_for_the_declared_team_with_a_deadline(task, team):
    assert task.assignee_team == team
    assert task.assignee_user is None
    assert task.status == TaskStatus.OPEN
    assert task.outcomes == ["approve", "reject"]
    assert task.title == f"Approve invoice · {task.flow.name} · INV-1"
    assert abs((task.due_at - timezone.now()) - timedelta(minutes=240)) < timedelta(seconds=5)
    assert task.next_escalation_at == task.due_at
    assert AuditEvent.objects.filter(stream=f"task:{task.pk}", action="task.opened").exists()


def test_it_is_idempotent_for_a_redelivered_step(task):
    again = actions.open_task(task.step_run, approval_step(), task.instance)
    assert again.pk == task.pk
    assert HumanTask.objects.count() == 1


def test_it_assigns_a_person_and_notifies_them_by_email_and_in_app(
    db, alex, django_capture_on_commit_callbacks, settings
):
    settings.PODIUM_BASE_URL = "https://podium.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        task = make_task(approval_step(assignees={"user": "alex"}))
    assert task.assignee_user == alex
    assert Notification.objects.filter(user=alex, task=task).exists()
    assert mail.outbox[0].to == ["alex@example.com"]
    # A link that opens from a mail client: the full address, not a path.
    assert f"https://podium.example.com/tasks/{task.pk}/" in mail.outbox[0].body


def test_it_falls_back_to_the_flows_exception_owner_when_the_team_is_unknown(db, team):
    task = make_task(approval_step(assignees={"team": "Nobody"}, sla={"minutes": 5}))
    assert task.assignee_team == task.flow.owner_team


def test_every_task_gets_a_deadline_even_without_an_sla(db, team, settings):
    settings.PODIUM_TASK_DEFAULT_SLA_MINUTES = 60
    step = approval_step()
    del step["sla"]
    task = make_task(step)
    assert task.due_at is not None


def test_a_teammate_claims_and_releases(task, alex, blake):
    actions.claim(task, alex)
    task.refresh_from_db()
    assert (task.status, task.claimed_by, task.assignee_user) == ("claimed", alex, alex)
    with pytest.raises(actions.TaskConflict, match="Alex Approver has claimed"):
        actions.claim(task, blake)
    actions.release(task, alex)
    task.refresh_from_db()
    assert (task.status, task.claimed_by, task.assignee_user) == ("open", None, None)


def test_a_decision_resumes_the_case_through_the_engine(task, alex, engine):
    actions.decide(task, alex, "approve", "")
    task.refresh_from_db()
    assert (task.status, task.outcome, task.decided_by) == ("done", "approve", alex)
    [call] = engine.calls
    assert call["output"]["outcome"] == "approve"
    assert call["output"]["decided_by"] == "alex"
    assert call["actor"].id == str(alex.pk)
    assert AuditEvent.objects.filter(stream=f"task:{task.pk}", action="task.decided").exists()


def test_it_rejects_a_second_decision_with_a_message(task, alex, blake, engine):
    actions.decide(task, alex, "approve", "")
    stale = HumanTask.objects.get(pk=task.pk)
    stale.status = "open"  # as the second approver's page still shows it
    with pytest.raises(actions.TaskConflict, match="already decided by Alex Approver: approve"):
        actions.decide(stale, blake, "reject", "too expensive")
    assert len([c for c in engine.calls if c["finished"]]) == 1
    assert HumanTask.objects.get(pk=task.pk).outcome == "approve"


def test_a_decision_on_a_cancelled_case_is_refused(task, alex, engine):
    type(task.instance).objects.filter(pk=task.instance_id).update(status="cancelled")
    with pytest.raises(actions.DecisionRefused, match="This case is cancelled, so it takes no"):
        actions.decide(task, alex, "approve", "")
    assert HumanTask.objects.get(pk=task.pk).status == "open"


def test_unknown_outcomes_are_refused(task, alex, engine):
    with pytest.raises(actions.InvalidDecision):
        actions.decide(task, alex, "maybe", "")
    assert engine.calls == []


def test_overriding_the_ai_needs_a_reason(db, team, alex, engine):
    task = make_task(kind="review", proposal={"outcome": "reject", "confidence": 0.6})
    with pytest.raises(actions.InvalidDecision, match="proposed “reject”"):
        actions.decide(task, alex, "approve", "  ")
    actions.decide(task, alex, "approve", "Known supplier")
    assert engine.calls[0]["output"]["reason"] == "Known supplier"


def test_request_changes_only_where_the_step_allows_it(db, team, alex, engine):
    plain = make_task()
    with pytest.raises(actions.InvalidDecision, match="does not allow"):
        actions.decide(plain, alex, "request_changes", "fix the VAT")
    allowed = make_task(approval_step(allow_request_changes=True), key="INV-2")
    with pytest.raises(actions.InvalidDecision, match="Say what should change"):
        actions.decide(allowed, alex, "request_changes", "")
    actions.decide(allowed, alex, "request_changes", "fix the VAT")
    assert engine.calls[-1]["output"]["outcome"] == "request_changes"


def test_cancelling_the_case_cancels_its_open_tasks_with_the_reason(task):
    assert actions.cancel_open_tasks(task.instance, "The case was cancelled: duplicate") == 1
    task.refresh_from_db()
    assert task.status == "cancelled" and task.next_escalation_at is None
    assert task.cancellation_note == "This task was cancelled. The case was cancelled: duplicate."


def test_bulk_approve_only_where_the_step_allows_it(db, team, alex, engine):
    bulk = [make_task(approval_step(allow_bulk=True), key=f"B-{i}") for i in range(3)]
    single = make_task(key="S-1")
    approved, problems = actions.bulk_approve([*bulk, single], alex, "")
    assert approved == 3
    assert problems == [f"{single.title}: this step must be decided one at a time."]
    assert HumanTask.objects.filter(status="done").count() == 3


def test_the_claimant_only_can_decide_a_claimed_task(task, alex, blake, engine):
    actions.claim(task, alex)
    task.refresh_from_db()
    with pytest.raises(actions.TaskConflict):
        actions._mark_done(task, blake, "approve", "")


def test_inactive_users_are_not_notified(db, team):
    ghost = UserFactory(username="ghost", is_active=False)
    task = make_task(approval_step(assignees={"user": ghost.username}))
    assert task.assignee_user is None  # inactive people are never assigned


def test_skipping_a_step_cancels_its_tasks_only(db, team):
    first, second = make_task(key="A"), make_task(key="B")
    assert actions.cancel_step_tasks(first.step_run, "The step was skipped: paid by phone") == 1
    assert HumanTask.objects.get(pk=first.pk).status == "cancelled"
    assert HumanTask.objects.get(pk=second.pk).status == "open"
