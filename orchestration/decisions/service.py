"""What the engine calls when it enters a decision step, and what the inbox calls when a
person has made the call. The engine holds the instance lock around `decide`."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.stepconfig import outcome_ids
from audit.models import DecisionRecord
from orchestration.decisions import events
from orchestration.decisions.guards import check_guards
from orchestration.decisions.providers import Proposal, ProviderError, Question, ask
from orchestration.decisions.routing import Route, combine, is_shadow, route, threshold_of


@dataclass
class Decision:
    automatic: bool
    output: dict[str, Any]
    record: DecisionRecord
    task: Any = None  # approvals.models.HumanTask when a person decides


def decide(step_run: Any, step: dict[str, Any], instance: Any, context: dict[str, Any]) -> Decision:
    config = step.get("config") or {}
    inputs = select_inputs(config.get("fields"), context.get("data") or {})
    started = time.monotonic()
    proposal, errors = propose(instance.flow_id, step["id"], config, inputs, context)
    guard_context = {**context, "input": inputs}
    decision_route = route(
        proposal, config, errors, check_guards(config.get("guards") or [], guard_context)
    )
    ai_seconds = time.monotonic() - started
    record = _record(step_run, step, instance, inputs, proposal, decision_route, errors)
    events.decision_made(record, decision_route.label)
    if decision_route.automatic:
        if sampled_for_qa(step_run, config):
            _open_review(
                step_run,
                step,
                instance,
                record,
                proposal,
                decision_route,
                errors,
                ai_seconds,
                kind="qa",
            )
        return Decision(True, automatic_output(record, proposal), record)
    task = _open_review(
        step_run,
        step,
        instance,
        record,
        proposal,
        decision_route,
        errors,
        ai_seconds,
        kind="review",
    )
    output = {
        "outcome": "",
        "confidence": proposal.confidence,
        "decided_by": "person",
        "record_id": record.pk,
        "task_id": task.pk,
    }
    return Decision(False, output, record, task)


def propose(
    flow_id: int, step_id: str, config: dict[str, Any], inputs: dict, context: dict
) -> tuple[Proposal, list[str]]:
    question_context = {**context, "input": inputs}
    proposals, errors = [], []
    for settings in providers_of(config):
        kind = settings["kind"]
        question = Question(
            flow_id, step_id, outcome_ids(config), inputs, question_context, settings
        )
        try:
            proposals.append(ask(kind, question))
        except ProviderError as exc:
            errors.append(f"{kind}: {exc}")
            proposals.append(Proposal(kind, rationale=str(exc)))
    return combine(proposals, str(config.get("combine") or "majority")), errors


def providers_of(config: dict[str, Any]) -> list[dict[str, Any]]:
    raw = config.get("providers") or config.get("provider") or []
    if isinstance(raw, str | dict):
        raw = [raw]
    providers = [{"type": item} if isinstance(item, str) else dict(item) for item in raw]
    for provider in providers:
        provider["kind"] = str(provider.get("type") or provider.get("kind") or "")
    return providers


def select_inputs(fields: list[str] | None, data: dict[str, Any]) -> dict[str, Any]:
    if not fields:
        return dict(data)
    inputs = {}
    for path in fields:
        value: Any = data
        for part in str(path).split("."):
            value = value.get(part) if isinstance(value, dict) else None
        inputs[str(path)] = value
    return inputs


def sampled_for_qa(step_run: Any, config: dict[str, Any]) -> bool:
    """Deterministic per step run, so a redelivered message samples the same way."""
    share = float(config.get("qa_sample_rate") or config.get("qa_sample") or 0)
    if share <= 0:
        return False
    digest = hashlib.sha256(str(step_run.idempotency_key).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def automatic_output(record: DecisionRecord, proposal: Proposal) -> dict[str, Any]:
    return {
        "outcome": proposal.outcome,
        "confidence": proposal.confidence,
        "decided_by": "ai",
        "record_id": record.pk,
        "rationale": proposal.rationale,
        "model_version": proposal.model_version,
    }


def _record(step_run, step, instance, inputs, proposal: Proposal, decision_route: Route, errors):
    accept, _escalate = threshold_of(step.get("config") or {})
    checks = decision_route.checks + [
        {
            "check": "provider",
            "rule": e.split(":")[0],
            "label": "Provider failed",
            "result": "error",
            "detail": e,
        }
        for e in errors
    ]
    automatic = decision_route.automatic
    return DecisionRecord.objects.create(
        instance_id=instance.pk,
        step_run_id=step_run.pk,
        flow_id=instance.flow_id,
        flow_version_id=instance.version_id,
        step_id=step["id"],
        business_key=instance.business_key,
        inputs=inputs,
        step_config=step.get("config") or {},
        provider=proposal.provider[:80],
        model_version=proposal.model_version[:120],
        rationale=proposal.rationale,
        policy_checks=checks,
        confidence=proposal.confidence,
        threshold=accept,
        mode="shadow" if is_shadow(step.get("config") or {}) else "auto",
        route=decision_route.route,
        proposed_outcome=proposal.outcome,
        final_outcome=proposal.outcome if automatic else "",
        decided_by_kind="ai" if automatic else "",
        decided_by=proposal.provider[:150] if automatic else "",
        finalised_at=timezone.now() if automatic else None,
    )


def _open_review(
    step_run, step, instance, record, proposal, decision_route, errors, ai_seconds, kind
):
    from approvals.actions import open_task

    blind = kind == "qa" or decision_route.route == "shadow"
    summary = {
        "outcome": "" if blind else proposal.outcome,
        "confidence": None if blind else proposal.confidence,
        "rationale": "" if blind else proposal.rationale,
        "provider": proposal.provider,
        "model_version": proposal.model_version,
        "route": decision_route.route,
        "route_label": decision_route.label,
        "checks": [c for c in record.policy_checks if c["result"] != "pass"],
        "errors": errors,
        "blind": blind,
        "threshold": record.threshold,
    }
    return open_task(
        step_run,
        step,
        instance,
        kind=kind,
        proposal=summary,
        decision_record_id=record.pk,
        ai_seconds=ai_seconds,
        escalate=decision_route.route == "escalate",
    )


def record_human_decision(record_id: int, outcome: str, reason: str, user: Any) -> bool | None:
    """Write the person's final call on the record; returns whether it overrode the AI."""
    record = DecisionRecord.objects.get(pk=record_id)
    overrode = (record.proposed_outcome != outcome) if record.proposed_outcome else None
    if record.is_final:
        return record.overrode_ai
    record.finalise(
        final_outcome=outcome,
        decided_by_kind="user",
        decided_by=user.get_username(),
        reviewer_reason=reason,
        overrode_ai=overrode,
    )
    events.decision_finalised(record, user, outcome, bool(overrode))
    _maybe_retrain(record)
    return overrode


def record_expiry(record_id: int) -> None:
    """Nobody decided before the final deadline: the record says so, with no person."""
    record = DecisionRecord.objects.get(pk=record_id)
    if not record.is_final:
        record.finalise(
            final_outcome="expired",
            decided_by_kind="system",
            decided_by="SLA sweep",
            overrode_ai=None,
        )


def record_qa_review(record_id: int, outcome: str, reason: str, user: Any) -> bool:
    record = DecisionRecord.objects.get(pk=record_id)
    agreed = record.final_outcome == outcome
    events.decision_qa_reviewed(record, user, outcome, agreed, reason)
    return agreed


def _maybe_retrain(record: DecisionRecord) -> None:
    learned = [p for p in providers_of(record.step_config) if p.get("kind") == "learned"]
    if not learned:
        return
    from orchestration.decisions.tasks import retrain

    settings = {k: v for k, v in learned[0].items() if k in ("min_samples", "retrain_every")}
    transaction.on_commit(
        lambda: retrain.delay(flow_id=record.flow_id, step_id=record.step_id, settings=settings)
    )
