"""Plain-English labels for audit screens."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder

from audit.labels import action_label

register = template.Library()

ACTOR_ICONS = {
    "user": "ti-user",
    "ai": "ti-sparkles",
    "system": "ti-settings-automation",
    "token": "ti-key",
}


register.filter("action_label", action_label)


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
