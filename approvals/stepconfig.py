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
    """{"notify_after_minutes": T1, "reassign_after_minutes": T2, "levels": [team names]}."""
    raw = config.get("escalation") or {}
    levels = raw.get("levels") or raw.get("reassign_to") or []
    if isinstance(levels, str):
        levels = [levels]
    return {
        "notify_after_minutes": _minutes(raw, "notify_after_minutes", "notify_after", "t1"),
        "reassign_after_minutes": _minutes(raw, "reassign_after_minutes", "reassign_after", "t2"),
        "levels": [
            str(level.get("team") if isinstance(level, dict) else level) for level in levels
        ],
    }


def _minutes(raw: dict[str, Any], *names: str) -> int | None:
    for name in names:
        if raw.get(name) not in (None, ""):
            return int(raw[name])
    return None


def assignee_of(step: dict[str, Any]) -> tuple[str, str]:
    """("user" | "team", name) from config.assignees, falling back to the step's owner."""
    config = step.get("config") or {}
    for raw in (config.get("assignees"), config.get("reviewers"), step.get("owner")):
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
        if name and kind in ("user", "team"):
            return (kind, name)
        return ("team", raw)
    return None
