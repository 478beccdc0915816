"""Small valid definitions that tests change one thing in."""

from __future__ import annotations

import copy
from itertools import pairwise
from pathlib import Path
from typing import Any

from orchestration.definitions.lint import validate
from orchestration.definitions.problems import Problem
from tests.orchestration.factories import definition, link, step

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples" / "flows").glob("*.yaml"))


def start() -> dict[str, Any]:
    return step("start", "start", config={"triggers": [{"type": "manual"}]})


def end(step_id: str = "end") -> dict[str, Any]:
    return step(step_id, "end", config={"result": "success"})


def assign(step_id: str, **values: str) -> dict[str, Any]:
    return step(step_id, "set", config={"assign": values or {"done": "true"}})


def simple(*middle: dict[str, Any], links: list[dict] | None = None, **extra: Any) -> dict:
    """start → each middle step in turn → end, unless `links` is given."""
    steps = [start(), *middle, end()]
    chain = [s["id"] for s in steps]
    connections = links if links is not None else [link(a, b) for a, b in pairwise(chain)]
    extra.setdefault("input_schema", {"type": "object", "properties": {"amount": {}}})
    return definition(steps, connections, **extra)


def only(defn: dict[str, Any], code: str) -> list[Problem]:
    return [p for p in validate(copy.deepcopy(defn)) if p.code == code]


def the(defn: dict[str, Any], code: str) -> Problem:
    found = only(defn, code)
    assert len(found) == 1, (code, validate(defn))
    return found[0]
