"""What changed between two versions of a flow, in words a process owner reads."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from orchestration.editor import palette, shape

# Step fields in the order people care about, with their plain names.
FIELD_NAMES = {
    "label": "name",
    "kind": "kind",
    "owner": "owner",
    "description": "description",
    "config": "settings",
    "retry": "retries",
    "timeout_seconds": "time limit",
    "sla": "SLA",
    "on_error": "error path",
    "compensation": "compensation step",
    "output_schema": "output schema",
    "metadata": "description of the data",
}
IGNORED_TOP_LEVEL = {"flow"}  # the flow's name and owners live on the flow, not the version
IGNORED_STEP_FIELDS = {"id", "position"}  # moving a step on the canvas is not a change


@dataclass
class Change:
    what: str  # "added", "removed", "changed"
    subject: str  # "step", "connection", "flow"
    text: str
    step_id: str = ""
    details: list[str] = field(default_factory=list)


def _show(value: Any) -> str:
    if value in (None, "", [], {}):
        return "nothing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | str):
        text = str(value)
    else:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return f"“{text[:80]}{'…' if len(text) > 80 else ''}”"


def _name(step: dict[str, Any]) -> str:
    return f"“{step.get('label') or step['id']}”"


def _field_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    details = []
    for key in sorted(set(before) | set(after), key=lambda k: (k not in FIELD_NAMES, k)):
        if key in IGNORED_STEP_FIELDS or before.get(key) == after.get(key):
            continue
        name = FIELD_NAMES.get(key, key.replace("_", " "))
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict) and key == "config":
            for sub in sorted(set(old) | set(new)):
                if old.get(sub) != new.get(sub):
                    details.append(
                        f"{sub.replace('_', ' ')} changed from {_show(old.get(sub))} "
                        f"to {_show(new.get(sub))}"
                    )
            continue
        if old in (None, "", [], {}):
            details.append(f"{name} set to {_show(new)}")
        elif new in (None, "", [], {}):
            details.append(f"{name} removed (was {_show(old)})")
        else:
            details.append(f"{name} changed from {_show(old)} to {_show(new)}")
    return details


def _steps(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    old = {s["id"]: s for s in shape.steps(before)}
    new = {s["id"]: s for s in shape.steps(after)}
    changes = []
    for step_id, step in new.items():
        if step_id not in old:
            kind = palette.kind(step.get("kind", "")).label
            changes.append(Change("added", "step", f"New step {_name(step)} ({kind})", step_id))
        elif details := _field_changes(old[step_id], step):
            changes.append(
                Change("changed", "step", f"Step {_name(step)} changed", step_id, details)
            )
    for step_id, step in old.items():
        if step_id not in new:
            changes.append(Change("removed", "step", f"Step {_name(step)} removed", step_id))
    return changes


def _connections(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    labels = {s["id"]: _name(s) for s in shape.steps(before) + shape.steps(after)}
    old = {(c.get("from"), c.get("to")): c for c in shape.connections(before)}
    new = {(c.get("from"), c.get("to")): c for c in shape.connections(after)}

    def words(key: tuple[str, str]) -> str:
        return f"{labels.get(key[0], key[0])} → {labels.get(key[1], key[1])}"

    changes = []
    for key, conn in new.items():
        label = shape.edge_label(conn)
        when = f" when {label}" if label and label != "otherwise" else ""
        if key not in old:
            changes.append(
                Change("added", "connection", f"New connection {words(key)}{when}", key[0])
            )
        elif old[key] != conn:
            details = _field_changes(old[key], conn)
            changes.append(
                Change("changed", "connection", f"Connection {words(key)} changed", key[0], details)
            )
    for key in old:
        if key not in new:
            changes.append(
                Change("removed", "connection", f"Connection {words(key)} removed", key[0])
            )
    return changes


def _flow(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    changes = []
    skip = {"steps", "connections"} | IGNORED_TOP_LEVEL
    for key in sorted((set(before) | set(after)) - skip):
        if before.get(key) != after.get(key):
            name = key.replace("_", " ")
            changes.append(
                Change(
                    "changed",
                    "flow",
                    f"Flow {name} changed",
                    "",
                    [f"from {_show(before.get(key))} to {_show(after.get(key))}"],
                )
            )
    return changes


def describe(before: dict[str, Any] | None, after: dict[str, Any]) -> list[Change]:
    """Every change from `before` (the last published definition) to `after`."""
    if before is None:
        return [
            Change(
                "added",
                "step",
                f"New step {_name(s)} ({palette.kind(s.get('kind', '')).label})",
                s["id"],
            )
            for s in shape.steps(after)
        ]
    return _flow(before, after) + _steps(before, after) + _connections(before, after)


def summary(changes: list[Change]) -> str:
    counts = {"added": 0, "removed": 0, "changed": 0}
    for change in changes:
        if change.subject == "step":
            counts[change.what] += 1
    parts = [f"{n} step{'s' if n != 1 else ''} {what}" for what, n in counts.items() if n]
    other = sum(1 for c in changes if c.subject != "step")
    if other:
        parts.append(f"{other} other change{'s' if other != 1 else ''}")
    return ", ".join(parts) or "No changes"
