"""An OpenAI-compatible chat endpoint asked for strict JSON.

Anything but a well-formed answer (timeout, HTTP error, prose, an unknown outcome, a
confidence outside [0, 1]) raises ProviderError: the case goes to a person with the
reason, never to an automatic outcome.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx

from orchestration.decisions.models import LlmEndpoint
from orchestration.decisions.providers import (
    Proposal,
    ProviderError,
    Question,
    clamp_confidence,
    register,
)

SYSTEM_PROMPT = (
    "You make one business decision. Answer with a single JSON object and nothing else: "
    '{"outcome": <one of %s>, "confidence": <number from 0 to 1>, '
    '"rationale": <one or two sentences>}.'
)


def _endpoint(name: str) -> LlmEndpoint:
    endpoints = LlmEndpoint.objects.all()
    endpoint = endpoints.filter(name=name).first() if name else endpoints.order_by("id").first()
    if endpoint is None:
        raise ProviderError(f"no AI service called {name or 'default'!r} is configured")
    return endpoint


def _request(endpoint: LlmEndpoint, question: Question) -> dict[str, Any]:
    instructions = str(question.settings.get("prompt") or "Decide this case.")
    case = json.dumps(question.inputs, default=str, sort_keys=True)
    return {
        "model": endpoint.model,
        "temperature": 0,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT % json.dumps(question.outcomes)},
            {"role": "user", "content": f"{instructions}\n\nCase:\n{case}"},
        ],
    }


def _call(endpoint: LlmEndpoint, body: dict[str, Any]) -> str:
    headers = {"Content-Type": "application/json"}
    if endpoint.api_key_env:
        key = os.environ.get(endpoint.api_key_env, "")
        if not key:
            raise ProviderError(f"the key variable {endpoint.api_key_env} is not set")
        headers["Authorization"] = f"Bearer {key}"
    url = endpoint.base_url.rstrip("/") + "/chat/completions"
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=endpoint.timeout_seconds)
    except httpx.TimeoutException:
        raise ProviderError(
            f"the AI service did not answer within {endpoint.timeout_seconds:g} s"
        ) from None
    except httpx.HTTPError as exc:
        raise ProviderError(f"the AI service could not be reached: {exc}") from exc
    if response.status_code != 200:
        raise ProviderError(f"the AI service answered HTTP {response.status_code}")
    try:
        return str(response.json()["choices"][0]["message"]["content"])
    except (ValueError, KeyError, IndexError, TypeError):
        raise ProviderError("the AI service's reply is not a chat completion") from None


def parse_answer(content: str, outcomes: list[str]) -> tuple[str, float, str]:
    try:
        answer = json.loads(content)
    except ValueError:
        raise ProviderError(f"the AI's answer is not JSON: {content[:120]!r}") from None
    if not isinstance(answer, dict):
        raise ProviderError("the AI's answer is not a JSON object")
    outcome = answer.get("outcome")
    if outcome not in outcomes:
        raise ProviderError(f"the AI answered the unknown outcome {outcome!r}")
    rationale = answer.get("rationale")
    if not isinstance(rationale, str) or not rationale.strip():
        raise ProviderError("the AI gave no rationale")
    return str(outcome), clamp_confidence(answer.get("confidence")), rationale.strip()[:2000]


@register("llm")
def decide_by_llm(question: Question) -> Proposal:
    endpoint = _endpoint(str(question.settings.get("endpoint") or ""))
    content = _call(endpoint, _request(endpoint, question))
    outcome, confidence, rationale = parse_answer(content, question.outcomes)
    return Proposal("llm", outcome, confidence, rationale, f"llm:{endpoint.name}:{endpoint.model}")
