"""The palette: step kinds as the editor shows them (label, icon, one-line description,
colour), from the definitions catalog."""

from __future__ import annotations

from typing import Any

from orchestration.definitions.catalog import CATALOG, CATEGORIES, StepKind

# Colour by who does the work, so a flow reads at a glance (the handoff map agrees).
KIND_COLORS = {
    "start": "#2fb344",
    "end": "#2fb344",
    "approval": "#ae3ec9",
    "decision": "#f76707",
    "http": "#206bc4",
    "action": "#206bc4",
    "subflow": "#206bc4",
    "notify": "#4299e1",
    "emit": "#0ca678",
    "wait": "#0ca678",
    "timer": "#0ca678",
}
DEFAULT_COLOR = "#667382"
UNKNOWN = StepKind(
    "unknown", "Unknown kind", "ti-help-square", "A kind Podium does not know.", "Logic"
)


def kind(name: str) -> StepKind:
    return CATALOG.get(name) or UNKNOWN


def known(name: str) -> bool:
    return name in CATALOG


def color(name: str) -> str:
    return KIND_COLORS.get(name, DEFAULT_COLOR)


def css_class(name: str) -> str:
    entry = kind(name)
    if not entry.allows_incoming:
        return "start"
    if not entry.allows_outgoing:
        return "end"
    return ""


def node_data(name: str) -> dict[str, Any]:
    """What the canvas needs to draw a kind and to refuse nonsense connections."""
    entry = kind(name)
    return {
        "kind": name,
        "kindLabel": entry.label,
        "color": color(name),
        "iconClass": entry.icon,
        "allowsIn": entry.allows_incoming,
        "allowsOut": entry.allows_outgoing,
        "maxOut": entry.max_outgoing,
    }


def grouped() -> list[tuple[str, list[dict[str, Any]]]]:
    """Palette entries by catalog category, in the catalog's order."""
    groups = []
    for category in CATEGORIES:
        members = [
            {
                "name": k.name,
                "label": k.label,
                "description": k.description,
                "icon": k.icon,
                "css_class": css_class(k.name),
                "data": node_data(k.name),
            }
            for k in CATALOG.values()
            if k.category == category
        ]
        if members:
            groups.append((category, members))
    return groups


def new_step(step_id: str, kind_name: str, label: str) -> dict[str, Any]:
    """A step as the palette drops it: a label and nothing else to fill in yet."""
    return {"id": step_id, "kind": kind_name, "label": label or kind(kind_name).label}
