"""Audit test set-up: an auditor, a flow owner, a teammate without ownership, an outsider,
and a flow with a case that went through an AI decision and a person's review."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from tests.audit.builders import DEFINITION, engine_events, rejected_decision
from tests.factories import (
    FlowFactory,
    FlowInstanceFactory,
    FlowVersionFactory,
    TeamFactory,
    UserFactory,
)


@pytest.fixture
def finance(db: None):
    return TeamFactory(name="Finance")


@pytest.fixture
def auditor(db: None):
    compliance = TeamFactory(name="Compliance")
    compliance.permissions.add(Permission.objects.get(codename="view_auditevent"))
    return UserFactory(username="ada", teams=[compliance])


@pytest.fixture
def owner(finance):
    return UserFactory(username="olivia", teams=[finance])


@pytest.fixture
def lee(db: None):
    return UserFactory(username="lee", first_name="Lee", last_name="Lead")


@pytest.fixture
def outsider(db: None):
    return UserFactory(username="oscar", teams=[TeamFactory(name="Support")])


@pytest.fixture
def flow(finance, lee):
    flow = FlowFactory(
        name="Supplier invoices", slug="invoices", owner_team=finance, masked_fields=["iban"]
    )
    FlowVersionFactory(flow=flow, number=1, definition=DEFINITION)
    return flow


@pytest.fixture
def other_flow(db: None):
    team = TeamFactory(name="Support")
    flow = FlowFactory(name="Refunds", slug="refunds", owner_team=team)
    FlowVersionFactory(flow=flow, number=1, definition={"steps": [], "connections": []})
    return flow


@pytest.fixture
def case(flow):
    version = flow.versions.get()
    instance = FlowInstanceFactory(
        version=version,
        business_key="INV-2026-0042",
        input={"supplier": "ACME", "amount": 1200, "iban": "DE89370400440532013000"},
    )
    engine_events(
        instance,
        ("instance.started", {"input": instance.input}),
        ("step.succeeded", {"step": "start"}),
        ("step.waiting", {"step": "classify"}),
    )
    return instance


@pytest.fixture
def decision(case, lee):
    record = rejected_decision(
        case, inputs={"supplier": "ACME", "amount": 1200, "iban": "DE89370400440532013000"}
    )
    engine_events(
        case,
        ("step.succeeded", {"step": "classify", "outcome": "reject"}),
        ("step.started", {"step": "approve"}),
    )
    return record


def now() -> Any:
    return timezone.now()
