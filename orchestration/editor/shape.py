"""The flow's shape on the canvas: definition → cytoscape elements, and the canvas's
graph (steps, positions, connections) merged back into a definition.

The canvas only changes the shape; every other property of a step stays as it is in
the draft and is edited in the properties panel.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from orchestration.editor import palette

STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Far beyond any canvas a person draws on; JSON would take 1e300.
MAX_COORDINATE = 1_000_000


class ShapeError(ValueError):
    """The canvas asked for something that makes no sense; `step` says where."""

    def __init__(self, message: str, step: str = ""):
        super().__init__(message)
        self.message = message
        self.step = step


@dataclass(frozen=True)
class Connection:
    source: str
    target: str

    @property
    def id(self) -> str:
        return f"{self.source}->{self.target}"


def steps(definition: dict[str, Any]) -> list[dict[str, Any]]:
    return list(definition.get("steps") or [])


def connections(definition: dict[str, Any]) -> list[dict[str, Any]]:
    return list(definition.get("connections") or [])


def step_by_id(definition: dict[str, Any], step_id: str) -> dict[str, Any] | None:
    return next((s for s in steps(definition) if s.get("id") == step_id), None)


def position(step: dict[str, Any]) -> dict[str, float] | None:
    where = step.get("position")
    if isinstance(where, dict) and {"x", "y"} <= set(where):
        return {"x": where["x"], "y": where["y"]}
    return None


def edge_label(connection: dict[str, Any]) -> str:
    if connection.get("default"):
        return "otherwise"
    condition = connection.get("condition") or connection.get("when") or ""
    label = connection.get("label") or ""
    return str(label or condition)


def elements(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """Cytoscape elements for a definition, with positions when the draft has them."""
    result: list[dict[str, Any]] = []
    for step in steps(definition):
        kind = str(step.get("kind", ""))
        element: dict[str, Any] = {
            "group": "nodes",
            "data": {
                "id": step["id"],
                "label": step.get("label") or step["id"],
                **palette.node_data(kind),
            },
            "classes": palette.css_class(kind),
        }
        where = position(step)
        if where:
            element["position"] = where
        result.append(element)
    ids = {s["id"] for s in steps(definition)}
    conditioned: dict[str, int] = {}
    for conn in connections(definition):
        if conn.get("condition") and not conn.get("default"):
            conditioned[conn.get("from")] = conditioned.get(conn.get("from"), 0) + 1
    seen: dict[str, int] = {}
    for conn in connections(definition):
        source, target = conn.get("from"), conn.get("to")
        if source not in ids or target not in ids:
            continue
        classes = "default-path" if conn.get("default") else ""
        label = edge_label(conn)
        if conditioned.get(source, 0) > 1 and conn.get("condition") and not conn.get("default"):
            seen[source] = seen.get(source, 0) + 1  # conditions are checked in this order
            label = f"{seen[source]}. {label}"
        result.append(
            {
                "group": "edges",
                "data": {
                    "id": Connection(source, target).id,
                    "source": source,
                    "target": target,
                    "label": label,
                },
                "classes": classes,
            }
        )
    return result


def has_positions(definition: dict[str, Any]) -> bool:
    return bool(steps(definition)) and all(position(s) for s in steps(definition))


def _name(step: dict[str, Any]) -> str:
    return f"“{step.get('label') or step['id']}”"


def _check_connection(source: dict[str, Any], target: dict[str, Any], outgoing: int = 0) -> None:
    """Refuse a connection that makes no sense; `outgoing`: the source's other connections."""
    source_kind = palette.kind(source.get("kind", ""))
    if source["id"] == target["id"]:
        raise ShapeError(f"{_name(source)} cannot lead to itself.", source["id"])
    if not palette.kind(target.get("kind", "")).allows_incoming:
        raise ShapeError(
            f"{_name(target)} is a start step: the flow begins there, so nothing can lead into it.",
            target["id"],
        )
    if not source_kind.allows_outgoing:
        raise ShapeError(
            f"{_name(source)} is an end step: the flow finishes there, so it cannot lead anywhere.",
            source["id"],
        )
    if source_kind.max_outgoing is not None and outgoing >= source_kind.max_outgoing:
        raise ShapeError(
            f"{_name(source)} ({source_kind.label}) can lead to one step only. To go several "
            "ways, put a “Choose a path” or “Split in parallel” step after it.",
            source["id"],
        )


