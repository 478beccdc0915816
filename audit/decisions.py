"""Reconstructing one decision from its record, its flow version and the case's events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string

from audit.deciders import name_deciders
from audit.masking import Masker
from audit.models import AuditEvent, DecisionRecord
from orchestration.decisions.routing import ROUTE_LABELS
from orchestration.readable import readable_history

AFTER_LIMIT = 30
# Where the case is now, as the end of a sentence that starts with "the case".
CASE_NOW = {
    "running": "is still running",
    "succeeded": "has succeeded",
    "failed": "has failed",
    "cancelled": "was cancelled",
    "compensating": "is being rolled back",
    "compensated": "was rolled back",
}


@dataclass
class Reconstruction:
    record: DecisionRecord
    flow: Any
    version: Any
    instance: Any
    step: dict[str, Any]
    inputs: Any
    step_config: Any
    checks: list[dict[str, Any]]
    task: Any
    decision_events: list[AuditEvent]
    after: list[AuditEvent]
    masked: list[str] = field(default_factory=list)

    @property
    def step_label(self) -> str:
        return str(self.step.get("label") or self.record.step_id)

    @property
    def route_label(self) -> str:
        return ROUTE_LABELS.get(self.record.route, self.record.route or "—")

    @property
    def automatic(self) -> bool:
        return self.record.decided_by_kind == "ai"

    @property
    def confident(self) -> bool | None:
        r = self.record
        if r.confidence is None or r.threshold is None:
            return None
        return r.confidence >= r.threshold

    @property
    def failed_checks(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if c.get("result") not in ("pass", "passed", True)]

    @property
    def review_team(self) -> str:
        config = self.record.step_config or {}
        value = config.get("review_team") or config.get("reviewers") or config.get("team") or ""
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        return str(value).removeprefix("team:")

    @property
    def next_steps(self) -> list[str]:
        """The labels of the steps the case went on to, in order."""
        seen: list[str] = []
        for event in self.after:
            payload = event.payload if isinstance(event.payload, dict) else {}
            step = payload.get("step_id") or payload.get("step")
            if step and step != self.record.step_id and event.step_label not in seen:
                seen.append(event.step_label)
        return seen

    @property
    def case_now(self) -> str:
        status = self.instance.status if self.instance else ""
        return CASE_NOW.get(status, f"is now {status}")

    def why(self) -> list[str]:
        """The plain-language "why did this case go here?" summary, as paragraphs."""
        text = render_to_string("audit/why.txt", {"r": self, "record": self.record})
        return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def reconstruct(record: DecisionRecord) -> Reconstruction:
    from approvals.models import HumanTask
    from orchestration.models import Flow, FlowInstance, FlowVersion

    flow = Flow.objects.filter(pk=record.flow_id).first()
    version = FlowVersion.objects.filter(pk=record.flow_version_id).first()
    instance = FlowInstance.objects.filter(pk=record.instance_id).first()
    masker = Masker({record.flow_id: list(flow.masked_fields or []) if flow else []})
    step = _step_of(version.definition if version else {}, record.step_id)
    task = (
        HumanTask.objects.filter(step_run_id=record.step_run_id)
        .select_related("assignee_team", "assignee_user", "decided_by", "claimed_by")
        .order_by("-id")
        .first()
    )
    decision_events = list(
        AuditEvent.objects.filter(stream=f"decision:{record.pk}").order_by("seq")
    )
    name_deciders([record])
    after = list(
        AuditEvent.objects.filter(
            stream=f"instance:{record.instance_id}", occurred_at__gte=record.created_at
        ).order_by("seq")[:AFTER_LIMIT]
    )
    definition = version.definition if version else {}
    readable_history([*decision_events, *after], definition)
    return Reconstruction(
        record=record,
        flow=flow,
        version=version,
        instance=instance,
        step=step,
        inputs=masker.mask(record.flow_id, record.inputs),
        step_config=masker.mask(record.flow_id, record.step_config),
        checks=[c for c in record.policy_checks if isinstance(c, dict)],
        task=task,
        decision_events=decision_events,
        after=after,
        masked=sorted(masker.applied),
    )


def _step_of(definition: dict[str, Any], step_id: str) -> dict[str, Any]:
    steps = definition.get("steps") or []
    if isinstance(steps, dict):
        found = steps.get(step_id)
        return {"id": step_id, **found} if isinstance(found, dict) else {}
    return next((s for s in steps if isinstance(s, dict) and s.get("id") == step_id), {})
