"""Checking a value against a JSON Schema from a flow definition, which may be one no
validator can use: a $ref that leads nowhere, or one that refers back to itself without
end ({"$ref": "#"}). jsonschema only finds out while checking a value, by raising."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing.exceptions import Unresolvable

# Values every schema meets while checking the simplest input: a schema that cannot
# check these is broken for every case.
_SAMPLES: tuple[Any, ...] = ({}, [], "", 0, None)


class UnusableSchema(Exception):
    """The schema cannot check values; the message says why, in words."""


def schema_errors(validator: Draft202012Validator, value: Any) -> list[ValidationError]:
    """Every way `value` breaks the validator's schema; UnusableSchema if it cannot tell."""
    try:
        return list(validator.iter_errors(value))
    except RecursionError:
        raise UnusableSchema("refers to itself without end (a $ref loop)") from None
    except Unresolvable as exc:
        raise UnusableSchema(f"refers to something it does not hold ({exc})") from None


def unusable(schema: Any) -> str | None:
    """Why `schema` cannot check even the simplest values, or None."""
    validator = Draft202012Validator(schema)
    try:
        for sample in _SAMPLES:
            schema_errors(validator, sample)
    except UnusableSchema as exc:
        return str(exc)
    return None
