"""A decision flow used by the inbox tests: rules approve small amounts alone and send
mid-sized ones to the Credit review team."""

from __future__ import annotations

from typing import Any

from orchestration.models import FlowVersion
from tests.orchestration.factories import definition, link, published, step

TABLE = [
    {"when": "data.amount < 1000", "outcome": "approve", "confidence": 0.95},
    {"when": "data.amount < 50000", "outcome": "approve", "confidence": 0.55},
    {"when": "true", "outcome": "reject", "confidence": 0.9},
]


def credit_flow(sla_minutes: int = 60, **flow_fields: Any) -> FlowVersion:
    steps = [
        step("start", "start"),
        step(
            "credit_check",
            "decision",
            label="Credit check",
            owner="team:Credit review",
            sla={"minutes": sla_minutes},
            config={
                "outcomes": ["approve", "reject"],
                "fields": ["amount", "supplier"],
                "providers": [{"type": "rules", "table": TABLE}],
                "threshold": 0.8,
                "review_team": "team:Credit review",
            },
        ),
        step("pay", "set", config={"assign": {"paid": "true"}}),
        step("refuse", "set", config={"assign": {"paid": "false"}}),
        step("end", "end", config={"result": "success"}),
    ]
    links = [
        link("start", "credit_check"),
        link("credit_check", "pay", condition="steps.credit_check.outcome == 'approve'"),
        link("credit_check", "refuse", default=True),
        link("pay", "end"),
        link("refuse", "end"),
    ]
    return published(definition(steps, links), **flow_fields)
