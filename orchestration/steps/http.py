"""HTTP request step."""

from __future__ import annotations

from typing import Any

from orchestration.connectors.circuit import CircuitOpen, CircuitOpenNoWait
from orchestration.connectors.http_client import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    HttpRequest,
    send,
)
from orchestration.expressions import ExpressionError, render_template
from orchestration.steps.base import Done, PermanentError, Result, StepContext, StepExecutor
from orchestration.steps.control import evaluate_or_fail
from orchestration.steps.registry import register


@register
class HttpStep(StepExecutor):
    kind = "http"
    external = True
    default_attempts = 3

    def time_limit(self, step: dict[str, Any]) -> float:
        config = step.get("config") or {}
        limit = config.get("timeout_seconds") or step.get("timeout_seconds") or DEFAULT_TIMEOUT
        return float(limit)

    def execute(self, ctx: StepContext) -> Result:
        config = ctx.config
        try:
            url = render_template(config.get("url", ""), ctx.expression_context)
        except ExpressionError as exc:
            raise PermanentError(f"Step '{ctx.step['id']}': the address failed: {exc}") from exc
        body_spec = config.get("body")
        body = (
            {k: evaluate_or_fail(ctx, v, f"body field '{k}'") for k, v in body_spec.items()}
            if isinstance(body_spec, dict)
            else None
        )
        request = HttpRequest(
            method=str(config.get("method", "GET")).upper(),
            url=url,
            headers=_headers(ctx),
            body=body,
            idempotency_key=ctx.run.idempotency_key,
            timeout=self.time_limit(ctx.step),
            max_bytes=int(config.get("max_response_bytes") or DEFAULT_MAX_BYTES),
            success_statuses=tuple(config.get("success_statuses") or ()),
        )
        try:
            return Done(output=send(request))
        except CircuitOpen as paused:
            if config.get("when_paused") == "take_error_path":
                raise CircuitOpenNoWait(paused.message) from paused
            raise


def _headers(ctx: StepContext) -> dict[str, str]:
    """The request's headers, placeholders filled in from the case."""
    headers = {}
    for name, template in (ctx.config.get("headers") or {}).items():
        try:
            value = render_template(str(template), ctx.expression_context)
        except ExpressionError as exc:
            raise PermanentError(
                f"Step '{ctx.step['id']}': the header '{name}' failed: {exc}"
            ) from exc
        if "\r" in value or "\n" in value:
            # A line break would end the header and let the case's data write others.
            raise PermanentError(
                f"Step '{ctx.step['id']}': the header '{name}' would hold a line break."
            )
        headers[str(name)] = value
    return headers
