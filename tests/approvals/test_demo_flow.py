"""The example invoice flow (examples/flows) through the engine: the AI's unsure cases and
the large invoices reach Finance, and people's decisions move the cases on."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from approvals import actions
from approvals.models import HumanTask
from audit.chain import Actor
from audit.models import DecisionRecord
from orchestration import actions as flow_actions
from orchestration.engine.api import start_instance
from tests.factories import TeamFactory, UserFactory
from tests.orchestration.engine.driver import EngineDriver

pytestmark = pytest.mark.django_db


@pytest.fixture
def driver(monkeypatch):
    return EngineDriver(monkeypatch)


@pytest.fixture
def invoice_flow(db):
    finance = TeamFactory(name="Finance")
    TeamFactory(name="Operations")
    owner = UserFactory(username="olivia", teams=[finance])
    text = (Path(settings.BASE_DIR) / "examples" / "flows" / "invoice-approval.yaml").read_text()
    draft = flow_actions.import_yaml(text, user=owner)
    return flow_actions.publish_version(draft, user=owner, note="test"), owner


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
