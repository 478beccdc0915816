"""Start another flow and wait for its result."""

from __future__ import annotations

from datetime import timedelta

from audit.chain import Actor
from orchestration.models import FlowInstance, FlowVersion, VersionStatus
from orchestration.steps.base import (
    Done,
    PermanentError,
    Result,
    StepContext,
    StepExecutor,
    StepTimeout,
    Wait,
)
from orchestration.steps.control import evaluate_or_fail
from orchestration.steps.registry import register

# Sub-flows started by sub-flows: deeper than this, flows call each other without end.
MAX_DEPTH = 10


def _depth(instance: FlowInstance) -> int:
    """How many parent cases stand above this one (counted up to MAX_DEPTH)."""
    depth, step_run_id = 0, instance.parent_step_run_id
    while step_run_id is not None and depth < MAX_DEPTH:
        depth += 1
        step_run_id = (
            FlowInstance.objects.filter(step_runs__pk=step_run_id)
            .values_list("parent_step_run_id", flat=True)
            .first()
        )
    return depth


@register
class SubflowStep(StepExecutor):
    kind = "subflow"
    writes_records = True

    def execute(self, ctx: StepContext) -> Result:
        from orchestration.engine.api import EngineError, start_instance

        slug = ctx.config.get("flow", "")
        if _depth(ctx.instance) >= MAX_DEPTH:
            raise PermanentError(
                f"Flow '{slug}' would be started {MAX_DEPTH + 1} sub-flows deep: the cases "
                "call each other without end. Check which flows start which."
            )
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
        from orchestration.engine.event_bus import child_outcome

        child = ctx.run.state.get("child_instance")
        # A child that ended while its report could not be taken (the case had failed
        # at another step) gives its result now, rather than a time-out.
        ended = FlowInstance.objects.filter(pk=child).first()
        outcome = child_outcome(ended) if ended is not None else None
        if isinstance(outcome, dict):
            return Done(output=outcome)
        if outcome is not None:
            raise PermanentError(outcome)
        # The step stops waiting: its child case is cancelled, and a retry starts a new one.
        dispatch.cancel_children_after_commit(
            ctx.instance.pk, f"step '{ctx.step['id']}' stopped waiting for it at its time limit"
        )
        raise StepTimeout(f"The sub-flow case #{child} did not finish within the time limit.")
