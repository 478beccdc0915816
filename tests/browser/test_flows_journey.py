"""A process owner opens a flow, starts a case from the generated form and watches it run.

The real engine runs the case on a real Celery worker; the timeline refreshes by itself.
"""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import Page, expect

from orchestration.models import FlowInstance
from tests.browser.conftest import screenshot, sign_in
from tests.factories import PASSWORD, TeamFactory, UserFactory
from tests.orchestration.factories import definition, link, published, step

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

INPUT_SCHEMA = {
    "type": "object",
    "required": ["supplier", "amount"],
    "properties": {
        "supplier": {"type": "string", "title": "Supplier", "maxLength": 80},
        "amount": {"type": "number", "title": "Amount (EUR)", "minimum": 0, "maximum": 1000000},
        "urgent": {"type": "boolean", "title": "Urgent"},
    },
}


def invoice_flow(team):
    steps = [
        step("start", "start", config={"triggers": [{"type": "manual"}]}),
        step(
            "classify",
            "set",
            label="Classify the invoice",
            config={"assign": {"large": "data.amount > 5000"}},
        ),
        step("record", "set", label="Record the outcome", config={"assign": {"checked": "true"}}),
        step("end", "end", config={"result": "success"}),
    ]
    chain = ["start", "classify", "record", "end"]
    defn = definition(
        steps,
        [link(a, b) for a, b in itertools.pairwise(chain)],
        input_schema=INPUT_SCHEMA,
    )
    return published(defn, name="Invoice approval", slug="invoice-approval", owner_team=team)


def test_a_process_owner_starts_a_case_and_sees_its_timeline(page: Page, celery_worker):
    finance = TeamFactory(name="Finance")
    UserFactory(username="olivia", first_name="Olivia", last_name="Owner", teams=[finance])
    invoice_flow(finance)

    sign_in(page, "olivia", PASSWORD)
    page.goto("/flows/")
    page.get_by_role("link", name="Invoice approval").click()
    expect(page.get_by_test_id("versions")).to_contain_text("Published")

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