def _nodes(graph: Any) -> list[dict[str, Any]]:
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    if not isinstance(nodes, list):
        raise ShapeError("The editor sent a graph without steps.")
    seen: set[str] = set()
    for node in nodes:
        if not isinstance(node, dict):
            raise ShapeError("The editor sent a step Podium cannot read.")
        node_id = str(node.get("id", ""))
        if not STEP_ID.match(node_id):
            raise ShapeError(f"“{node_id}” is not a usable step id (small letters, digits, _).")
        if node_id in seen:
            raise ShapeError(f"Two steps have the id “{node_id}”.", node_id)
        seen.add(node_id)
    return nodes


def _coordinate(node: dict[str, Any], axis: str) -> int:
    value = node.get(axis, 0)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not abs(value) <= MAX_COORDINATE  # also refuses NaN
    ):
        raise ShapeError(f"The editor sent a position for “{node['id']}” off the canvas.")
    return round(value)


def _edges(graph: dict[str, Any]) -> list[dict[str, str]]:
    """The canvas's connections, each with a source and a target step id."""
    edges = graph.get("edges") or []
    if not isinstance(edges, list) or not all(
        isinstance(edge, dict)
        and isinstance(edge.get("source"), str)
        and isinstance(edge.get("target"), str)
        for edge in edges
    ):
        raise ShapeError("The editor sent connections Podium cannot read.")
    return edges


def apply_graph(definition: dict[str, Any], graph: Any) -> dict[str, Any]:
    """The draft's definition with the canvas's steps, positions and connections."""
    result = copy.deepcopy(definition)
    existing = {s["id"]: s for s in steps(result)}
    new_steps: list[dict[str, Any]] = []
    for node in _nodes(graph):
        step = existing.get(node["id"])
        if step is None:
            kind = str(node.get("kind", ""))
            if not palette.known(kind):
                raise ShapeError(f"Podium has no step kind “{kind}”.", node["id"])
            step = palette.new_step(node["id"], kind, str(node.get("label") or ""))
        step["position"] = {"x": _coordinate(node, "x"), "y": _coordinate(node, "y")}
        new_steps.append(step)
    by_id = {s["id"]: s for s in new_steps}
    kept = {Connection(c.get("from"), c.get("to")): c for c in connections(result)}
    wanted: list[Connection] = []
    for edge in _edges(graph):
        source, target = by_id.get(edge["source"]), by_id.get(edge["target"])
        if source is None or target is None:
            raise ShapeError("A connection points to a step that is not on the canvas.")
        conn = Connection(source["id"], target["id"])
        if conn in wanted:
            continue
        if conn not in kept:  # connections the draft already has stay, even if lint objects
            others = sum(1 for c in wanted if c.source == conn.source)
            _check_connection(source, target, others)
        wanted.append(conn)
    result["steps"] = new_steps
    result["connections"] = [kept.get(c) or {"from": c.source, "to": c.target} for c in wanted]
    return result


def replace_step(definition: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(definition)
    result["steps"] = [step if s["id"] == step["id"] else s for s in steps(result)]
    return result


def replace_connection(definition: dict[str, Any], conn: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(definition)
    key = (conn["from"], conn["to"])
    result["connections"] = [
        conn if (c.get("from"), c.get("to")) == key else c for c in connections(result)
    ]
    return result


def add_connection(definition: dict[str, Any], source_id: str, target_id: str) -> dict[str, Any]:
    source, target = step_by_id(definition, source_id), step_by_id(definition, target_id)
    if source is None or target is None:
        raise ShapeError("Choose a step that is on the canvas.", source_id)
    if any((c.get("from"), c.get("to")) == (source_id, target_id) for c in connections(definition)):
        raise ShapeError("These two steps are already connected.", source_id)
    others = sum(1 for c in connections(definition) if c.get("from") == source_id)
    _check_connection(source, target, others)
    result = copy.deepcopy(definition)
    result["connections"] = [*connections(result), {"from": source_id, "to": target_id}]
    return result


def move_connection(
    definition: dict[str, Any], source_id: str, target_id: str, delta: int
) -> dict[str, Any]:
    """Check this connection earlier (-1) or later (+1) among its source's connections."""
    result = copy.deepcopy(definition)
    conns = connections(result)
    mine = [i for i, c in enumerate(conns) if c.get("from") == source_id]
    here = next((i for i in mine if conns[i].get("to") == target_id), None)
    if here is None:
        return result
    place = mine.index(here) + delta
    if 0 <= place < len(mine):
        other = mine[place]
        conns[here], conns[other] = conns[other], conns[here]
    result["connections"] = conns
    return result


def order_of(definition: dict[str, Any], source_id: str, target_id: str) -> tuple[int, int]:
    """(position from 1, count) of a connection among its source's connections."""
    mine = [c.get("to") for c in connections(definition) if c.get("from") == source_id]
    return (mine.index(target_id) + 1 if target_id in mine else 0), len(mine)
