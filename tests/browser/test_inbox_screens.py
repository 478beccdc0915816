"""Screens of the approval inbox, with realistic data; screenshots for review."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import Page, expect

from approvals import actions
from approvals.delegation import start_delegation
from approvals.models import HumanTask
from orchestration.decisions.service import decide
from tests.approvals.conftest import approval_step, engine, make_task  # noqa: F401
from tests.browser.conftest import screenshot, sign_in
from tests.factories import PASSWORD, TeamFactory, UserFactory
from tests.orchestration.decisions.conftest import case, decision_step

WAIT = 15_000  # ms: the shared test machine is often busy

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(engine):  # noqa: F811
    finance = TeamFactory(name="Finance")
    TeamFactory(name="Finance leads")
    review = TeamFactory(name="Credit review")
    alex = UserFactory(
        username="alex", first_name="Alex", last_name="Approver", teams=[finance, review]
    )
    blake = UserFactory(username="blake", first_name="Blake", last_name="Morgan", teams=[finance])
    alex.user_permissions.add(Permission.objects.get(codename="view_humantask"))
    invoice = {
        "supplier": "Acme Office Supplies",
        "amount": 18250.0,
        "currency": "EUR",
        "requested_by": "Dana Whitfield",
        "cost_centre": "CC-4410",
        "lines": [
            {"item": "Ergonomic chairs", "qty": 25, "unit_price": 530.0},
            {"item": "Standing desks", "qty": 6, "unit_price": 834.0},
        ],
        "delivery": {"city": "Lyon", "country": "FR"},
    }
    step = approval_step(
        allow_bulk=True,
        allow_request_changes=True,
        escalation={
            "notify_after_minutes": 60,
            "reassign_after_minutes": 120,
            "levels": ["Finance leads"],
        },
    )
    tasks = [
        make_task(step, data={**invoice, "amount": 1000.0 + 750 * i}, key=f"INV-2026-{i:04}")
        for i in range(8)
    ]
    make_task(
        approval_step(assignees={"user": "alex"}, sla={"minutes": 30}),
        data=invoice,
        key="INV-2026-0100",
    )
    HumanTask.objects.filter(pk=tasks[0].pk).update(
        due_at=timezone.now() - timedelta(hours=2),
        escalation_level=1,
        escalation_stage=2,
        status="escalated",
    )
    # Decisions: history for "similar cases", and one waiting for review.
    for amount, outcome in ((2100, "approve"), (2500, "approve"), (9000, "reject")):
        run, instance, context = case(amount=amount)
        d = decide(run, decision_step(), instance, context)
        if d.task:
            d.task.assignee_team = review
            actions.decide(
                d.task,
                alex,
                outcome,
                "Checked the supplier history" if outcome != d.task.ai_outcome else "",
            )
    run, instance, context = case(
        amount=2400, country="FR", customer="Lumen SARL", years_as_customer=4, open_invoices=2
    )
    review_task = decide(run, decision_step(), instance, context).task
    return {
        "alex": alex,
        "blake": blake,
        "finance": finance,
        "tasks": tasks,
        "review": review_task,
    }


def test_inbox_screens(page: Page, world):
    sign_in(page, "alex", PASSWORD)
    page.goto("/inbox/")
    expect(page.get_by_test_id("task-row").first).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("nav-inbox-badge")).to_be_visible(timeout=WAIT)
    screenshot(page, "inbox-my-tasks")

    page.get_by_role("link", name="Team queues").click()
    expect(page.get_by_test_id("task-table")).to_be_visible(timeout=WAIT)
    # The first queue shown depends on team names; the overdue task is Finance's.
    page.goto(f"/inbox/teams/{world['finance'].pk}/")
    expect(page.get_by_test_id("task-table")).to_be_visible(timeout=WAIT)
    screenshot(page, "inbox-team-queue")

    page.get_by_label("Due").select_option("overdue")
    expect(page.get_by_test_id("task-row")).to_have_count(1, timeout=WAIT)
    screenshot(page, "inbox-team-queue-filtered")

    page.goto(f"/tasks/{world['review'].pk}/")
    expect(page.get_by_test_id("ai-proposal")).to_contain_text("60%", timeout=WAIT)
    screenshot(page, "task-review")

    page.get_by_test_id("outcome-reject").click()
    expect(page.get_by_test_id("decision-form").locator("textarea.is-invalid")).to_be_visible(
        timeout=WAIT
    )
    page.get_by_label("Reason").fill("Two open invoices already; ask for a deposit first.")
    page.get_by_test_id("outcome-reject").click()
    expect(page.get_by_test_id("decided")).to_contain_text("Reject", timeout=WAIT)
    screenshot(page, "task-decided")

    page.goto(f"/tasks/{world['tasks'][3].pk}/")
    page.get_by_test_id("claim").click()
    expect(page.get_by_test_id("release")).to_be_visible(timeout=WAIT)
    screenshot(page, "task-approval-claimed")

    page.goto("/escalations/")
    expect(page.get_by_test_id("escalation-table")).to_be_visible(timeout=WAIT)
    screenshot(page, "escalations")

    start_delegation(
        world["alex"],
        world["blake"],
        timezone.now(),
        timezone.now() + timedelta(days=5),
        "Conference in Berlin",
    )
    page.goto("/inbox/away/")
    screenshot(page, "out-of-office")

    page.goto("/inbox/notifications/")
    screenshot(page, "notifications")


def test_a_second_approver_sees_a_clear_message(page: Page, world):
    task = world["tasks"][5]
    sign_in(page, "blake", PASSWORD)
    page.goto(f"/tasks/{task.pk}/")
    actions.decide(HumanTask.objects.get(pk=task.pk), world["alex"], "approve", "")
    page.get_by_test_id("outcome-approve").click()
    expect(page.get_by_test_id("decision-error")).to_contain_text(
        "already decided by Alex Approver", timeout=WAIT
    )
    screenshot(page, "task-conflict")


def test_keyboard_approves(page: Page, world):
    task = world["tasks"][6]
    sign_in(page, "blake", PASSWORD)
    page.goto(f"/tasks/{task.pk}/")
    page.keyboard.press("c")
    expect(page.get_by_test_id("release")).to_be_visible(timeout=WAIT)
    page.keyboard.press("a")
    expect(page.get_by_test_id("decided")).to_contain_text("Approve", timeout=WAIT)
    assert HumanTask.objects.get(pk=task.pk).outcome == "approve"
