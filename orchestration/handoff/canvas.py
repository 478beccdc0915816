"""The handoff map as cytoscape elements: actors as nodes, handoffs as weighted edges."""

from __future__ import annotations

from typing import Any

from orchestration.handoff.compute import HandoffMap, format_wait


def elements(handoff_map: HandoffMap) -> list[dict[str, Any]]:
    """Cytoscape elements: actors as nodes, handoffs as weighted, labelled edges."""
    result: list[dict[str, Any]] = []
    for actor in handoff_map.actors.values():
        classes = [actor.kind] + (["gap"] if actor.highlights else [])
        result.append(
            {
                "group": "nodes",
                "classes": " ".join(classes),
                "data": {
                    "id": actor.key,
                    "label": actor.label,
                    "kind": actor.kind,
                    "steps": len(actor.steps),
                    "gaps": len(actor.highlights),
                },
            }
        )
    top = max((h.cases for h in handoff_map.handoffs.values()), default=0) or 1
    for handoff in handoff_map.handoffs.values():
        if handoff.passages:
            label = (
                f"{handoff.cases} case{'s' if handoff.cases != 1 else ''}\nmedian "
                f"{format_wait(handoff.median)} · p90 {format_wait(handoff.p90)}"
            )
        else:
            label = ""  # dashed: designed, no case in this period
        if handoff.rework:
            label = ("↺ sent back · " + label).strip(" ·")
        classes = [
            c
            for c, on in (
                ("designed", handoff.designed),
                ("rework", handoff.rework),
                ("slow", handoff.slow),
                ("unused", handoff_map.has_runs and not handoff.passages),
            )
            if on
        ]
        result.append(
            {
                "group": "edges",
                "classes": " ".join(classes),
                "data": {
                    "id": handoff.key,
                    "source": handoff.source,
                    "target": handoff.target,
                    "label": label,
                    "cases": handoff.cases,
                    "width": 2 + 8 * (handoff.cases / top) if handoff.passages else 1.5,
                },
            }
        )
    return result
