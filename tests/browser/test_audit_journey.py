"""An auditor searches by business key, opens the decision and downloads the evidence
pack; a flow owner sees the register; the screens are captured for review."""

from __future__ import annotations

import json
import zipfile

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import Page, expect

from audit.models import AuditEvent, VerificationRun
from audit.verification import record_run
from tests.audit.builders import DEFINITION, engine_events, rejected_decision
from tests.browser.conftest import screenshot, sign_in
from tests.factories import (
    PASSWORD,
    FlowFactory,
    FlowInstanceFactory,
    FlowVersionFactory,
    TeamFactory,
    UserFactory,
)


def _world():
    finance = TeamFactory(name="Finance")
    compliance = TeamFactory(name="Compliance")
    compliance.permissions.add(Permission.objects.get(codename="view_auditevent"))
    UserFactory(username="ada", first_name="Ada", last_name="Auditor", teams=[compliance])
    UserFactory(username="olivia", first_name="Olivia", last_name="Owner", teams=[finance])
    lee = UserFactory(username="lee", first_name="Lee", last_name="Lead", teams=[finance])
    flow = FlowFactory(
        name="Supplier invoices",
        slug="invoices",
        owner_team=finance,
        exception_owner_user=lee,
        masked_fields=["iban"],
    )
    version = FlowVersionFactory(flow=flow, number=1, definition=DEFINITION)
    gappy = FlowFactory(name="Refunds", slug="refunds", owner_team=TeamFactory(name="Night shift"))
    FlowVersionFactory(
        flow=gappy,
        number=1,
        definition={
            "steps": [{"id": "check", "kind": "decision", "label": "Refund or not?", "config": {}}],
            "connections": [],
        },
    )
    case = FlowInstanceFactory(
        version=version,
        business_key="INV-2026-0042",
        input={"supplier": "ACME GmbH", "amount": 1200, "iban": "DE89370400440532013000"},
    )
    engine_events(
        case,
        ("instance.started", {"input": case.input}),
        ("step.succeeded", {"step": "start"}),
        ("step.waiting", {"step": "classify"}),
    )
    record = rejected_decision(case, inputs=case.input)
    engine_events(
        case,
        ("step.succeeded", {"step": "classify", "outcome": "reject"}),
        ("instance.failed", {"reason": "Invoice rejected"}),
    )
    type(case).objects.filter(pk=case.pk).update(status="failed")
    record_run("schedule")
    return case, record


@pytest.mark.django_db(transaction=True)
def test_an_auditor_reconstructs_a_decision_and_takes_the_evidence(page: Page):
    _world()
    sign_in(page, "ada", PASSWORD)
    page.goto("/audit/")
    expect(page.get_by_test_id("verification-summary")).to_contain_text("verified")
    expect(page.get_by_test_id("gaps")).to_contain_text("Refund or not?")
    screenshot(page, "audit-home")

    page.get_by_test_id("quick-key").fill("INV-2026-0042")
    page.get_by_test_id("quick-key").press("Enter")
    expect(page.get_by_test_id("decision-matches")).to_be_visible()
    expect(page.get_by_test_id("event-row").first).to_contain_text("INV-2026-0042")
    expect(page.get_by_text("DE89370400440532013000")).to_have_count(0)
    screenshot(page, "audit-search")

    page.get_by_test_id("decision-link").first.click()
    expect(page.get_by_test_id("why")).to_contain_text("overriding the AI")
    expect(page.get_by_test_id("why")).to_contain_text("has failed")
    expect(page.get_by_test_id("final-outcome")).to_have_text("reject")
    screenshot(page, "audit-decision")

    with page.expect_download() as download:
        page.get_by_test_id("evidence-pack").click()
    pack = zipfile.ZipFile(download.value.path())
    assert json.loads(pack.read("verification.json"))["ok"] is True
    assert "decision_records.json" in pack.namelist()
    assert AuditEvent.objects.filter(action="audit.evidence_pack", actor_label="ada").exists()


@pytest.mark.django_db(transaction=True)
def test_an_owner_reads_the_register_and_a_filtered_search(page: Page):
    _world()
    sign_in(page, "olivia", PASSWORD)
    page.goto("/audit/")
    expect(page.get_by_role("alert").or_(page.locator(".alert-info"))).to_contain_text(
        "flows you own"
    )
    page.get_by_role("link", name="Supplier invoices").first.click()
    expect(page.get_by_test_id("register")).to_contain_text("Review team")
    screenshot(page, "audit-register")
    page.goto("/audit/events/?actor=system&action=step.*")
    expect(page.get_by_test_id("event-row").first).to_be_visible()
    screenshot(page, "audit-search-filtered")
    assert VerificationRun.objects.count() == 1
