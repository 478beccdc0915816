"""Plain-English labels for audit screens."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder

register = template.Library()

ACTIONS = {
    "instance.started": "Case started",
    "instance.succeeded": "Case finished",
    "instance.failed": "Case failed",
    "instance.cancelled": "Case cancelled",
    "step.started": "Step started",
    "step.succeeded": "Step finished",
    "step.failed": "Step failed",
    "step.retrying": "Step will retry",
    "step.skipped": "Step skipped",
    "decision.proposed": "AI proposed an outcome",
    "decision.finalised": "Person made the final call",
    "decision.qa_reviewed": "Quality check of an automatic decision",
    "decision.corrected": "Decision record corrected",
    "event.corrected": "Event corrected",
    "step.waiting": "Step waiting",
    "step.completed": "Step completed from outside",
    "instance.compensating": "Case rolling back",
    "instance.compensated": "Case rolled back",
    "instance.resumed": "Case resumed",
    "task.created": "Task for a person created",
    "task.opened": "Task for a person opened",
    "task.claimed": "Task claimed",
    "task.released": "Task released",
    "task.cancelled": "Task cancelled",
    "flow.access_granted": "Flow access granted",
    "flow.access_revoked": "Flow access revoked",
    "flow.token_created": "API token created",
    "flow.token_revoked": "API token revoked",
    "decision.model_trained": "Decision model trained",
    "task.decided": "Person decided a task",
    "task.escalated": "Task escalated",
    "flow.owner_changed": "Flow owner changed",
    "flow.published": "Flow version published",
    "chain.sealed": "Chains sealed",
    "audit.viewed": "Audit data viewed",
    "audit.exported": "Audit data exported",
    "audit.evidence_pack": "Evidence pack downloaded",
    "audit.verified": "Chains verified",
    "user.logged_in": "Signed in",
    "user.logged_out": "Signed out",
    "user.login_failed": "Sign-in failed",
}
ACTOR_ICONS = {
    "user": "ti-user",
    "ai": "ti-sparkles",
    "system": "ti-settings-automation",
    "token": "ti-key",
}


@register.filter
def action_label(action: str) -> str:
    if action in ACTIONS:
        return ACTIONS[action]
    return action.replace(".", " ").replace("_", " ").capitalize()


@register.filter
def actor_icon(kind: str) -> str:
    return ACTOR_ICONS.get(kind, "ti-circle")


@register.filter
def decision_id(event: Any) -> str:
    """The decision record an event is about, if any."""
    if event.object_type == "decision" and event.object_id:
        return str(event.object_id)
    if event.stream.startswith("decision:"):
        return event.stream.split(":", 1)[1]
    return ""


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, cls=DjangoJSONEncoder, sort_keys=True)


@register.filter
def holder(value: Any) -> str:
    """'team:Finance' → 'Team Finance', 'user:lee' → 'Person lee'."""
    from audit.accountability import holders

    return ", ".join(h.label for h in holders(value))
