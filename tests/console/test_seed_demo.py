"""`manage.py seed_demo`, as `make demo` runs it: people, the example flows and cases
that show every screen something, and safe to run again."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from orchestration.models import Flow, FlowInstance, InstanceStatus, StepRun, VersionStatus
from tests.orchestration.engine.driver import EngineDriver

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_it_publishes_the_example_flows_and_starts_cases_the_worker_runs(monkeypatch):
    engine = EngineDriver(monkeypatch)
    output = seed()
    engine.run()

    assert "Published demo flows: hello, invoice-approval, supplier-delay" in output
    assert "Started 7 demo cases and sent a supplier.delayed event" in output
    assert authenticate(username="olivia", password="podium-demo") is not None
    for flow in Flow.objects.all():
        assert flow.versions.filter(status=VersionStatus.PUBLISHED).count() == 1

    statuses = {
        (case.flow.slug, case.business_key): case.status
        for case in FlowInstance.objects.select_related("flow")
    }
    assert statuses[("invoice-approval", "INV-1001")] == InstanceStatus.SUCCEEDED
    # Large and uncertain invoices wait for Finance in the inbox (an automatic decision
    # may also be sampled for a quality check, at random: the flow samples 5 %).
    waiting = (
        FlowInstance.objects.filter(
            status="running", human_tasks__status="open", flow__slug="invoice-approval"
        )
        .values_list("business_key", flat=True)
        .distinct()
    )
    assert sorted(waiting) == ["INV-1002", "INV-1003", "INV-1005", "INV-1006"]
    # The event started a supplier delay case, which told both teams and now waits.
    delay = FlowInstance.objects.get(flow__slug="supplier-delay")
    assert (delay.trigger, delay.business_key, delay.status) == ("event", "ORD-2041", "running")
    waiting = StepRun.objects.get(instance=delay, status="waiting")
    assert waiting.step_id == "cool_off"
    assert StepRun.objects.filter(instance=delay, kind="notify", status="succeeded").count() == 2
    assert statuses[("hello", "")] == InstanceStatus.SUCCEEDED


def test_running_it_again_adds_nothing(monkeypatch):
    EngineDriver(monkeypatch)
    seed()
    cases = FlowInstance.objects.count()
    output = seed()
    assert "Published demo flows" not in output and "Started" not in output
    assert FlowInstance.objects.count() == cases
    assert Flow.objects.count() == 3
