"""Audit events about decisions, one chain per decision record ("decision:<id>")."""

from __future__ import annotations

from typing import Any

from audit.chain import Actor, Entry, append
from audit.models import DecisionRecord


def _append(record: DecisionRecord, action: str, actor: Actor, payload: dict[str, Any]) -> None:
    entry = Entry(
        action,
        actor,
        "decision",
        str(record.pk),
        record.flow_id,
        record.instance_id,
        record.business_key,
        payload,
    )
    append(f"decision:{record.pk}", [entry])


def decision_made(record: DecisionRecord, route_label: str) -> None:
    actor = Actor.ai(record.provider or "ai", record.model_version)
    _append(
        record,
        "decision.proposed",
        actor,
        {
            "step_id": record.step_id,
            "outcome": record.proposed_outcome,
            "confidence": record.confidence,
            "threshold": record.threshold,
            "route": record.route,
            "route_label": route_label,
            "automatic": record.decided_by_kind == "ai",
        },
    )


def decision_finalised(record: DecisionRecord, user: Any, outcome: str, overrode: bool) -> None:
    _append(
        record,
        "decision.finalised",
        Actor.user(user),
        {
            "step_id": record.step_id,
            "proposed": record.proposed_outcome,
            "final": outcome,
            "overrode_ai": overrode,
        },
    )


def decision_qa_reviewed(
    record: DecisionRecord, user: Any, outcome: str, agreed: bool, reason: str
) -> None:
    _append(
        record,
        "decision.qa_reviewed",
        Actor.user(user),
        {
            "step_id": record.step_id,
            "automatic_outcome": record.final_outcome,
            "reviewer_outcome": outcome,
            "agreed": agreed,
            "reason": reason[:1000],
        },
    )


def model_trained(flow_id: int, step_id: str, label: str, metrics: dict[str, Any]) -> None:
    entry = Entry(
        "decision.model_trained",
        Actor.system(),
        "model",
        label,
        flow_id,
        payload={"step_id": step_id, "metrics": metrics},
    )
    append(f"models:{flow_id}", [entry])
