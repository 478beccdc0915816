"""Steps that only move the case along: start, set, branch, parallel, join, timer, end."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from orchestration.definitions.durations import LONGEST_SECONDS
from orchestration.expressions import ExpressionError, evaluate
from orchestration.steps.base import (
    Done,
    Finish,
    PermanentError,
    Result,
    StepContext,
    StepExecutor,
    Wait,
)
from orchestration.steps.registry import register


def evaluate_or_fail(ctx: StepContext, text: str, what: str) -> object:
    try:
        return evaluate(text, ctx.expression_context)
    except ExpressionError as exc:
        raise PermanentError(f"Step '{ctx.step['id']}': {what} '{text}' failed: {exc}") from exc


@register
class StartStep(StepExecutor):
    kind = "start"

    def execute(self, ctx: StepContext) -> Result:
        return Done(output={})


@register
class SetStep(StepExecutor):
    kind = "set"

    def execute(self, ctx: StepContext) -> Result:
        values = {
            name: evaluate_or_fail(ctx, text, f"the value of '{name}'")
            for name, text in (ctx.config.get("assign") or {}).items()
        }
        return Done(output=values, data=values)


@register
class BranchStep(StepExecutor):
    """Exclusive choice: the runner evaluates the conditions on the outgoing connections."""

    kind = "branch"

    def execute(self, ctx: StepContext) -> Result:
        return Done(output={})


@register
class ParallelStep(StepExecutor):
    kind = "parallel"

    def execute(self, ctx: StepContext) -> Result:
        return Done(output={}, goto=[c["to"] for c in ctx.graph.outgoing(ctx.step["id"])])


@register
class JoinStep(StepExecutor):
    """Arrivals are counted by the runner (engine/joins.py); reaching here means it fired."""

    kind = "join"

    def execute(self, ctx: StepContext) -> Result:
        return Done(output={"arrived": ctx.run.state.get("arrived", [])})


@register
class TimerStep(StepExecutor):
    kind = "timer"

    def execute(self, ctx: StepContext) -> Result:
        config = ctx.config
        if "duration_seconds" in config:
            due = ctx.now + timedelta(seconds=float(config["duration_seconds"]))
        elif "until" in config:
            due = self._until(ctx, config["until"])
        else:
            raise PermanentError(f"Timer '{ctx.step['id']}' needs a duration or an 'until' date.")
        if due <= ctx.now:
            return Done(output={"fired_at": ctx.now.isoformat()})
        return Wait(due_at=due, state={"timer": True})

    def on_due(self, ctx: StepContext) -> Result:
        return Done(output={"fired_at": ctx.now.isoformat()})

    def _until(self, ctx: StepContext, text: str) -> datetime:
        value = evaluate_or_fail(ctx, text, "the date")
        try:
            due = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise PermanentError(
                f"Timer '{ctx.step['id']}': '{value}' is not a date and time."
            ) from None
        if due.tzinfo is None:
            # A date or time without a zone is the organisation's: where cron triggers
            # and the screens read times too.
            due = timezone.make_aware(due, timezone.get_default_timezone())
        if due - ctx.now > timedelta(seconds=LONGEST_SECONDS):
            raise PermanentError(f"Timer '{ctx.step['id']}': {value} is more than ten years away.")
        return due


@register
class EndStep(StepExecutor):
    kind = "end"

    def execute(self, ctx: StepContext) -> Result:
        succeeded = ctx.config.get("result", "success") != "failure"
        return Finish(succeeded=succeeded, reason=ctx.config.get("reason", ""))
