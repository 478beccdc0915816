"""Decision providers behind one interface.

A provider looks at the step's inputs and answers with a `Proposal`: an outcome, a
confidence in [0, 1], a rationale and the id of the model or table version that
answered. A provider that has no answer (no rule matched, no model trained yet)
returns a proposal without an outcome; one that failed raises `ProviderError`, and
the case goes to a person with the error shown. Kinds register themselves in
`PROVIDERS`, one module each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class ProviderError(Exception):
    """The provider could not answer; the message is shown to the reviewer."""


@dataclass(frozen=True)
class Proposal:
    provider: str
    outcome: str = ""
    confidence: float | None = None
    rationale: str = ""
    model_version: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        return bool(self.outcome) and self.confidence is not None


@dataclass(frozen=True)
class Question:
    """What a provider is asked: the step, its declared inputs and the full context."""

    flow_id: int
    step_id: str
    outcomes: list[str]
    inputs: dict[str, Any]
    context: dict[str, Any]
    settings: dict[str, Any]  # this provider's entry in the step's config


Provider = Callable[[Question], Proposal]
PROVIDERS: dict[str, Provider] = {}


def register(kind: str) -> Callable[[Provider], Provider]:
    def wrap(func: Provider) -> Provider:
        PROVIDERS[kind] = func
        return func

    return wrap


def clamp_confidence(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ProviderError(f"confidence {value!r} is not a number") from None
    if not 0.0 <= number <= 1.0:
        raise ProviderError(f"confidence {number} is outside 0 to 1")
    return number


def ask(kind: str, question: Question) -> Proposal:
    try:
        provider = PROVIDERS[kind]
    except KeyError:
        raise ProviderError(f"there is no decision provider called {kind!r}") from None
    return provider(question)


def _load() -> None:
    from orchestration.decisions.providers import learned, llm, python, rules  # noqa: F401


_load()
