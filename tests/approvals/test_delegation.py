"""Out of office: tasks follow the delegation and come back; both moves are recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.delegation import DelegationInvalid, end_delegation, start_delegation
from approvals.models import HumanTask
from approvals.tasks import sweep_escalations
from audit.models import AuditEvent
from tests.approvals.conftest import approval_step, make_task

pytestmark = pytest.mark.django_db


def personal_task(key="INV-9"):
    return make_task(approval_step(assignees={"user": "alex"}), key=key)


def test_open_tasks_follow_a_delegation_and_come_back(team, alex, blake):
    task = personal_task()
    now = timezone.now()
    delegation = start_delegation(alex, blake, now, now + timedelta(days=3), "Holiday")
    task.refresh_from_db()
    assert (task.assignee_user, task.delegated_from) == (blake, alex)
    new = personal_task("INV-10")
    assert (new.assignee_user, new.delegated_from) == (blake, alex)

    assert end_delegation(delegation, alex) == 2
    assert set(HumanTask.objects.values_list("assignee_user__username", flat=True)) == {"alex"}
    actions = set(AuditEvent.objects.filter(object_type="task").values_list("action", flat=True))
    assert {"task.delegation_moved", "task.delegation_returned"} <= actions
    assert AuditEvent.objects.filter(stream=f"user:{alex.pk}", action="delegation.created").exists()


def test_a_planned_delegation_starts_and_ends_with_the_sweep(team, alex, blake):
    task = personal_task()
    now = timezone.now()
    delegation = start_delegation(alex, blake, now + timedelta(hours=1), now + timedelta(hours=2))
    task.refresh_from_db()
    assert task.assignee_user == alex
    type(delegation).objects.filter(pk=delegation.pk).update(starts_at=now - timedelta(minutes=1))
    sweep_escalations()
    task.refresh_from_db()
    assert task.assignee_user == blake
    type(delegation).objects.filter(pk=delegation.pk).update(ends_at=now - timedelta(seconds=1))
    sweep_escalations()
    task.refresh_from_db()
    assert task.assignee_user == alex


def test_a_delegation_must_be_to_someone_else_who_is_not_away(team, alex, blake, outsider):
    now = timezone.now()
    with pytest.raises(DelegationInvalid):
        start_delegation(alex, alex, now, now + timedelta(days=1))
    start_delegation(blake, outsider, now, now + timedelta(days=1))
    with pytest.raises(DelegationInvalid, match="away then too"):
        start_delegation(alex, blake, now, now + timedelta(days=1))
