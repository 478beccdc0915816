"""A process owner opens a flow, starts a case from the generated form and watches it run.

The real engine runs the case on a real Celery worker; the timeline refreshes by itself.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from orchestration.models import FlowInstance
from tests.browser.conftest import screenshot, sign_in
from tests.factories import (
    PASSWORD,
    FlowFactory,
    FlowInstanceFactory,
    FlowVersionFactory,
    StepRunFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

INVOICE_YAML = """\
format: podium/v1
flow:
  name: Invoice approval
  slug: invoice-approval
  owner: team:Finance
  description: Classifies supplier invoices and records the outcome.
input_schema:
  type: object
  required: [supplier, amount]
  properties:
    supplier: {type: string, title: Supplier, maxLength: 80}
    amount: {type: number, title: Amount (EUR), minimum: 0, maximum: 1000000}
    urgent: {type: boolean, title: Urgent}
steps:
- {id: start, kind: start, label: Start, owner: "system:podium",
   config: {triggers: [{type: manual}]}}
- {id: classify, kind: set, label: Classify the invoice, owner: "team:Finance",
   config: {assign: {large: "data.amount > 5000"}}}
- {id: record, kind: set, label: Record the outcome, owner: "team:Finance",
   config: {assign: {checked: "true"}}}
- {id: end, kind: end, label: End, owner: "system:podium", config: {result: success}}
connections:
- {from: start, to: classify}
- {from: classify, to: record}
- {from: record, to: end}
"""


def test_a_process_owner_starts_a_case_and_sees_its_timeline(page: Page, celery_worker):
    finance = TeamFactory(name="Finance")
    UserFactory(username="olivia", first_name="Olivia", last_name="Owner", teams=[finance])

    sign_in(page, "olivia", PASSWORD)
    page.goto("/flows/")
    page.get_by_test_id("import-yaml").click()
    page.get_by_label("…or paste the YAML").fill(INVOICE_YAML.replace("kind: set", "kind: sett", 1))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("import-problems")).to_contain_text("sett")
    screenshot(page, "journey-import-problems")
    page.get_by_label("…or paste the YAML").fill(INVOICE_YAML)
    page.get_by_role("button", name="Import").click()
    page.wait_for_url("**/flows/invoice-approval/")
    expect(page.get_by_test_id("versions")).to_contain_text("Draft")

    page.once("dialog", lambda dialog: dialog.accept("First version"))
    page.get_by_test_id("versions").get_by_role("button", name="Publish").click()
    expect(page.get_by_test_id("versions")).to_contain_text("Published")
    expect(page.get_by_test_id("versions")).to_contain_text("First version")
    screenshot(page, "journey-flow-published")

    form = page.get_by_test_id("start-form")
    form.get_by_label("Supplier").fill("ACME Ltd")
    form.get_by_label("Amount (EUR)").fill("-5")
    form.get_by_role("button", name="Start").click()
    expect(page.locator("#id_amount")).to_have_class(re.compile("is-invalid"))
    screenshot(page, "journey-start-form-error")

    page.get_by_test_id("start-form").get_by_label("Amount (EUR)").fill("7200")
    page.get_by_test_id("start-form").get_by_label("Business key").fill("INV-2041")
    page.get_by_test_id("start-form").get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r"/instances/\d+/$"))

    live = page.get_by_test_id("live")
    expect(live).to_have_attribute("data-active", "false", timeout=15_000)
    expect(live.locator("[data-status]").first).to_be_visible()
    expect(page.get_by_test_id("timeline").locator('[data-step="classify"]')).to_have_attribute(
        "data-status", "succeeded"
    )
    expect(live).to_contain_text("Succeeded")
    instance = FlowInstance.objects.get()
    assert instance.business_key == "INV-2041"
    assert instance.data["large"] is True
    screenshot(page, "journey-instance-finished")


@pytest.mark.django_db(transaction=True)
def test_the_timeline_refreshes_by_itself_and_stops_when_the_case_ends(page: Page):
    finance = TeamFactory(name="Finance")
    UserFactory(username="olivia", teams=[finance])
    version = FlowVersionFactory(flow=FlowFactory(owner_team=finance))
    case = FlowInstanceFactory(version=version, status="running")
    StepRunFactory(instance=case, step_id="check", status="running")
    sign_in(page, "olivia", PASSWORD)
    page.goto(f"/instances/{case.pk}/")
    live = page.get_by_test_id("live")
    expect(live).to_have_attribute("data-active", "true")
    page.get_by_label("Reason").fill("half-typed reason")

    StepRunFactory(instance=case, step_id="pay", status="succeeded")
    FlowInstance.objects.filter(pk=case.pk).update(status="succeeded", finished_at=timezone.now())
    expect(live.locator('[data-step="pay"]')).to_be_visible(timeout=6_000)
    expect(live).to_have_attribute("data-active", "false")
    expect(live).not_to_have_attribute("hx-trigger", re.compile(".*"))
