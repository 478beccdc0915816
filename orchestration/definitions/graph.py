"""A definition as a graph with constant-time look-ups, built once per version
(the engine caches published versions' graphs: orchestration/engine/graphs.py).

Steps and connections are the definition's own dicts (read-only by convention), so
the engine reads `step["config"]` or `connection["condition"]` directly.
"""

from __future__ import annotations

from typing import Any

_CACHE_SIZE = 256


class FlowGraph:
    def __init__(self, definition: dict[str, Any]):
        self.definition = definition
        self._steps: dict[str, dict[str, Any]] = {}
        self._outgoing: dict[str, list[dict[str, Any]]] = {}
        self._incoming: dict[str, list[dict[str, Any]]] = {}
        self.start_step_id: str | None = None
        for step in definition.get("steps") or []:
            step_id = step.get("id") if isinstance(step, dict) else None
            if not isinstance(step_id, str) or step_id in self._steps:
                continue
            self._steps[step_id] = step
            self._outgoing[step_id], self._incoming[step_id] = [], []
            if step.get("kind") == "start" and self.start_step_id is None:
                self.start_step_id = step_id
        for connection in definition.get("connections") or []:
            if not isinstance(connection, dict):
                continue
            source, target = connection.get("from"), connection.get("to")
            if (
                isinstance(source, str)
                and isinstance(target, str)
                and {source, target} <= set(self._steps)
            ):
                self._outgoing[source].append(connection)
                self._incoming[target].append(connection)

    def step(self, step_id: str) -> dict[str, Any] | None:
        return self._steps.get(step_id)

    def outgoing(self, step_id: str) -> list[dict[str, Any]]:
        """Connections out of the step, in definition order (branches take the first true)."""
        return self._outgoing.get(step_id, [])

    def incoming(self, step_id: str) -> list[dict[str, Any]]:
        return self._incoming.get(step_id, [])

    @property
    def step_ids(self) -> list[str]:
        return list(self._steps)

    def steps(self) -> list[dict[str, Any]]:
        return list(self._steps.values())
