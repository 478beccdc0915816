"""Who holds the work at each step: a team or person, an AI provider, an outside system,
or Podium itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

PODIUM = "podium"
ARRIVE = "start"
FINISH = "finish"
# Steps that only route the case; a handoff passes through them to the next holder.
ROUTING_KINDS = {"branch", "parallel", "join"}
EXTERNAL_KINDS = {"http", "action", "notify", "subflow"}
OWNER_KEYS = ("assignees", "assignee", "team", "review_team", "reviewers", "fallback_team")
FALLBACK_KEYS = (
    "review_team",
    "reviewers",
    "fallback",
    "fallback_team",
    "human_fallback",
    "review",
    "assignees",
    "assignee",
)
ERROR_PATH_KEYS = ("error_path", "on_error")


@dataclass
class Actor:
    key: str
    label: str
    kind: str  # "team", "person", "ai", "system", "podium"
    steps: list[str] = field(default_factory=list)
    highlights: list[str] = field(default_factory=list)

    @property
    def icon(self) -> str:
        return {
            "team": "ti-users",
            "person": "ti-user",
            "ai": "ti-sparkles",
            "system": "ti-plug-connected",
            "podium": "ti-settings-automation",
        }[self.kind]

    @property
    def kind_label(self) -> str:
        return {
            "team": "Team",
            "person": "Person",
            "ai": "AI provider",
            "system": "Outside system",
            "podium": "Podium (automatic steps)",
        }[self.kind]


def _owner_actor(value: Any) -> tuple[str, str, str] | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = (value.get("team") and f"team:{value['team']}") or (
            value.get("user") and f"user:{value['user']}"
        )
    if not value:
        return None
    text = str(value)
    kind, _, name = text.partition(":")
    if kind == "user":
        return text, name, "person"
    if kind == "team":
        return text, name, "team"
    return f"team:{text}", text, "team"


def _host(url: str) -> str:
    url = url.split("{", 1)[0]
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def actor_of(step: dict[str, Any]) -> tuple[str, str, str]:
    """(key, label, kind) of whoever holds the work at this step."""
    kind = step.get("kind", "")
    config = step.get("config") or {}
    if kind == "start":
        return ARRIVE, "Cases arrive", "edge"
    if kind == "end":
        return FINISH, "Cases finish", "edge"
    if kind == "decision":
        provider = config.get("providers") or config.get("provider") or "ai"
        if isinstance(provider, dict):
            provider = [provider]
        if isinstance(provider, list):
            provider = (
                "+".join(str(p.get("type", "ai") if isinstance(p, dict) else p) for p in provider)
                or "ai"
            )
        return f"ai:{provider}", f"AI: {provider}", "ai"
    if kind == "approval":
        for key in OWNER_KEYS:
            found = _owner_actor(config.get(key))
            if found:
                return found
    if kind in EXTERNAL_KINDS:
        if kind == "http":
            host = _host(str(config.get("url", ""))) or "web service"
            return f"system:{host}", host, "system"
        if kind == "action":
            name = config.get("action") or "action"
            return f"system:python:{name}", _action_label(name), "system"
        if kind == "notify":
            return "system:email", "Email", "system"
        return f"system:flow:{config.get('flow', '')}", f"Flow: {config.get('flow', '')}", "system"
    return PODIUM, "Podium", "podium"


def has_any(step: dict[str, Any], keys: tuple[str, ...]) -> bool:
    config = step.get("config") or {}
    return any(step.get(k) or config.get(k) for k in keys)


def gaps(step: dict[str, Any], flow_has_owner: bool) -> list[str]:
    """What the map highlights about one step, in plain words."""
    found = []
    kind = step.get("kind", "")
    label = f"“{step.get('label') or step['id']}”"
    if kind not in ROUTING_KINDS | {"start", "end"} and not step.get("owner"):
        found.append(
            f"{label} has no accountable owner"
            + ("" if flow_has_owner else ", and the flow has none either")
        )
    if kind == "decision" and not has_any(step, FALLBACK_KEYS):
        found.append(f"{label} decides with AI but names no person to fall back to")
    if kind in EXTERNAL_KINDS and not has_any(step, ERROR_PATH_KEYS):
        found.append(f"{label} calls an outside system but has no error path")
    return found


def _action_label(name: str) -> str:
    """The registered action's own label ("Demo ERP: schedule a payment"), else its name."""
    from orchestration.steps.python_action import ACTIONS

    found = ACTIONS.get(name)
    return found.label if found else f"Action: {name}"
