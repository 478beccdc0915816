"""Screenshots of every flow, case and admin console screen, with believable data."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from orchestration import tokens
from orchestration.models import AllowedTarget, FlowInstance
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

pytestmark = pytest.mark.django_db(transaction=True)


def scene():
    finance, ops = TeamFactory(name="Finance"), TeamFactory(name="Operations")
    olivia = UserFactory(username="olivia", first_name="Olivia", last_name="Owner", teams=[finance])
    UserFactory(
        username="admin", first_name="Avery", last_name="Admin", is_staff=True, is_superuser=True
    )
    flow = FlowFactory(
        name="Invoice approval",
        slug="invoice-approval",
        owner_team=finance,
        exception_owner_team=ops,
        description="Checks supplier invoices and routes large ones to a person.",
    )
    FlowFactory(name="Supplier onboarding", slug="supplier-onboarding", owner_team=finance)
    v1 = FlowVersionFactory(flow=flow, number=1, status="retired", change_note="First version")
    v2 = FlowVersionFactory(
        flow=flow, number=2, published_by=olivia, change_note="Limit raised to 5,000 EUR"
    )
    FlowVersionFactory(flow=flow, number=3, status="draft", published_at=None)
    now = timezone.now()
    for n in range(12):
        FlowInstanceFactory(
            version=v2 if n > 3 else v1,
            status=["succeeded", "running", "failed"][n % 3],
            business_key=f"INV-{1040 + n}",
        )
    case = FlowInstanceFactory(
        version=v2,
        status="running",
        business_key="INV-1077",
        started_by=olivia,
        input={"supplier": "ACME Ltd", "amount": 4200, "currency": "EUR"},
    )
    t = now - dt.timedelta(minutes=3)
    StepRunFactory(
        instance=case,
        step_id="start",
        kind="start",
        status="succeeded",
        started_at=t,
        finished_at=t,
        actor="olivia",
    )
    StepRunFactory(
        instance=case,
        step_id="fetch_po",
        kind="http",
        status="failed",
        attempt=1,
        started_at=t,
        finished_at=t + dt.timedelta(seconds=2),
        worker="celery@worker-1",
        error="The ERP answered 503 Service Unavailable",
        error_kind="retryable",
        traceback="Traceback (most recent call last):\n  ...\nhttpx.HTTPStatusError: 503",
        input={"po": "PO-881"},
    )
    StepRunFactory(
        instance=case,
        step_id="fetch_po",
        kind="http",
        status="succeeded",
        attempt=2,
        started_at=t + dt.timedelta(seconds=10),
        finished_at=t + dt.timedelta(seconds=11),
        worker="celery@worker-2",
        input={"po": "PO-881"},
        output={"po": "PO-881", "amount": 4200, "approved_budget": 5000},
    )
    StepRunFactory(
        instance=case,
        step_id="approve",
        kind="approval",
        status="waiting",
        started_at=t + dt.timedelta(seconds=12),
        due_at=now + dt.timedelta(hours=4),
    )
    FlowInstance.objects.filter(pk=case.pk).update(data={**case.input, "po_amount": 4200})
    tokens.create_token(flow, "ERP webhook", by=olivia)
    AllowedTarget.objects.create(host="erp.internal", note="The ERP in our data centre")
    return flow, case


def test_screens_of_flows_and_cases(page: Page):
    flow, case = scene()
    sign_in(page, "olivia", PASSWORD)
    page.goto("/flows/")
    expect(page.get_by_test_id("flow-table")).to_contain_text("Invoice approval")
    screenshot(page, "flows-list")
    page.goto("/flows/new/")
    screenshot(page, "flows-new")
    page.goto("/flows/import/")
    screenshot(page, "flows-import")
    page.goto(f"/flows/{flow.slug}/")
    expect(page.get_by_test_id("versions")).to_contain_text("v3")
    screenshot(page, "flow-detail")
    page.get_by_test_id("token-form").get_by_role("textbox").fill("Shop checkout")
    page.get_by_test_id("token-form").get_by_role("button").click()
    expect(page.get_by_test_id("new-token")).to_be_visible()
    screenshot(page, "flow-detail-new-token")
    page.goto(f"/flows/{flow.slug}/start/")
    page.get_by_test_id("start-submit").click()
    expect(page.locator("#id_supplier")).to_have_class(re.compile("is-invalid"))
    screenshot(page, "flow-start-errors")
    page.goto("/instances/")
    expect(page.get_by_test_id("instances")).to_be_visible()
    row = page.get_by_test_id("instances").get_by_role("row", name=re.compile("INV-1077"))
    expect(row.get_by_test_id("now-at")).to_contain_text("Waiting for a person")
    screenshot(page, "instances-list")
    page.goto(f"/instances/{case.pk}/")
    expect(page.get_by_test_id("timeline")).to_contain_text("fetch_po")
    page.locator("details").first.evaluate("d => d.open = true")
    screenshot(page, "instance-detail")
    page.get_by_role("button", name="Cancel case").click()
    expect(page.get_by_text("Say why")).to_be_visible()
    screenshot(page, "instance-action-needs-reason")


def test_screens_of_the_admin_console(page: Page):
    scene()
    sign_in(page, "admin", PASSWORD)
    for path, name in [
        ("/console/", "console-home"),
        ("/console/people/", "console-people"),
        ("/console/permissions/", "console-permissions"),
        ("/console/tokens/", "console-tokens"),
        ("/console/allow-list/", "console-allow-list"),
        ("/console/workers/", "console-workers"),
    ]:
        page.goto(path)
        expect(page.locator("h1.page-title")).to_be_visible()
        screenshot(page, name)
