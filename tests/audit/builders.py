"""Audit test data shared by the unit tests and the browser journeys."""

from __future__ import annotations

from typing import Any

from audit import chain
from audit.models import DecisionRecord
from tests.factories import StepRunFactory

DEFINITION = {
    "format": "podium/v1",
    "input_schema": {"type": "object"},
    "steps": [
        {"id": "start", "kind": "start", "label": "Invoice received", "owner": "system:podium"},
        {
            "id": "classify",
            "kind": "decision",
            "label": "Approve the invoice?",
            "owner": "team:Finance",
            "config": {"provider": "rules", "threshold": 0.8, "review_team": "team:Finance"},
        },
        {
            "id": "approve",
            "kind": "approval",
            "label": "Second approval",
            "owner": "team:Finance",
            "config": {
                "assignees": "team:Finance",
                "escalation": [
                    {"after_minutes": 60, "action": "notify", "to": "team:Finance"},
                    {"after_minutes": 240, "action": "reassign", "to": "user:lee"},
                ],
            },
        },
        {"id": "pay", "kind": "http", "label": "Pay the supplier", "owner": "system:bank"},
        {"id": "end", "kind": "end", "label": "Done"},
    ],
    "connections": [
        {"from": "start", "to": "classify"},
        {"from": "classify", "to": "approve"},
        {"from": "approve", "to": "pay"},
        {"from": "pay", "to": "end"},
    ],
}


def engine_events(instance: Any, *actions: tuple[str, dict[str, Any]]) -> None:
    """Append events to the case's chain the way the engine does (head on the row)."""
    entries = [
        chain.Entry(
            action,
            chain.Actor.system(),
            "instance",
            str(instance.pk),
            instance.flow_id,
            instance.pk,
            instance.business_key,
            payload,
        )
        for action, payload in actions
    ]
    head = chain.append_at_head(
        instance.audit_stream, (instance.audit_seq, instance.audit_hash), entries
    )
    type(instance).objects.filter(pk=instance.pk).update(audit_seq=head[0], audit_hash=head[1])
    instance.audit_seq, instance.audit_hash = head


def rejected_decision(case: Any, *, inputs: dict[str, Any]) -> DecisionRecord:
    """An AI proposal to approve, held by a guard, that a person (lee) rejected."""
    run = StepRunFactory(instance=case, step_id="classify", kind="decision", status="succeeded")
    record = DecisionRecord.objects.create(
        instance_id=case.pk,
        step_run_id=run.pk,
        flow_id=case.flow_id,
        flow_version_id=case.version_id,
        step_id="classify",
        business_key=case.business_key,
        inputs=inputs,
        step_config=DEFINITION["steps"][1]["config"],
        provider="rules",
        model_version="rules-v3",
        rationale="Amount is above the usual range for this supplier.",
        policy_checks=[
            {
                "check": "guard",
                "rule": "amount > 1000",
                "label": "Large amount",
                "result": "hold",
                "detail": "amount 1200 is above 1000",
            },
            {"check": "threshold", "label": "Confidence threshold", "result": "pass"},
        ],
        confidence=0.62,
        threshold=0.8,
        mode="auto",
        route="guard",
        proposed_outcome="approve",
    )
    record.finalise(
        final_outcome="reject",
        decided_by_kind="user",
        decided_by="lee",
        reviewer_reason="Supplier bank details changed last week.",
    )
    return record
