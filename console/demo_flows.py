"""Demo flows from examples/flows, and a handful of cases so every screen has something."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User

from audit.chain import Actor
from orchestration import actions
from orchestration.definitions.yaml_io import parse_yaml
from orchestration.engine.api import emit_event, start_instance
from orchestration.models import Flow, FlowInstance, VersionStatus

EXAMPLES = Path(settings.BASE_DIR) / "examples" / "flows"
DEMO_INVOICES = [
    ("INV-1001", "Acme Paper", 420.0, "PO-77"),
    ("INV-1002", "Northwind Logistics", 2350.0, ""),
    ("INV-1003", "Globex Consulting", 18400.0, "PO-81"),
    ("INV-1004", "Initech Hardware", 760.0, "PO-82"),
    ("INV-1005", "Umbrella Catering", 5120.0, "PO-90"),
    ("INV-1006", "Stark Industrial", 64000.0, "PO-91"),
]


def seed_flows(owner: User) -> list[str]:
    """Import and publish every example flow that does not exist yet."""
    created = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        text = path.read_text()
        slug = parse_yaml(text)["flow"]["slug"]
        if Flow.objects.filter(slug=slug).exists():
            continue
        draft = actions.import_yaml(text, user=owner)
        actions.publish_version(draft, user=owner, note="Imported with the demo data")
        created.append(slug)
    return created


DEMO_DELAY = {"order_id": "ORD-2041", "supplier": "Wayne Freight", "days_late": 3}


def seed_cases(owner: User) -> int:
    """Start demo cases once: invoices of every size and a hello; send the event that
    starts a supplier delay case. How many cases were started."""
    if FlowInstance.objects.exists():
        return 0
    actor = Actor.user(owner)
    invoices = _live("invoice-approval")
    for number, vendor, amount, po in DEMO_INVOICES:
        data = {"invoice_id": number, "vendor": vendor, "amount": amount, "currency": "EUR"}
        if po:
            data["po_number"] = po
        start_instance(invoices, data, trigger="manual", actor=actor, started_by=owner)
    hello = _live("hello")
    start_instance(hello, _sample_input(hello), trigger="manual", actor=actor, started_by=owner)
    # The supplier delay flow starts from this event, as it would from another flow.
    emit_event("supplier.delayed", DEMO_DELAY["order_id"], DEMO_DELAY, actor=actor)
    return len(DEMO_INVOICES) + 1


def _live(slug: str):
    flow = Flow.objects.get(slug=slug)
    return flow.versions.filter(status=VersionStatus.PUBLISHED).order_by("-number").first()


def _sample_input(version) -> dict:
    schema = version.definition.get("input_schema") or {}
    return {name: "Podium" for name in schema.get("required", [])}
