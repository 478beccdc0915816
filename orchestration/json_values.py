"""Values that JSON and the database can hold, besides numbers (json_numbers.py): plain
types only, text that is valid Unicode, integers Python can still write out, nesting
that serialising does not overflow the stack with. An action's answer, a webhook body
or a YAML file can hold anything; what cannot be stored is refused where it comes in,
not by the database write that would then fail at every retry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MAX_DEPTH = 100
# Python refuses to write out integers of more than 4,300 digits; far below that.
MAX_INTEGER = 10**100
SCALARS = (str, int, float, bool, type(None))


def first_unplain(value: Any, where: str = "") -> str | None:
    """What in `value` cannot be stored as JSON, in words with where it is ("a date and
    time, which JSON cannot hold (at output.booked_at)"), or None. Walks without
    recursion; numbers JSON cannot hold (NaN, infinity) are json_numbers' to find."""
    # Nearly every value is plain (a step's output is looked at here at every step):
    # find out first, and only then spend time naming paths.
    if not any(_problem(item, depth) for depth, item in _walk_with_depth(value)):
        return None
    stack: list[tuple[str, Any, int]] = [(where, value, 0)]
    while stack:
        path, item, depth = stack.pop()
        problem = _problem(item, depth)
        if problem:
            return f"{problem} (at {_shortened(path)})" if path else problem
        if isinstance(item, dict):
            children = [(f"{path}.{key}" if path else str(key), v) for key, v in item.items()]
            stack.extend((p, v, depth + 1) for p, v in reversed(children))
        elif isinstance(item, list | tuple):
            stack.extend(
                (f"{path}[{index}]", v, depth + 1) for index, v in reversed(list(enumerate(item)))
            )
    return None


def walk(value: Any) -> Iterator[Any]:
    """`value` and every value inside it, without recursion (data may nest deeper than
    Python's stack)."""
    return (item for _, item in _walk_with_depth(value))


def _walk_with_depth(value: Any) -> Iterator[tuple[int, Any]]:
    stack = [(0, value)]
    while stack:
        depth, item = stack.pop()
        yield depth, item
        if isinstance(item, dict):
            stack.extend((depth + 1, child) for child in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((depth + 1, child) for child in item)


def larger_than(value: Any, limit: int) -> bool:
    """Whether `value` holds more than `limit` values in all (YAML's aliases can make a
    small file expand to millions)."""
    return any(seen >= limit for seen, _ in enumerate(walk(value)))


def _problem(item: Any, depth: int) -> str:
    if depth > MAX_DEPTH:
        return f"data nested more than {MAX_DEPTH} levels deep"
    if isinstance(item, str):
        return _text_problem(item)
    if isinstance(item, int) and not isinstance(item, bool):
        return "" if -MAX_INTEGER < item < MAX_INTEGER else "a number with over 100 digits"
    if isinstance(item, dict):
        # JSON writes number, true/false and null keys as text; anything else it cannot.
        bad = next((k for k in item if not _plain_key(k)), None)
        if bad is None:
            return ""
        return f"a field named by {_text_problem(bad) if isinstance(bad, str) else _kind(bad)}"
    if isinstance(item, (*SCALARS, list, tuple)):
        return ""
    return f"{_kind(item)}, which JSON cannot hold"


def _shortened(path: str) -> str:
    return path if len(path) <= 60 else f"{path[:60]}…"


def _plain_key(key: Any) -> bool:
    if isinstance(key, str):
        return not _text_problem(key)
    return isinstance(key, SCALARS)


def _text_problem(text: str) -> str:
    # PostgreSQL keeps no NUL character, in text columns or in jsonb ("\u0000").
    if "\x00" in text:
        return "text with a null character"
    if text.isascii():
        return ""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text that is not valid Unicode"  # a lone surrogate, as JSON's "\ud800" gives
    return ""


KINDS = {
    "datetime": "a date and time",
    "date": "a date",
    "time": "a time of day",
    "Decimal": "a decimal number",
    "set": "a set",
    "bytes": "bytes",
}


def _kind(item: Any) -> str:
    name = type(item).__name__
    return KINDS.get(name, f"a value of type {name}")
