"""Flow definitions built in code, and published versions of them, for engine tests."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from orchestration.models import FlowVersion
from tests.factories import FlowFactory, FlowVersionFactory


def step(step_id: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "kind": kind,
        "label": step_id.replace("_", " ").title(),
        "owner": "system:podium",
        **extra,
    }


def link(source: str, target: str, **extra: Any) -> dict[str, Any]:
    return {"from": source, "to": target, **extra}


def definition(steps: list[dict], connections: list[dict], **extra: Any) -> dict[str, Any]:
    return {
        "format": "podium/v1",
        "input_schema": extra.pop("input_schema", {"type": "object"}),
        "steps": steps,
        "connections": connections,
        **extra,
    }


def sequence_definition(n: int, kind: str = "set") -> dict[str, Any]:
    """start → n steps of `kind` → end."""
    ids = [f"s{i}" for i in range(1, n + 1)]
    config = {"assign": {}} if kind == "set" else {}
    steps = [step("start", "start", config={"triggers": [{"type": "manual"}]})]
    steps += [step(i, kind, config=dict(config)) for i in ids]
    steps.append(step("end", "end", config={"result": "success"}))
    chain = ["start", *ids, "end"]
    return definition(steps, [link(a, b) for a, b in pairwise(chain)])


def published(defn: dict[str, Any], **flow_fields: Any) -> FlowVersion:
    flow = FlowFactory(**flow_fields)
    return FlowVersionFactory(flow=flow, definition=defn, number=1)
