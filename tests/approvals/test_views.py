"""Every inbox URL as assignee, teammate, team lead (view-all permission) and outsider."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals import actions
from approvals.models import HumanTask
from tests.approvals.conftest import approval_step, make_task
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


def as_user(client, user):
    client.force_login(user)
    return client


def task_urls(task):
    return {
        "task": ("get", reverse("approvals:task", args=[task.pk])),
        "claim": ("post", reverse("approvals:claim", args=[task.pk])),
        "release": ("post", reverse("approvals:release", args=[task.pk])),
        "decide": ("post", reverse("approvals:decide", args=[task.pk])),
    }


@pytest.mark.parametrize("name", ["task", "claim", "release", "decide"])
def test_an_outsider_gets_404_on_every_task_url(client, task, outsider, name, engine):
    method, url = task_urls(task)[name]
    response = getattr(as_user(client, outsider), method)(url, {"outcome": "approve"})
    assert response.status_code == 404
    assert HumanTask.objects.get(pk=task.pk).status == "open"


@pytest.mark.parametrize(
    "name", ["inbox", "team_queues", "nav_count", "escalations", "away", "notifications"]
)
def test_every_inbox_page_needs_a_sign_in(client, name):
    response = client.get(reverse(f"approvals:{name}"))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize(
    "name", ["inbox", "team_queues", "nav_count", "escalations", "away", "notifications"]
)
def test_every_inbox_page_opens_for_an_outsider_without_showing_others_tasks(
    client, task, outsider, name
):
    response = as_user(client, outsider).get(reverse(f"approvals:{name}"), follow=True)
    assert response.status_code == 200
    assert task.title.encode() not in response.content


def test_an_outsider_cannot_open_another_teams_queue(client, task, team, outsider):
    response = as_user(client, outsider).get(reverse("approvals:team_queue", args=[team.pk]))
    assert response.status_code == 404


def test_a_team_member_sees_the_queue_and_claims(client, task, team, alex):
    client = as_user(client, alex)
    response = client.get(reverse("approvals:team_queue", args=[team.pk]))
    assert response.status_code == 200
    assert task.title.encode() in response.content
    response = client.post(reverse("approvals:claim", args=[task.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert HumanTask.objects.get(pk=task.pk).claimed_by == alex
    assert b'id="decision-panel"' in response.content and b"<html" not in response.content
    response = client.get(reverse("approvals:inbox"))
    assert task.title.encode() in response.content
    queue = client.get(reverse("approvals:team_queue", args=[team.pk])).content.decode()
    assert "<td>Alex Approver</td>" in queue, "the queue names who claimed it by full name"


def test_a_teammate_cannot_decide_a_task_someone_claimed(client, task, alex, blake, engine):
    actions.claim(task, alex)
    response = as_user(client, blake).post(
        reverse("approvals:decide", args=[task.pk]), {"outcome": "approve"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 403
    assert b"Alex Approver is working on this task" in response.content
    assert engine.calls == []


def test_a_team_lead_with_view_all_can_look_but_not_act(client, task, auditor, engine):
    client = as_user(client, auditor)
    assert client.get(reverse("approvals:task", args=[task.pk])).status_code == 200
    response = client.post(reverse("approvals:decide", args=[task.pk]), {"outcome": "approve"})
    assert response.status_code == 403
    response = client.post(reverse("approvals:claim", args=[task.pk]))
    assert response.status_code == 403
    assert engine.calls == []


def test_deciding_twice_answers_409_with_a_message(client, task, alex, blake, engine):
    url = reverse("approvals:decide", args=[task.pk])
    first = as_user(client, alex).post(url, {"outcome": "approve"}, HTTP_HX_REQUEST="true")
    assert first.status_code == 200
    assert b"Decided <strong>Approve</strong>" in first.content
    second = as_user(client, blake).post(
        url, {"outcome": "reject", "reason": "no"}, HTTP_HX_REQUEST="true"
    )
    assert second.status_code == 409
    assert b"already decided by Alex Approver" in second.content
    assert HumanTask.objects.get(pk=task.pk).outcome == "approve"


def test_a_missing_override_reason_answers_422_and_keeps_the_task_open(client, team, alex, engine):
    task = make_task(
        kind="review",
        proposal={
            "outcome": "reject",
            "confidence": 0.55,
            "rationale": "Amount is unusual",
            "threshold": 0.8,
            "route_label": "Confidence below the threshold",
        },
    )
    client = as_user(client, alex)
    page = client.get(reverse("approvals:task", args=[task.pk]))
    assert b"Amount is unusual" in page.content and b"55%" in page.content
    response = client.post(
        reverse("approvals:decide", args=[task.pk]), {"outcome": "approve"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    assert b"Give a reason" in response.content
    assert HumanTask.objects.get(pk=task.pk).status == "open"


def test_a_decision_on_a_cancelled_case_shows_why(client, task, alex, engine):
    type(task.instance).objects.filter(pk=task.instance_id).update(status="cancelled")
    response = as_user(client, alex).post(
        reverse("approvals:decide", args=[task.pk]), {"outcome": "approve"}
    )
    assert response.status_code == 409
    assert b"This case is cancelled, so it takes no more decisions or events." in response.content


def test_a_task_of_a_failed_case_says_it_waits_for_the_case_to_be_resumed(client, task, alex):
    page = reverse("approvals:task", args=[task.pk])
    assert b'data-testid="decision-form"' in as_user(client, alex).get(page).content
    type(task.instance).objects.filter(pk=task.instance_id).update(status="failed")
    content = client.get(page).content.decode()
    assert 'data-testid="case-failed"' in content
    assert "once an operator resumes it" in content
    assert 'data-testid="decision-form"' not in content


def test_the_task_page_shows_the_case_readably(client, team, alex):
    task = make_task(
        data={
            "supplier": "ACME",
            "amount": 125000.5,
            "lines": [{"item": "Chairs", "qty": 4}],
            "address": {"city": "Lyon"},
        }
    )
    body = as_user(client, alex).get(reverse("approvals:task", args=[task.pk])).content.decode()
    assert "125,000.50" in body
    assert "<th>Item</th>" in body and "Chairs" in body
    assert "City" in body and "Lyon" in body
    case_data = body.split('data-testid="case-data"')[1].split("</dl>\n</div>")[0]
    assert "{" not in case_data and "&quot;" not in case_data


def test_nav_count_counts_my_tasks_and_unclaimed_team_tasks(client, task, alex):
    make_task(approval_step(assignees={"user": "alex"}), key="INV-2")
    response = as_user(client, alex).get(reverse("approvals:nav_count"))
    assert b">2<" in response.content


def test_filters_and_keyset_paging(client, team, alex):
    from approvals import queries

    for i in range(queries.PAGE_SIZE + 5):
        make_task(key=f"PO-{i:03}")
    make_task(key="ZZ-1")
    client = as_user(client, alex)
    url = reverse("approvals:team_queue", args=[team.pk])
    first = client.get(url)
    assert first.context_data["count"] == queries.PAGE_SIZE + 6
    cursor = first.context_data["next_cursor"]
    assert cursor
    rest = client.get(url, {"after": cursor}, HTTP_HX_REQUEST="true")
    seen = {r["id"] for r in first.context_data["rows"]} | {
        r["id"] for r in rest.context_data["rows"]
    }
    assert len(seen) == queries.PAGE_SIZE + 6
    assert rest.context_data["next_cursor"] == ""
    filtered = client.get(url, {"key": "zz"})
    assert [r["business_key"] for r in filtered.context_data["rows"]] == ["ZZ-1"]


def test_bulk_approve_from_the_list(client, team, alex, engine):
    tasks = [make_task(approval_step(allow_bulk=True), key=f"B-{i}") for i in range(2)]
    response = as_user(client, alex).post(
        reverse("approvals:bulk_approve"), {"task": [t.pk for t in tasks]}
    )
    assert response.status_code == 302
    assert HumanTask.objects.filter(status="done").count() == 2


def test_bulk_approve_skips_tasks_that_are_not_yours(client, task, outsider, engine):
    as_user(client, outsider).post(reverse("approvals:bulk_approve"), {"task": [task.pk]})
    assert HumanTask.objects.get(pk=task.pk).status == "open"


def test_out_of_office_form(client, team, alex, blake):
    client = as_user(client, alex)
    response = client.post(
        reverse("approvals:away"),
        {
            "delegate": blake.pk,
            "starts_at": "2026-01-01T09:00",
            "ends_at": "2099-01-01T09:00",
            "note": "Holiday",
        },
    )
    assert response.status_code == 302
    page = client.get(reverse("approvals:away"))
    assert b"Blake Teammate" in page.content


def test_escalations_page_lists_overdue_work_by_team(client, team, alex):
    task = make_task(approval_step(sla={"minutes": 1}))
    HumanTask.objects.filter(pk=task.pk).update(escalation_level=1, escalation_stage=2)
    make_task(approval_step(sla={"minutes": 30}))  # due soon, not escalated yet
    response = as_user(client, alex).get(reverse("approvals:escalations"))
    assert response.status_code == 200
    assert task.title.encode() in response.content
    assert b"Level 1" in response.content
    assert b"Not yet" in response.content and b"Level 0" not in response.content
    assert b'data-testid="case-failed"' not in response.content
    type(task.instance).objects.filter(pk=task.instance_id).update(status="failed")
    page = client.get(reverse("approvals:escalations")).content.decode()
    assert page.count('data-testid="case-failed"') == 1, "only the task of the failed case"
    assert "Escalated to level 1 · on hold" in page


@pytest.mark.parametrize("name", ["claim", "release", "decide"])
def test_actions_need_a_sign_in(client, task, name, engine):
    _method, url = task_urls(task)[name]
    response = client.post(url, {"outcome": "approve"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert HumanTask.objects.get(pk=task.pk).status == "open"


def test_actions_refuse_get(client, task, alex):
    for name in ("claim", "release", "decide"):
        assert as_user(client, alex).get(task_urls(task)[name][1]).status_code == 405


def test_someone_elses_absence_cannot_be_ended(client, team, alex, blake, outsider):
    from datetime import timedelta

    from django.utils import timezone

    from approvals.delegation import start_delegation

    delegation = start_delegation(alex, blake, timezone.now(), timezone.now() + timedelta(days=1))
    response = as_user(client, outsider).post(reverse("approvals:end_away", args=[delegation.pk]))
    assert response.status_code == 404
    delegation.refresh_from_db()
    assert delegation.ended_at is None
    response = as_user(client, alex).post(reverse("approvals:end_away", args=[delegation.pk]))
    assert response.status_code == 302


def test_notifications_are_private_and_can_be_marked_read(client, team, alex, outsider):
    from approvals.models import Notification

    make_task(approval_step(assignees={"user": "alex"}))
    assert (
        b"New task for you"
        not in as_user(client, outsider).get(reverse("approvals:notifications")).content
    )
    client = as_user(client, alex)
    assert b"New task for you" in client.get(reverse("approvals:notifications")).content
    client.post(reverse("approvals:notifications"))
    assert not Notification.objects.filter(user=alex, read_at__isnull=True).exists()


def test_the_task_page_shows_agreement_and_links_the_record_only_for_auditors(client, team, alex):
    from django.contrib.auth.models import Permission

    task = make_task(
        kind="review", proposal={"outcome": "approve", "confidence": 0.6, "threshold": 0.8}
    )
    assert (
        b"decision record"
        not in as_user(client, alex).get(reverse("approvals:task", args=[task.pk])).content
    )
    alex.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    alex = type(alex).objects.get(pk=alex.pk)
    # No record on this hand-made task, so still no link: it appears only with a record.
    assert (
        b"decision-record-link"
        not in as_user(client, alex).get(reverse("approvals:task", args=[task.pk])).content
    )


def test_a_team_queue_shows_nobody_for_an_unclaimed_task(client, team, alex):
    make_task()
    client.force_login(alex)
    body = client.get(reverse("approvals:team_queue", args=[team.pk])).content.decode()
    assert "None" not in body
    assert "<td>—</td>" in body


def test_team_queues_open_on_a_team_that_has_work(client, team, alex):
    empty = TeamFactory(name="Accounts")  # sorts before Finance, but has no tasks
    alex.groups.add(empty)
    make_task()
    client.force_login(alex)
    response = client.get(reverse("approvals:team_queues"))
    assert response.status_code == 302
    assert response["Location"] == reverse("approvals:team_queue", args=[team.pk])


def test_the_inbox_marks_a_task_whose_case_failed_and_leaves_it_out_of_bulk_approval(
    client, team, alex, engine
):
    task = make_task(approval_step(allow_bulk=True))
    client = as_user(client, alex)
    inbox = reverse("approvals:team_queue", args=[team.pk])
    row = client.get(inbox).context_data["rows"][0]
    assert (row["case_failed"], row["bulk"]) == (False, True)
    type(task.instance).objects.filter(pk=task.instance_id).update(status="failed")
    response = client.get(inbox)
    row = response.context_data["rows"][0]
    assert (row["case_failed"], row["bulk"]) == (True, False)
    assert 'data-testid="case-failed"' in response.content.decode()
    # A stale page that still offers the box: the task stays open and the person is told.
    response = client.post(reverse("approvals:bulk_approve"), {"task": [task.pk]}, follow=True)
    assert HumanTask.objects.get(pk=task.pk).status == "open"
    shown = [str(m) for m in response.context["messages"]]
    assert any("until an operator resumes it" in m for m in shown), shown
