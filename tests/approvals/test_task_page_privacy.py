"""What a task page shows of other cases and of masked fields, and where bulk approval
goes back to."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from approvals.actions import open_task
from approvals.models import HumanTask
from orchestration import access
from tests.approvals.conftest import approval_step
from tests.factories import (
    FlowFactory,
    FlowInstanceFactory,
    FlowVersionFactory,
    StepRunFactory,
    UserFactory,
)


@pytest.fixture
def version(team):
    flow = FlowFactory(slug="supplier-changes", owner_team=team, masked_fields=["iban"])
    return FlowVersionFactory(flow=flow, number=1)


def task_of(version, key: str, data: dict, step: dict) -> HumanTask:
    instance = FlowInstanceFactory(version=version, business_key=key, data=data, input=data)
    run = StepRunFactory(
        instance=instance, step_id="approve_invoice", kind="approval", status="waiting"
    )
    return open_task(run, step, instance)


@pytest.fixture
def decided(version, alex):
    """A task of another case, decided by alex."""
    task = task_of(version, "SUP-1", {"supplier": "ACME", "iban": "DE00 1111"}, approval_step())
    HumanTask.objects.filter(pk=task.pk).update(
        status="done",
        outcome="reject",
        reason="The IBAN changed the day before",
        decided_at=timezone.now(),
        decided_by=alex,
    )
    return task


def page(client, user, task) -> str:
    client.force_login(user)
    response = client.get(reverse("approvals:task", args=[task.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_person_given_one_task_sees_no_other_cases_among_similar_ones(
    client, version, decided, db
):
    guest = UserFactory(username="gil")  # in no team, no permission on the flow
    mine = task_of(
        version,
        "SUP-2",
        {"supplier": "ACME", "iban": "DE00 2222"},
        approval_step(assignees={"user": "gil"}),
    )
    body = page(client, guest, mine)
    assert 'data-testid="similar-cases"' not in body
    assert "SUP-1" not in body and "The IBAN changed" not in body


def test_someone_who_may_view_the_flow_sees_similar_cases_with_masked_fields_masked(
    client, version, decided, leads, lee
):
    assign_perm(access.VIEW, leads, version.flow)
    step = approval_step(assignees={"user": "lee"}, fields=["supplier", "iban"])
    mine = task_of(version, "SUP-2", {"supplier": "ACME", "iban": "DE00 2222"}, step)
    body = page(client, lee, mine)
    similar = body.split('data-testid="similar-cases"')[1].split("</table>")[0]
    assert "SUP-1" in similar and "The IBAN changed the day before" in similar
    assert "DE00 1111" not in body and "masked" in similar


def test_the_task_page_masks_the_flows_masked_fields(client, version, alex):
    mine = task_of(version, "SUP-3", {"supplier": "ACME", "iban": "DE00 3333"}, approval_step())
    body = page(client, alex, mine)
    case_data = body.split('data-testid="case-data"')[1].split("</dl>")[0]
    assert "ACME" in case_data and "masked" in case_data
    assert "DE00 3333" not in body


@pytest.mark.parametrize("target", ["https://evil.example/phish", "//evil.example/"])
def test_bulk_approval_goes_back_only_to_podiums_own_pages(client, alex, target):
    client.force_login(alex)
    response = client.post(reverse("approvals:bulk_approve"), {"next": target})
    assert response["Location"] == reverse("approvals:inbox")
    response = client.post(reverse("approvals:bulk_approve"), {"next": "/inbox/?mine=1"})
    assert response["Location"] == "/inbox/?mine=1"
