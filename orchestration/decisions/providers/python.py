"""Registered Python functions as decision providers.

from orchestration.decisions.providers.python import decision_function

@decision_function("credit-score")
def credit_score(inputs: dict, context: dict) -> dict:
    return {"outcome": "approve", "confidence": 0.9, "rationale": "score 780"}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestration.decisions.providers import (
    Proposal,
    ProviderError,
    Question,
    clamp_confidence,
    register,
)

DecisionFunction = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
FUNCTIONS: dict[str, DecisionFunction] = {}


def decision_function(name: str) -> Callable[[DecisionFunction], DecisionFunction]:
    def wrap(func: DecisionFunction) -> DecisionFunction:
        FUNCTIONS[name] = func
        return func

    return wrap


@register("python")
def decide_by_function(question: Question) -> Proposal:
    name = str(question.settings.get("function") or "")
    func = FUNCTIONS.get(name)
    if func is None:
        raise ProviderError(f"no decision function is registered as {name!r}")
    try:
        answer = func(dict(question.inputs), question.context)
    except Exception as exc:
        raise ProviderError(f"the function {name!r} failed: {exc}") from exc
    if not answer or not answer.get("outcome"):
        return Proposal(
            "python",
            rationale=str((answer or {}).get("rationale") or "No answer"),
            model_version=f"python:{name}",
        )
    outcome = str(answer["outcome"])
    if outcome not in question.outcomes:
        raise ProviderError(
            f"the function {name!r} answered {outcome!r}, not an outcome of the step"
        )
    return Proposal(
        "python",
        outcome,
        clamp_confidence(answer.get("confidence", 1.0)),
        str(answer.get("rationale") or ""),
        f"python:{name}:{answer.get('version', '1')}",
    )
