"""Start another flow and wait for its result."""

from __future__ import annotations

from datetime import timedelta

from audit.chain import Actor
from orchestration.models import FlowVersion, VersionStatus
from orchestration.steps.base import (
    PermanentError,
    Result,
    StepContext,
    StepExecutor,
    StepTimeout,
    Wait,
)
from orchestration.steps.control import evaluate_or_fail
from orchestration.steps.registry import register


@register
class SubflowStep(StepExecutor):
    kind = "subflow"
    writes_records = True

    def execute(self, ctx: StepContext) -> Result:
        from orchestration.engine.api import EngineError, start_instance

        slug = ctx.config.get("flow", "")
        version = (
            FlowVersion.objects.filter(flow__slug=slug, status=VersionStatus.PUBLISHED)
            .order_by("-number")
            .first()
        )
        if not version:
            raise PermanentError(f"There is no published flow '{slug}' to start.")
        child_input = {
            k: evaluate_or_fail(ctx, v, f"input field '{k}'")
            for k, v in (ctx.config.get("input") or {}).items()
        }
        try:
            child = start_instance(
                version,
                child_input,
                trigger="subflow",
                actor=Actor.system(f"{ctx.instance.flow.slug} #{ctx.instance.pk}"),
                business_key=ctx.instance.business_key,
                parent_step_run=ctx.run,
            )
        except EngineError as exc:
            raise PermanentError(f"Could not start flow '{slug}': {exc}") from exc
        timeout = ctx.step.get("timeout_seconds")
        due = ctx.now + timedelta(seconds=float(timeout)) if timeout else None
        return Wait(due_at=due, state={"child_instance": child.pk})

    def on_due(self, ctx: StepContext) -> Result:
        from orchestration.engine import dispatch

        child = ctx.run.state.get("child_instance")
        # The step stops waiting: its child case is cancelled, and a retry starts a new one.
        dispatch.cancel_children_after_commit(
            ctx.instance.pk, f"step '{ctx.step['id']}' stopped waiting for it at its time limit"
        )
        raise StepTimeout(f"The sub-flow case #{child} did not finish within the time limit.")
