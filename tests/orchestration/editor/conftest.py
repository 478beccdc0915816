"""An invoice flow with a published v1 and a draft v2, and the people around it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from guardian.shortcuts import assign_perm

from orchestration import access
from tests.factories import FlowFactory, FlowVersionFactory, TeamFactory, UserFactory
from tests.orchestration.factories import definition, link, step


def invoice_definition() -> dict[str, Any]:
    return definition(
        [
            step("start", "start", owner="team:Finance"),
            step(
                "review", "approval", owner="team:Finance", config={"assignees": ["team:Finance"]}
            ),
            step("check", "branch", owner="team:Finance"),
            step(
                "pay",
                "http",
                owner="team:Finance",
                on_error="failed",
                config={"method": "POST", "url": "https://bank.example.com/pay"},
            ),
            step("paid", "end", config={"result": "success"}),
            step("failed", "end", config={"result": "failure", "reason": "payment failed"}),
        ],
        [
            link("start", "review"),
            link("review", "check"),
            link("check", "pay", condition="data.amount > 0"),
            link("check", "failed", default=True),
            link("pay", "paid"),
        ],
        input_schema={"type": "object", "properties": {"amount": {"type": "number"}}},
    )


@pytest.fixture
def world(db):
    finance = TeamFactory(name="Finance")
    auditors = TeamFactory(name="Auditors")
    flow = FlowFactory(name="Invoice approval", slug="invoices", owner_team=finance)
    assign_perm(access.VIEW, auditors, flow)
    v1 = FlowVersionFactory(
        flow=flow, number=1, status="published", definition=invoice_definition()
    )
    v2 = FlowVersionFactory(
        flow=flow,
        number=2,
        status="draft",
        published_at=None,
        definition=copy.deepcopy(invoice_definition()),
        based_on=v1,
    )

    class World:
        pass

    w = World()
    w.flow, w.v1, w.v2 = flow, v1, v2
    w.owner = UserFactory(username="olivia", teams=[finance])
    w.viewer = UserFactory(username="ada", teams=[auditors])
    w.outsider = UserFactory(username="sam")
    return w
