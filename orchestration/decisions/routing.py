"""Combining providers' proposals and routing the result: automatic, or a person.

Routes, as recorded on the decision record:
  automatic        confident enough and allowed: the step completes at once
  review           below the threshold (or between the bands): a person decides
  escalate         below the lower band: a person decides, urgently, one level up
  guard            a policy guard holds: a person decides whatever the confidence
  never_automatic  the proposed outcome may never be taken automatically
  no_answer        no provider had an answer (cold start, no rule matched)
  fallback         a provider failed or answered nonsense: a person decides
  shadow           shadow mode: the AI's proposal is recorded, a person decides blind
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from orchestration.decisions.providers import Proposal

AUTOMATIC = "automatic"
DEFAULT_THRESHOLD = 0.8
ROUTE_LABELS = {
    "automatic": "Decided automatically",
    "review": "Confidence below the threshold",
    "escalate": "Confidence below the escalation band",
    "guard": "A policy guard requires a person",
    "never_automatic": "This outcome is never taken automatically",
    "no_answer": "The AI had no answer",
    "fallback": "The AI failed, so a person decides",
    "shadow": "Shadow mode: a person always decides",
}


def combine(proposals: list[Proposal], rule: str) -> Proposal:
    """One proposal from several: "majority", "highest" (confidence) or "override"
    (the first provider in the declared order that answers wins, e.g. a rules table
    in front of a model)."""
    answered = [p for p in proposals if p.answered]
    if not answered:
        reasons = "; ".join(p.rationale for p in proposals if p.rationale)
        return Proposal("+".join(p.provider for p in proposals), rationale=reasons)
    if len(proposals) == 1 or rule == "override":
        return answered[0]
    if rule == "highest":
        return max(answered, key=lambda p: p.confidence or 0.0)
    votes: dict[str, list[Proposal]] = defaultdict(list)
    for proposal in answered:
        votes[proposal.outcome].append(proposal)
    outcome, voters = max(
        votes.items(), key=lambda kv: (len(kv[1]), sum(p.confidence or 0 for p in kv[1]))
    )
    share = len(voters) / len(answered)
    confidence = round(share * sum(p.confidence or 0 for p in voters) / len(voters), 4)
    rationale = f"{len(voters)} of {len(answered)} providers propose {outcome}: " + "; ".join(
        f"{p.provider}: {p.rationale}" for p in voters
    )
    return Proposal(
        "+".join(p.provider for p in answered),
        outcome,
        confidence,
        rationale,
        ",".join(p.model_version for p in answered if p.model_version),
    )


@dataclass
class Route:
    route: str
    checks: list[dict[str, Any]] = field(default_factory=list)
    would_be_automatic: bool = False

    @property
    def automatic(self) -> bool:
        return self.route == AUTOMATIC

    @property
    def label(self) -> str:
        return ROUTE_LABELS.get(self.route, self.route)


def is_shadow(config: dict[str, Any]) -> bool:
    return bool(config.get("shadow")) or config.get("mode") == "shadow"


def threshold_of(config: dict[str, Any]) -> tuple[float, float | None]:
    """(accept at or above, escalate below): `bands.auto_above`, else the single
    `threshold`; `bands.escalate_below`, if any."""
    bands = config.get("bands") or {}
    accept = bands.get("auto_above", bands.get("accept", config.get("threshold")))
    escalate = _optional(bands.get("escalate_below", bands.get("escalate")))
    return float(DEFAULT_THRESHOLD if accept is None else accept), escalate


def _optional(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def route(
    proposal: Proposal, config: dict[str, Any], errors: list[str], guard_checks: list[dict]
) -> Route:
    checks = list(guard_checks)
    accept, escalate = threshold_of(config)
    confident = proposal.answered and (proposal.confidence or 0) >= accept
    checks.append(
        {
            "check": "threshold",
            "rule": f"confidence ≥ {accept:g}",
            "label": _confidence_label(proposal.confidence, accept),
            "result": "pass" if confident else "hold",
            "detail": "",
        }
    )
    never = [str(o) for o in config.get("never_automatic") or []]
    if proposal.outcome in never:
        checks.append(
            {
                "check": "never_automatic",
                "rule": proposal.outcome,
                "result": "hold",
                "label": f"“{proposal.outcome}” is never automatic",
                "detail": "",
            }
        )
    result = _first_reason(proposal, errors, checks, never, confident, escalate)
    if is_shadow(config):
        return Route("shadow", checks, would_be_automatic=result == AUTOMATIC)
    return Route(result, checks)


def _confidence_label(confidence: float | None, accept: float) -> str:
    if confidence is None:
        return f"No confidence to compare with the threshold of {accept:.0%}"
    relation = "reaches" if confidence >= accept else "is below"
    return f"Confidence {confidence:.0%} {relation} the threshold of {accept:.0%}"


def _first_reason(proposal, errors, checks, never, confident, escalate) -> str:
    if errors:
        return "fallback"
    if any(c["check"] == "guard" and c["result"] != "pass" for c in checks):
        return "guard"
    if not proposal.answered:
        return "no_answer"
    if proposal.outcome in never:
        return "never_automatic"
    if confident:
        return AUTOMATIC
    if escalate is not None and (proposal.confidence or 0) < escalate:
        return "escalate"
    return "review"
