"""Numbers that JSON can hold. JSON has no NaN and no infinity, and neither database
stores them, yet Python's json module reads `NaN`, `Infinity` and `1e999`, YAML has
`.inf`, and CEL divides by zero into infinity: every way in refuses them here."""

from __future__ import annotations

import json
import math
from typing import Any

from orchestration.json_values import MAX_DEPTH, first_unplain, walk


class NotFiniteError(json.JSONDecodeError):
    """Not valid JSON, as every handler of JSONDecodeError (Django's form fields too)
    takes it; its message has no position, as the parser does not give one."""

    def __init__(self, message: str) -> None:
        ValueError.__init__(self, message)
        self.msg, self.doc, self.pos, self.lineno, self.colno = message, "", 0, 1, 1


def _refuse_constant(name: str) -> float:
    raise NotFiniteError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotFiniteError(f"the number {text[:30]} is too large")
    return value


class FiniteJSONDecoder(json.JSONDecoder):
    """For Django's forms.JSONField(decoder=...)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            **{**kwargs, "parse_constant": _refuse_constant, "parse_float": _finite_float}
        )


def loads(text: str | bytes) -> Any:
    """json.loads, refusing NaN, Infinity, numbers too large for a float and what else
    cannot be stored (json_values.py: text that is not valid Unicode, nesting too deep,
    integers too long): NotFiniteError, a JSONDecodeError whose message has no position."""
    try:
        value = json.loads(text, cls=FiniteJSONDecoder)
    except RecursionError:
        raise NotFiniteError(f"the data is nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # Python's own limit on the digits of an integer
        raise NotFiniteError("a number has over 100 digits") from None
    problem = first_unplain(value)
    if problem is not None:
        raise NotFiniteError(f"it holds {problem}")
    return value


def first_non_finite(value: Any, where: str = "") -> str | None:
    """Where in `value` (a path such as `body.rate` or `items[2]`) the first infinite or
    undefined number is, or None if there is none. Walks without recursion (a service's
    answer may nest deeper than Python's stack), and names paths only once it found one."""
    if not _holds_non_finite(value):
        return None
    stack = [(where, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return path or "the value"
        if isinstance(item, dict):
            children = [(f"{path}.{key}" if path else str(key), v) for key, v in item.items()]
            stack.extend(reversed(children))
        elif isinstance(item, list | tuple):
            stack.extend(reversed([(f"{path}[{index}]", v) for index, v in enumerate(item)]))
    return None


def _holds_non_finite(value: Any) -> bool:
    return any(isinstance(item, float) and not math.isfinite(item) for item in walk(value))
