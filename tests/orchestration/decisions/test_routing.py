"""Combining proposals and routing by threshold, bands, guards and never-automatic outcomes."""

from __future__ import annotations

import pytest

from orchestration.decisions.providers import Proposal
from orchestration.decisions.routing import combine, route

A = Proposal("rules", "approve", 0.9, "r", "table")
B = Proposal("learned", "reject", 0.95, "m", "v3")
C = Proposal("llm", "approve", 0.7, "l", "gpt")
NONE = Proposal("learned", rationale="cold start")


def test_majority_vote_weighs_agreement():
    combined = combine([A, B, C], "majority")
    assert combined.outcome == "approve"
    assert combined.confidence == pytest.approx(2 / 3 * 0.8, abs=1e-3)
    assert combined.provider == "rules+learned+llm"


def test_highest_confidence_wins():
    assert combine([A, B, C], "highest").outcome == "reject"


def test_the_first_answering_provider_overrides_the_rest():
    assert combine([NONE, A, B], "override") is A
    assert combine([A, B], "override") is A


def test_no_answer_from_anyone():
    assert not combine([NONE], "majority").answered


@pytest.mark.parametrize(
    ("confidence", "config", "expected"),
    [
        (0.85, {"threshold": 0.8}, "automatic"),
        (0.79, {"threshold": 0.8}, "review"),
        (0.95, {"bands": {"accept": 0.9, "escalate": 0.5}}, "automatic"),
        (0.7, {"bands": {"accept": 0.9, "escalate": 0.5}}, "review"),
        (0.4, {"bands": {"accept": 0.9, "escalate": 0.5}}, "escalate"),
        (0.6, {"threshold": 0.5, "bands": {"escalate_below": 0.3}}, "automatic"),
        (0.2, {"threshold": 0.5, "bands": {"escalate_below": 0.3}}, "escalate"),
        (0.85, {"threshold": 0.8, "bands": {"auto_above": 0.9}}, "review"),
    ],
)
def test_threshold_and_bands(confidence, config, expected):
    proposal = Proposal("rules", "approve", confidence)
    assert route(proposal, config, [], []).route == expected


def test_a_guard_that_holds_sends_a_confident_case_to_a_person():
    guard = [
        {
            "check": "guard",
            "rule": "data.amount > 50000",
            "label": "Large amounts",
            "result": "hold",
            "detail": "",
        }
    ]
    assert route(A, {}, [], guard).route == "guard"


def test_never_automatic_outcomes():
    decided = route(Proposal("rules", "reject", 0.99), {"never_automatic": ["reject"]}, [], [])
    assert decided.route == "never_automatic"


def test_any_provider_error_falls_back_to_a_person():
    assert route(A, {}, ["llm: the AI's answer is not JSON"], []).route == "fallback"


def test_shadow_mode_always_asks_a_person_but_knows_what_it_would_have_done():
    decided = route(A, {"mode": "shadow"}, [], [])
    assert decided.route == "shadow" and decided.would_be_automatic


def test_guards_read_in_plain_words():
    from orchestration.decisions.guards import plain_condition

    assert plain_condition("data.amount > 50000 && data.risk_level != 'low'") == (
        "amount above 50000 and risk level is not 'low'"
    )
