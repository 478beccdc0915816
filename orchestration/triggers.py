"""How a flow's cases begin: the triggers its start step declares, in words, and whether
a way of starting a case is among them.

A start step that declares no triggers can be started by hand and through the webhook
API. Once it declares some, only those start it: a flow that starts from an event
shows no start form, and the API refuses to start it.
"""

from __future__ import annotations

from typing import Any

from cron_descriptor import FormatException, MissingFieldException, Options, get_description
from django.conf import settings

from orchestration.models import FlowVersion

UNDECLARED = ("manual", "webhook")
BY_HAND, BY_WEBHOOK = "manual", "webhook"


def declared(version: FlowVersion) -> list[dict[str, Any]]:
    steps = (version.definition or {}).get("steps") or []
    start = next((s for s in steps if isinstance(s, dict) and s.get("kind") == "start"), {})
    triggers = (start.get("config") or {}).get("triggers") or []
    return [t for t in triggers if isinstance(t, dict)]


def accepts(version: FlowVersion, kind: str) -> bool:
    """Whether cases of `version` may start this way (BY_HAND or BY_WEBHOOK)."""
    triggers = declared(version)
    if not triggers:
        return kind in UNDECLARED
    return any(t.get("type") == kind for t in triggers)


def described(version: FlowVersion) -> list[str]:
    """Each way a case of `version` starts, in plain words."""
    triggers = declared(version) or [{"type": kind} for kind in UNDECLARED]
    return [_describe(trigger) for trigger in triggers]


def refusal(kind: str) -> str:
    if kind == BY_HAND:
        return (
            "This flow is not started by hand: its start step has no manual trigger. "
            "Add one in the editor to start cases here."
        )
    return (
        "This flow does not start from other systems: its start step has no webhook "
        "trigger. Add one in the editor to start cases through the API."
    )


def _describe(trigger: dict[str, Any]) -> str:
    kind = trigger.get("type")
    if kind == BY_HAND:
        return "By hand, with the start form"
    if kind == BY_WEBHOOK:
        return "From another system, through the webhook API"
    if kind == "schedule":
        return f"On a schedule: {_cron_words(str(trigger.get('cron', '')))}"
    if kind == "event":
        return f"When the event “{trigger.get('event', '')}” happens"
    return f"By a trigger Podium does not know: {kind}"


def _cron_words(cron: str) -> str:
    options = Options()
    options.use_24hour_time_format = True
    try:
        words = get_description(cron, options)
    except (FormatException, MissingFieldException):  # as the lint would: show it as it is
        return cron
    return f"{words} ({settings.TIME_ZONE})"
