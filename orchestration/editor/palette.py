"""The palette: step kinds as the editor shows them (label, icon, one-line description,
colour), read from the definitions catalog."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

# Colour by what the step is for, so a flow reads at a glance.
CATEGORY_COLORS = {
    "flow": "#2fb344",  # start and end
    "people": "#ae3ec9",  # approvals
    "ai": "#f76707",  # decisions
    "external": "#206bc4",  # calls to other systems
    "logic": "#667382",  # branch, parallel, join, timer, set
    "events": "#0ca678",
}
KIND_CATEGORY = {
    "start": "flow",
    "end": "flow",
    "approval": "people",
    "decision": "ai",
    "http": "external",
    "python": "external",
    "notify": "external",
    "subflow": "external",
    "emit": "events",
    "wait": "events",
}
CATEGORY_ORDER = ["flow", "people", "ai", "external", "logic", "events"]
CATEGORY_LABELS = {
    "flow": "Start and finish",
    "people": "People",
    "ai": "AI",
    "external": "Other systems",
    "logic": "Logic",
    "events": "Events",
}


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    icon: str
    description: str
    category: str = "logic"
    config_schema: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def color(self) -> str:
        return CATEGORY_COLORS.get(self.category, "#667382")

    @property
    def is_start(self) -> bool:
        return self.name == "start"

    @property
    def is_end(self) -> bool:
        return self.name == "end"

    @property
    def css_class(self) -> str:
        return {"start": "start", "end": "end"}.get(self.name, "")


def _attr(entry: Any, *names: str, default: Any = "") -> Any:
    for name in names:
        value = entry.get(name) if isinstance(entry, dict) else getattr(entry, name, None)
        if value not in (None, ""):
            return value
    return default


def _icon(value: str) -> str:
    value = value.strip()
    if value.startswith("ti ti-"):
        return value[3:]
    return value if value.startswith("ti-") else f"ti-{value}"


@cache
def kinds() -> tuple[Kind, ...]:
    from orchestration.definitions import catalog

    entries = catalog_entries(catalog)
    result = []
    for name, entry in entries:
        result.append(
            Kind(
                name=name,
                label=str(_attr(entry, "label", "title", default=name.title())),
                icon=_icon(str(_attr(entry, "icon", default="square"))),
                description=str(_attr(entry, "description", "summary", default="")),
                category=KIND_CATEGORY.get(name, "logic"),
                config_schema=dict(_attr(entry, "config_schema", "schema", default={}) or {}),
            )
        )
    return tuple(result)


def catalog_entries(catalog: Any) -> list[tuple[str, Any]]:
    """(kind name, entry) pairs from whatever shape the catalog module exposes."""
    for attr in ("CATALOG", "KINDS", "STEP_KINDS", "catalog"):
        value = getattr(catalog, attr, None)
        if callable(value):
            value = value()
        if isinstance(value, dict):
            return list(value.items())
        if isinstance(value, list | tuple):
            return [(str(_attr(e, "kind", "name")), e) for e in value]
    for attr in ("all_kinds", "kinds", "entries"):
        func = getattr(catalog, attr, None)
        if callable(func):
            value = func()
            if isinstance(value, dict):
                return list(value.items())
            return [(str(_attr(e, "kind", "name")), e) for e in value]
    raise LookupError("orchestration.definitions.catalog exposes no step kinds")


def kind(name: str) -> Kind:
    for entry in kinds():
        if entry.name == name:
            return entry
    return Kind(name, name or "Unknown", "ti-help-square", "A kind Podium does not know.")


def known(name: str) -> bool:
    return any(entry.name == name for entry in kinds())


def grouped() -> list[tuple[str, list[Kind]]]:
    groups = []
    for category in CATEGORY_ORDER:
        members = [k for k in kinds() if k.category == category]
        if members:
            groups.append((CATEGORY_LABELS[category], members))
    return groups


def new_step(step_id: str, kind_name: str, label: str) -> dict[str, Any]:
    """A step as the palette drops it: the kind's defaults, a label, nothing else."""
    step: dict[str, Any] = {"id": step_id, "kind": kind_name, "label": label or kind(kind_name).label}
    defaults = {
        name: spec["default"]
        for name, spec in (kind(kind_name).config_schema.get("properties") or {}).items()
        if isinstance(spec, dict) and "default" in spec
    }
    if defaults:
        step["config"] = defaults
    return step
