"""The JSON Schema (draft 2020-12) of the flow definition format `podium/v1`.

Kind-specific `config` is checked against each kind's schema in catalog.py, so this
schema only requires `config` to be an object. Fields starting with "x-" are free
for integrators' own annotations.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from orchestration.definitions.durations import LONGEST_MINUTES, LONGEST_SECONDS, SECONDS
from orchestration.definitions.messages import describe, dotted_path
from orchestration.definitions.problems import Problem, error

FORMAT = "podium/v1"
STEP_ID_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
OWNER_PATTERN = r"^(team|user|system):.+$"
EXTENSIONS = {"^x-": {}}

_OWNER = {"type": "string", "pattern": OWNER_PATTERN}
# A flow answers to people: a team or a user, never a system.
FLOW_OWNER_PATTERN = r"^(team|user):.+$"
_FLOW_OWNER = {"type": "string", "pattern": FLOW_OWNER_PATTERN}

STEP = {
    "type": "object",
    "required": ["id", "kind"],
    "additionalProperties": False,
    "patternProperties": EXTENSIONS,
    "properties": {
        "id": {"type": "string", "pattern": STEP_ID_PATTERN},
        "kind": {"type": "string", "minLength": 1},
        "label": {"type": "string", "maxLength": 200},
        "owner": _OWNER,
        "description": {"type": "string"},
        "reads": {"type": "array", "items": {"type": "string"}},
        "writes": {"type": "array", "items": {"type": "string"}},
        "sensitivity": {"enum": ["public", "internal", "confidential", "restricted"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "config": {"type": "object"},
        "retry": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": EXTENSIONS,
            "properties": {
                "attempts": {"type": "integer", "minimum": 1, "maximum": 100},
                "backoff_seconds": {"type": "number", "minimum": 0, "maximum": LONGEST_SECONDS},
                "max_backoff_seconds": {
                    "type": "number",
                    "minimum": 0,
                    "maximum": LONGEST_SECONDS,
                },
                "jitter": {"type": "boolean"},
            },
        },
        "timeout_seconds": SECONDS,
        "sla": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": EXTENSIONS,
            "properties": {
                "minutes": {"type": "number", "exclusiveMinimum": 0, "maximum": LONGEST_MINUTES},
                "business_hours": {"type": "boolean"},
            },
        },
        "on_error": {"type": "string"},
        "compensation": {"type": "string"},
        "output_schema": {"type": "object"},
        "position": {
            "type": "object",
            "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
        },
    },
}

CONNECTION = {
    "type": "object",
    "required": ["from", "to"],
    "additionalProperties": False,
    "patternProperties": EXTENSIONS,
    "properties": {
        "from": {"type": "string"},
        "to": {"type": "string"},
        "condition": {"type": "string"},
        "default": {"type": "boolean"},
        "label": {"type": "string", "maxLength": 200},
    },
}

DEFINITION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://podium.example/schemas/flow-definition-v1.json",
    "title": "Podium flow definition",
    "type": "object",
    "required": ["format", "steps", "connections"],
    "additionalProperties": False,
    "patternProperties": EXTENSIONS,
    "properties": {
        "format": {"const": FORMAT},
        "flow": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": EXTENSIONS,
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 200},
                "slug": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]{0,79}$"},
                "description": {"type": "string"},
                "owner": _FLOW_OWNER,
                "exception_owner": _FLOW_OWNER,
            },
        },
        "input_schema": {"type": "object"},
        "baseline": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": EXTENSIONS,
            "properties": {
                "manual_minutes_per_case": {"type": "number", "minimum": 0},
                "hourly_cost": {"type": "number", "minimum": 0},
                "error_rate": {"type": "number", "minimum": 0, "maximum": 1},
                "cases_per_month": {"type": "number", "minimum": 0},
            },
        },
        "business_key": {"type": "string"},
        "steps": {"type": "array", "items": STEP},
        "connections": {"type": "array", "items": CONNECTION},
    },
}


@cache
def validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(DEFINITION_SCHEMA)
    return Draft202012Validator(DEFINITION_SCHEMA)


def schema_problems(definition: Any) -> list[Problem]:
    """Every way the definition breaks the schema, in plain English, by step."""
    if not isinstance(definition, dict):
        return [error("schema", "A flow definition must be a mapping of fields to values.")]
    problems = []
    for found in sorted(validator().iter_errors(definition), key=lambda e: list(e.path)):
        where = _locate(definition, list(found.absolute_path))
        is_id = where.get("field") == "id" and found.validator == "pattern"
        message = describe(found, where["label"], where.get("field"))
        problem = error("bad_step_id" if is_id else "schema", message, **_strip(where))
        # jsonschema reports each missing field apart; describe() names them all at once.
        if problem not in problems:
            problems.append(problem)
    return problems


def _locate(definition: dict[str, Any], path: list[Any]) -> dict[str, Any]:
    """Which step or connection a schema error is about, and the field inside it."""
    if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
        step = definition["steps"][path[1]]
        step_id = step.get("id") if isinstance(step, dict) else None
        step_id = step_id if isinstance(step_id, str) else None
        label = f"Step '{step_id}'" if step_id else f"Step number {path[1] + 1}"
        return {"step_id": step_id, "field": dotted_path(path[2:]), "label": label}
    if len(path) >= 2 and path[0] == "connections" and isinstance(path[1], int):
        label = f"Connection number {path[1] + 1}"
        return {"connection": path[1], "field": dotted_path(path[2:]), "label": label}
    return {"field": dotted_path(path), "label": "The flow"}


def _strip(where: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in where.items() if key != "label"}
