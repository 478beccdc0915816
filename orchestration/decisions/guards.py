"""Conditions of decision tables and policy guards, evaluated as CEL on plain data."""

from __future__ import annotations

import re
from typing import Any


def evaluate_condition(text: str, context: dict[str, Any]) -> bool:
    """Whether the CEL condition holds; ValueError with a readable message when it cannot
    be evaluated or gives something other than true or false."""
    from orchestration.expressions import ExpressionError, holds

    try:
        return holds(text, context)
    except ExpressionError as exc:
        raise ValueError(str(exc)) from exc


_WORDS = [
    (">=", " at least "),
    ("<=", " at most "),
    ("==", " is "),
    ("!=", " is not "),
    ("&&", " and "),
    ("||", " or "),
    (">", " above "),
    ("<", " below "),
]


def plain_condition(text: str) -> str:
    """ "data.amount > 50000" → "amount above 50000": a reading aid, not a translation."""
    plain = re.sub(r"\b(data|steps)\.", "", text)
    for symbol, word in _WORDS:
        plain = plain.replace(symbol, word)
    plain = re.sub(r"(?<=[a-z])_(?=[a-z])", " ", plain)
    return re.sub(r"\s+", " ", plain).strip()


def check_guards(guards: list[Any], context: dict[str, Any]) -> list[dict[str, Any]]:
    """Each guard as a policy check: {"check", "label", "result": "pass" | "hold" | "error"}.

    A guard that holds sends the case to a person; so does one that cannot be evaluated.
    """
    checks = []
    for guard in guards:
        text = str(guard.get("when") if isinstance(guard, dict) else guard)
        label = (guard.get("label") if isinstance(guard, dict) else "") or plain_condition(text)
        label = f"Policy: {label}"
        try:
            result = "hold" if evaluate_condition(text, context) else "pass"
            detail = ""
        except ValueError as exc:
            result, detail = "error", str(exc)
        checks.append(
            {"check": "guard", "rule": text, "label": label, "result": result, "detail": detail}
        )
    return checks
