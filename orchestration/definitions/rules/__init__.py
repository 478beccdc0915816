"""Semantic lint rules. Each module checks one concern of a `Subject`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestration.definitions.catalog import CATALOG, StepKind
from orchestration.definitions.graph import FlowGraph

# Fields that name another step besides connections: (where, field path).
STEP_REFERENCES = (
    ("step", "on_error"),
    ("step", "compensation"),
    ("config", "expiry_path"),
    ("config", "on_timeout"),
)


@dataclass
class Subject:
    """A definition prepared for the rules: the first step of each id, usable connections."""

    definition: dict[str, Any]
    steps: list[dict[str, Any]] = field(init=False)
    connections: list[tuple[int, dict[str, Any]]] = field(init=False)
    graph: FlowGraph = field(init=False)

    def __post_init__(self) -> None:
        self.graph = FlowGraph(self.definition)
        self.steps = self.graph.steps()
        self.connections = [
            (index, c)
            for index, c in enumerate(self.definition.get("connections") or [])
            if isinstance(c, dict)
            and isinstance(c.get("from"), str)
            and isinstance(c.get("to"), str)
        ]

    def kind(self, step: dict[str, Any]) -> StepKind | None:
        return CATALOG.get(step.get("kind", ""))

    def has(self, step_id: Any) -> bool:
        return isinstance(step_id, str) and self.graph.step(step_id) is not None

    def references(self, step: dict[str, Any]) -> list[tuple[str, str]]:
        """(field, target) for each error, compensation, expiry or timeout path of the step."""
        found = []
        for where, name in STEP_REFERENCES:
            holder = step if where == "step" else config_of(step)
            target = holder.get(name)
            if isinstance(target, str) and target:
                found.append((name if where == "step" else f"config.{name}", target))
        return found

    def only_compensates(self, step_id: str) -> bool:
        """Whether the step runs only to undo another during a roll-back: named as a
        compensation and reached by no connection or other path. The roll-back goes on
        with the next compensation, so such a step needs no way out of its own."""
        named_by: set[str] = set()
        for step in self.steps:
            for name, target in self.references(step):
                if target == step_id:
                    named_by.add(name)
        return named_by == {"compensation"} and not self.graph.incoming(step_id)

    def successors(self, step_id: str, compensation: bool = True) -> list[str]:
        """Every step a case can move to from this one: connections and named paths (the
        compensation step only if `compensation`: a roll-back runs it, the case does not
        move on to it)."""
        step = self.graph.step(step_id) or {}
        targets = [c["to"] for c in self.graph.outgoing(step_id)]
        targets += [
            target
            for field, target in self.references(step)
            if self.has(target) and (compensation or field != "compensation")
        ]
        return targets


def config_of(step: dict[str, Any]) -> dict[str, Any]:
    """The step's config, or {} when it is missing or not a mapping (the schema reports that)."""
    config = step.get("config")
    return config if isinstance(config, dict) else {}


def list_of(value: Any) -> list[Any]:
    """`value`, or [] when it is missing or not a list (the schema reports that)."""
    return value if isinstance(value, list) else []


def label(step: dict[str, Any]) -> str:
    return f"Step '{step['id']}'"
