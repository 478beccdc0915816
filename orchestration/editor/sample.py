"""Sample input for a test run, made from the flow's input schema."""

from __future__ import annotations

from typing import Any

from orchestration.forms import input_schema_of
from orchestration.models import FlowVersion

_BY_TYPE: dict[str, Any] = {
    "string": "example",
    "integer": 1,
    "number": 100.0,
    "boolean": False,
    "array": [],
    "object": {},
    "null": None,
}


def value_for(schema: dict[str, Any], depth: int = 0) -> Any:
    for key in ("default", "example", "const"):
        if key in schema:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" and depth < 4:
        return {
            name: value_for(spec, depth + 1)
            for name, spec in (schema.get("properties") or {}).items()
            if isinstance(spec, dict)
        }
    if kind in ("integer", "number") and "minimum" in schema:
        return schema["minimum"]
    if kind == "string" and schema.get("format") == "email":
        return "someone@example.com"
    if kind == "string" and schema.get("format") == "date":
        return "2026-01-31"
    return _BY_TYPE.get(kind, "example")


def input_for(version: FlowVersion | None) -> dict[str, Any]:
    value = value_for(input_schema_of(version)) if version else {}
    return value if isinstance(value, dict) else {}
