"""A low-confidence AI decision reaches the approver's inbox, the approver overrides it
with a reason, the case continues through the engine, and the decision record shows both."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import Page, expect

from approvals.models import HumanTask
from audit.chain import Actor
from audit.models import DecisionRecord
from orchestration.engine.api import start_instance
from orchestration.models import FlowInstance
from tests.approvals.credit_flow import credit_flow
from tests.browser.conftest import screenshot, sign_in
from tests.factories import PASSWORD, TeamFactory, UserFactory
from tests.workers import wait_for

WAIT = 15_000  # ms: the shared test machine is often busy

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_an_approver_overrides_an_unsure_ai_and_the_record_shows_both(page: Page, celery_worker):
    review = TeamFactory(name="Credit review")
    UserFactory(username="riley", first_name="Riley", last_name="Reviewer", teams=[review])
    auditor = UserFactory(username="casey", first_name="Casey", last_name="Compliance")
    auditor.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    instance = start_instance(
        credit_flow(sla_minutes=120, name="Supplier payments"),
        {"amount": 12400, "supplier": "Lumen SARL", "country": "FR"},
        trigger="manual",
        actor=Actor.system("test"),
        business_key="PAY-7781",
    )

    wait_for(
        lambda: HumanTask.objects.filter(instance_id=instance.pk).exists(),
        what="the worker to hand the case to a person",
    )
    sign_in(page, "riley", PASSWORD)
    page.goto("/inbox/teams/")
    row = page.get_by_test_id("task-row").filter(has_text="PAY-7781")
    expect(row).to_contain_text("AI proposes approve (55%)", timeout=WAIT)
    expect(page.get_by_test_id("nav-inbox-badge")).to_have_text("1", timeout=WAIT)
    screenshot(page, "journey-1-team-queue")

    row.get_by_role("link").click()
    expect(page.get_by_test_id("ai-confidence")).to_have_text("55%", timeout=WAIT)
    expect(page.get_by_test_id("why-person")).to_contain_text(
        "Confidence below the threshold", timeout=WAIT
    )
    page.get_by_test_id("claim").click()
    expect(page.get_by_test_id("release")).to_be_visible(timeout=WAIT)
    screenshot(page, "journey-2-task")

    page.get_by_label("Reason").fill("Lumen SARL is under a payment investigation; hold it.")
    page.get_by_test_id("outcome-reject").click()
    expect(page.get_by_test_id("decided")).to_contain_text("Reject", timeout=WAIT)
    expect(page.get_by_test_id("decision-panel")).to_contain_text("Overrode the AI", timeout=WAIT)
    screenshot(page, "journey-3-decided")

    wait_for(
        lambda: FlowInstance.objects.get(pk=instance.pk).status == "succeeded",
        what="the case to continue and finish",
    )
    assert FlowInstance.objects.get(pk=instance.pk).data["paid"] is False

    record = DecisionRecord.objects.get(instance_id=instance.pk)
    page.get_by_test_id("logout").click()
    sign_in(page, "casey", PASSWORD)
    page.goto(f"/audit/decisions/{record.pk}/")
    expect(page.get_by_test_id("final-outcome")).to_have_text("reject", timeout=WAIT)
    expect(page.get_by_test_id("overrode")).to_be_visible(timeout=WAIT)
    expect(page.locator("body")).to_contain_text("under a payment investigation", timeout=WAIT)
    screenshot(page, "journey-4-decision-record")
