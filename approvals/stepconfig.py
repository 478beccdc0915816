"""Reading the parts of a step definition the inbox needs, with safe defaults."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULT_OUTCOMES = ["approve", "reject"]
REQUEST_CHANGES = "request_changes"


def outcome_ids(config: dict[str, Any]) -> list[str]:
    """Outcomes may be written as strings or as {"id": ..., "label": ...}."""
    raw = config.get("outcomes") or DEFAULT_OUTCOMES
    return [str(o.get("id") if isinstance(o, dict) else o) for o in raw]


def outcome_labels(config: dict[str, Any]) -> dict[str, str]:
    raw = config.get("outcomes") or DEFAULT_OUTCOMES
    labels = {}
    for o in raw:
        key = str(o.get("id") if isinstance(o, dict) else o)
        label = o.get("label") if isinstance(o, dict) else ""
        labels[key] = str(label or key.replace("_", " ").capitalize())
    return labels


def sla_of(step: dict[str, Any]) -> tuple[int, bool]:
    """(minutes, business hours). Every human task has a deadline (engine invariant 4)."""
    sla = step.get("sla") or {}
    minutes = int(sla.get("minutes") or settings.PODIUM_TASK_DEFAULT_SLA_MINUTES)
    return max(minutes, 1), bool(sla.get("business_hours"))


def escalation_of(config: dict[str, Any]) -> dict[str, Any]:
    """The escalation chain as ordered stages: {"stages": [{"after_minutes", "action", "to"}]}.

    The definition format writes a list of {"after_minutes", "action": "notify" |
    "reassign", "to": "team:…" | "user:…"}; the short form {"notify_after_minutes": T1,
    "reassign_after_minutes": T2, "levels": [teams]} reassigns one level per T2.
    """
    raw = config.get("escalation") or []
    stages = []
    if isinstance(raw, list):
        for item in raw:
            action = "reassign" if item.get("action") == "reassign" else "notify"
            stages.append(
                {
                    "after_minutes": int(item.get("after_minutes") or 0),
                    "action": action,
                    "to": _target(item.get("to")),
                }
            )
    else:
        t1 = _minutes(raw, "notify_after_minutes", "notify_after", "t1")
        t2 = _minutes(raw, "reassign_after_minutes", "reassign_after", "t2")
        levels = raw.get("levels") or raw.get("reassign_to") or config.get("escalate_to") or []
        if t1:
            stages.append({"after_minutes": t1, "action": "notify", "to": ""})
        for number, level in enumerate([levels] if isinstance(levels, str) else levels):
            stages.append(
                {
                    "after_minutes": (t2 or 60) * (number + 1),
                    "action": "reassign",
                    "to": _target(level),
                }
            )
    stages = [s for s in stages if s["after_minutes"] > 0]
    stages.sort(key=lambda s: s["after_minutes"])
    return {"stages": stages}


def first_reassignment(chain: dict[str, Any]) -> tuple[int, str] | None:
    """(index, target) of the first reassign stage, for cases escalated straight away."""
    for index, stage in enumerate(chain.get("stages") or []):
        if stage["action"] == "reassign" and stage["to"]:
            return index, stage["to"]
    return None


def _target(value: Any) -> str:
    """ "team:Finance leads" / "user:lee"; a bare name is a team."""
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = f"team:{value['team']}" if value.get("team") else f"user:{value.get('user', '')}"
    text = str(value or "")
    if not text:
        return ""
    return text if text.startswith(("team:", "user:")) else f"team:{text}"


def _minutes(raw: dict[str, Any], *names: str) -> int | None:
    for name in names:
        if raw.get(name) not in (None, ""):
            return int(raw[name])
    return None


def assignee_of(step: dict[str, Any]) -> tuple[str, str]:
    """("user" | "team", name) from config.assignees, falling back to the step's owner."""
    config = step.get("config") or {}
    candidates = (
        config.get("assignees"),
        config.get("assignee"),
        config.get("reviewers"),
        config.get("review_team"),
        config.get("team"),
        step.get("owner"),
    )
    for raw in candidates:
        found = _assignee(raw)
        if found:
            return found
    return ("", "")


def _assignee(raw: Any) -> tuple[str, str] | None:
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    if isinstance(raw, dict):
        for kind in ("user", "team"):
            if raw.get(kind):
                return (kind, str(raw[kind]))
        if raw.get("kind") in ("user", "team") and raw.get("name"):
            return (raw["kind"], str(raw["name"]))
    if isinstance(raw, str) and raw:
        kind, _sep, name = raw.partition(":")
        if name:
            return (kind, name) if kind in ("user", "team") else None
        return ("team", raw)
    return None
