"""An ordered decision table: the first row whose condition holds gives the outcome."""

from __future__ import annotations

from orchestration.decisions.guards import evaluate_condition
from orchestration.decisions.providers import (
    Proposal,
    ProviderError,
    Question,
    clamp_confidence,
    register,
)


@register("rules")
def decide_by_table(question: Question) -> Proposal:
    rows = question.settings.get("table") or question.settings.get("rules") or []
    version = str(question.settings.get("version") or f"table:{len(rows)} rows")
    for number, row in enumerate(rows, start=1):
        condition = str(row.get("when") or "true")
        try:
            matched = evaluate_condition(condition, question.context)
        except ValueError as exc:
            raise ProviderError(
                f"rule {number} ({condition}) could not be evaluated: {exc}"
            ) from exc
        if matched:
            return _answer(
                question,
                row,
                f"Rule {number} matched: {row.get('label') or condition}",
                version,
                number,
            )
    default = question.settings.get("default")
    if default and default.get("outcome"):
        return _answer(
            question, default, "No rule matched; the table's default applies", version, 0
        )
    return Proposal("rules", rationale="No rule in the table matched", model_version=version)


def _answer(question: Question, row: dict, rationale: str, version: str, number: int) -> Proposal:
    outcome = str(row.get("outcome") or "")
    if outcome not in question.outcomes:
        raise ProviderError(f"rule {number} gives {outcome!r}, which is not an outcome of the step")
    confidence = clamp_confidence(row.get("confidence", 1.0))
    return Proposal("rules", outcome, confidence, rationale, version, {"row": number})
