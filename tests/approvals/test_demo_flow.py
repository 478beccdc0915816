"""The example invoice flow (examples/flows) through the engine: the AI's unsure cases and
the large invoices reach Finance, and people's decisions move the cases on."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from approvals import actions
from approvals.models import HumanTask
from audit.chain import Actor
from audit.labels import ACTION_LABELS
from audit.models import AuditEvent, DecisionRecord
from audit.verification import verify_all
from orchestration import actions as flow_actions
from orchestration.engine.api import start_instance
from tests.factories import TeamFactory, UserFactory
from tests.orchestration.engine.driver import EngineDriver

pytestmark = pytest.mark.django_db


@pytest.fixture
def driver(monkeypatch):
    return EngineDriver(monkeypatch)


def publish_invoice_flow(sample_every_decision: bool = False):
    finance = TeamFactory(name="Finance")
    TeamFactory(name="Operations")
    owner = UserFactory(username="olivia", teams=[finance])
    text = (Path(settings.BASE_DIR) / "examples" / "flows" / "invoice-approval.yaml").read_text()
    if sample_every_decision:
        assert "qa_sample_rate: 0.05" in text
        text = text.replace("qa_sample_rate: 0.05", "qa_sample_rate: 1")
    draft = flow_actions.import_yaml(text, user=owner)
    return flow_actions.publish_version(draft, user=owner, note="test"), owner


@pytest.fixture
def invoice_flow(db):
    return publish_invoice_flow()


@pytest.fixture
def sampled_invoice_flow(db):
    """The example flow with every automatic decision sampled for a quality check."""
    return publish_invoice_flow(sample_every_decision=True)


def start(version, amount, po=""):
    data = {"invoice_id": f"INV-{amount}", "vendor": "Acme", "amount": amount, "currency": "EUR"}
    if po:
        data["po_number"] = po
    return start_instance(version, data, trigger="manual", actor=Actor.system("test"))


def test_the_example_invoice_flow_reaches_finance_and_continues(driver, invoice_flow):
    version, owner = invoice_flow
    small = start(version, 420.0, po="PO-1")
    no_po = start(version, 760.0)
    large = start(version, 18400.0, po="PO-2")
    driver.run()

    assert not HumanTask.objects.filter(instance=small).exclude(kind="qa").exists()
    assert DecisionRecord.objects.get(instance_id=small.pk).route == "automatic"

    review = HumanTask.objects.get(instance=no_po)
    assert review.kind == "review" and review.assignee_team.name == "Finance"
    assert DecisionRecord.objects.get(instance_id=no_po.pk).route in ("never_automatic", "review")

    approval = HumanTask.objects.get(instance=large)
    assert approval.kind == "approval" and approval.allows_bulk
    assert [s["action"] for s in approval.config["escalation"]["stages"]] == ["notify", "reassign"]

    actions.decide(review, owner, "approve", "The PO is on its way")
    actions.decide(approval, owner, "approve", "")
    driver.run()
    for instance in (no_po, large):
        instance.refresh_from_db()
        steps = list(instance.step_runs.order_by("id").values_list("step_id", "status"))
        assert instance.status == "succeeded"
        assert ("pay", "succeeded") in steps and ("paid", "succeeded") in steps
    record = DecisionRecord.objects.get(instance_id=no_po.pk)
    assert (record.final_outcome, record.overrode_ai) == ("approve", True)


def test_a_quality_check_stays_open_after_its_case_has_finished(driver, sampled_invoice_flow):
    version, owner = sampled_invoice_flow
    small = start(version, 420.0, po="PO-1")
    driver.run()

    small.refresh_from_db()
    assert small.status == "succeeded"
    qa = HumanTask.objects.get(instance=small)
    assert qa.kind == "qa" and qa.status == "open"
    actions.decide(qa, owner, "approve", "")
    qa.refresh_from_db()
    assert (qa.status, qa.outcome) == ("done", "approve")


def test_cancelling_a_case_cancels_its_approval_and_says_why(driver, invoice_flow, client):
    from orchestration.engine.operator import cancel_instance

    version, owner = invoice_flow
    large = start(version, 18400.0, po="PO-2")
    driver.run()
    approval = HumanTask.objects.get(instance=large, kind="approval")

    cancel_instance(large.pk, actor=Actor.user(owner), reason="the supplier withdrew the invoice")

    approval.refresh_from_db()
    assert approval.status == "cancelled"
    assert approval.reason == "The case was cancelled: the supplier withdrew the invoice"
    with pytest.raises(actions.TaskConflict, match="withdrew the invoice"):
        actions.decide(approval, owner, "approve", "")
    client.force_login(owner)
    page = client.get(reverse("approvals:task", args=[approval.pk])).content.decode()
    assert (
        "This task was cancelled. The case was cancelled: the supplier withdrew the invoice. "
        "Nothing more to do." in page
    )


def test_the_case_and_task_pages_name_actions_and_fields_as_people_know_them(
    driver, invoice_flow, client
):
    version, owner = invoice_flow
    no_po = start(version, 760.0)
    driver.run()
    review = HumanTask.objects.get(instance=no_po)
    actions.claim(review, owner)
    actions.decide(review, owner, "approve", "The PO is on its way")
    driver.run()

    recorded = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"instance.started", "task.opened", "task.claimed", "decision.finalised"} <= recorded
    assert recorded <= set(ACTION_LABELS), "every action the case wrote has a name for people"
    client.force_login(owner)
    case_page = client.get(reverse("orchestration:instance_detail", args=[no_po.pk]))
    task_page = client.get(reverse("approvals:task", args=[review.pk]))
    for page in (case_page.content.decode(), task_page.content.decode()):
        assert "Case started" in page and "Instance started" not in page
    assert "Person made the final call" in task_page.content.decode()
    for page in (case_page.content.decode(), task_page.content.decode()):
        assert "· Prepare the invoice" in page, "events name their step by its label"
    assert "Task claimed" in case_page.content.decode()
    for page in (case_page.content.decode(), task_page.content.decode()):
        assert "Invoice number" in page, "fields take their titles from the input schema"


def test_the_time_with_the_ai_is_shown_only_where_an_ai_took_part(driver, invoice_flow, client):
    version, owner = invoice_flow
    reviewed, approved = start(version, 760.0), start(version, 18400.0, po="PO-2")
    driver.run()
    client.force_login(owner)
    review = HumanTask.objects.get(instance=reviewed)
    approval = HumanTask.objects.get(instance=approved)
    assert review.ai_outcome and not approval.ai_outcome
    assert "With the AI" in client.get(reverse("approvals:task", args=[review.pk])).content.decode()
    page = client.get(reverse("approvals:task", args=[approval.pk])).content.decode()
    assert "With the AI" not in page and "Waiting in a queue" in page


def test_the_audit_log_tells_a_case_in_the_order_it_happened(driver, invoice_flow):
    """The steps before an approval run in one transaction with it; the task it opens
    is recorded after them, by id and by time, on the case page and in the audit log."""
    version, _ = invoice_flow
    large = start(version, 18400.0, po="PO-2")
    driver.run()

    events = list(AuditEvent.objects.filter(instance_id=large.pk).order_by("id"))
    told = [(e.action, e.payload.get("step", "")) for e in events]
    assert told == [
        ("instance.started", ""),
        ("step.succeeded", "prepare"),
        ("step.succeeded", "check_amount"),
        ("task.opened", ""),
        ("step.waiting", "manager_approval"),
    ]
    times = [e.occurred_at for e in events]
    assert times == sorted(times)
    assert verify_all().problems == []  # the case's chain and its recorded head
