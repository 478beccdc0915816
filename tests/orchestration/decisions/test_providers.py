"""Each provider behind the one interface."""

from __future__ import annotations

import pytest

from orchestration.decisions.models import LlmEndpoint
from orchestration.decisions.providers import ProviderError, Question, ask
from orchestration.decisions.providers.python import decision_function

pytestmark = pytest.mark.django_db


def question(settings, inputs=None, outcomes=("approve", "reject")):
    inputs = inputs or {"amount": 500, "country": "FR"}
    return Question(
        1,
        "credit_check",
        list(outcomes),
        inputs,
        {"data": inputs, "input": inputs, "steps": {}},
        settings,
    )


TABLE = {
    "rules": [
        {"when": "input.amount < 1000", "outcome": "approve", "confidence": 0.95, "label": "Small"},
        {"when": "input.country == 'XX'", "outcome": "reject", "confidence": 0.9},
    ]
}


def test_the_rules_table_answers_with_the_first_matching_row():
    proposal = ask("rules", question(TABLE))
    assert (proposal.outcome, proposal.confidence) == ("approve", 0.95)
    assert proposal.rationale == "Rule 1 matched: Small"
    assert proposal.model_version == "table:2 rows"


def test_the_rules_table_without_a_match_has_no_answer_unless_it_has_a_default():
    proposal = ask("rules", question(TABLE, {"amount": 5000, "country": "DE"}))
    assert not proposal.answered
    with_default = {**TABLE, "default": {"outcome": "reject", "confidence": 0.5}}
    proposal = ask("rules", question(with_default, {"amount": 5000, "country": "DE"}))
    assert (proposal.outcome, proposal.confidence) == ("reject", 0.5)


@pytest.mark.parametrize(("flag", "shown"), [("false", '"false"'), (1, "1"), (None, "null")])
def test_a_rule_that_gives_neither_true_nor_false_is_an_error_not_a_match(flag, shown):
    rules = {"rules": [{"when": "input.flag", "outcome": "approve", "confidence": 0.99}]}
    with pytest.raises(ProviderError, match=f"The condition gave {shown}, not true or false"):
        ask("rules", question(rules, {"flag": flag}))


def test_a_rule_with_an_unknown_outcome_or_bad_confidence_is_an_error():
    with pytest.raises(ProviderError, match="not an outcome"):
        ask("rules", question({"rules": [{"when": "true", "outcome": "maybe"}]}))
    with pytest.raises(ProviderError, match="outside 0 to 1"):
        ask(
            "rules",
            question({"rules": [{"when": "true", "outcome": "approve", "confidence": 1.5}]}),
        )


def test_a_registered_python_function_decides():
    @decision_function("score-test")
    def score(inputs, context):
        return {
            "outcome": "reject" if inputs["amount"] > 100 else "approve",
            "confidence": 0.81,
            "rationale": "over 100",
        }

    proposal = ask("python", question({"function": "score-test"}))
    assert (proposal.outcome, proposal.confidence, proposal.model_version) == (
        "reject",
        0.81,
        "python:score-test:1",
    )
    with pytest.raises(ProviderError, match="no decision function"):
        ask("python", question({"function": "missing"}))


def test_the_learned_provider_has_no_answer_before_any_model():
    proposal = ask("learned", question({}))
    assert not proposal.answered
    assert "still learning" in proposal.rationale


@pytest.fixture
def endpoint(llm_server, monkeypatch):
    monkeypatch.setenv("PODIUM_TEST_LLM_KEY", "sk-test")
    return LlmEndpoint.objects.create(
        name="local",
        base_url=llm_server.url,
        model="tiny-1",
        api_key_env="PODIUM_TEST_LLM_KEY",
        timeout_seconds=1,
    )


def test_the_llm_is_asked_for_strict_json_and_answers(endpoint, llm_server):
    proposal = ask("llm", question({"endpoint": "local", "prompt": "Approve known suppliers."}))
    assert (proposal.outcome, proposal.confidence) == ("approve", 0.93)
    assert proposal.model_version == "llm:local:tiny-1"
    [request] = llm_server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test"
    assert request["body"]["response_format"] == {"type": "json_object"}
    assert '"amount": 500' in request["body"]["messages"][1]["content"]


@pytest.mark.parametrize(
    ("reply", "status", "message"),
    [
        ("Sure! I would approve this.", 200, "not JSON"),
        ({"outcome": "maybe", "confidence": 0.9, "rationale": "x"}, 200, "unknown outcome"),
        ({"outcome": "approve", "confidence": 7, "rationale": "x"}, 200, "outside 0 to 1"),
        ({"outcome": "approve", "confidence": "high", "rationale": "x"}, 200, "not a number"),
        ({"outcome": "approve", "confidence": 0.9}, 200, "no rationale"),
        ([1, 2], 200, "not a JSON object"),
        ({"outcome": "approve"}, 500, "HTTP 500"),
    ],
)
def test_nonsense_from_the_llm_is_an_error_never_an_answer(
    endpoint, llm_server, reply, status, message
):
    llm_server.reply, llm_server.status = reply, status
    with pytest.raises(ProviderError, match=message):
        ask("llm", question({"endpoint": "local"}))


def test_a_slow_llm_times_out(endpoint, llm_server):
    llm_server.delay = 1.5
    with pytest.raises(ProviderError, match="did not answer within 1 s"):
        ask("llm", question({"endpoint": "local"}))


def test_a_missing_key_or_endpoint_is_an_error(endpoint, monkeypatch):
    monkeypatch.delenv("PODIUM_TEST_LLM_KEY")
    with pytest.raises(ProviderError, match="PODIUM_TEST_LLM_KEY is not set"):
        ask("llm", question({"endpoint": "local"}))
    with pytest.raises(ProviderError, match="no AI service called 'other'"):
        ask("llm", question({"endpoint": "other"}))
