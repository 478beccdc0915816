"""Steps that hand the case to people: approvals and AI decisions with a human fallback."""

from __future__ import annotations

from orchestration.steps.base import Done, Result, StepContext, StepExecutor, Wait
from orchestration.steps.registry import register


@register
class ApprovalStep(StepExecutor):
    kind = "approval"
    writes_records = True
    opens_tasks = True

    def execute(self, ctx: StepContext) -> Result:
        from approvals.actions import open_task

        task = open_task(ctx.run, ctx.step, ctx.instance)
        return Wait(due_at=None, state={"task": task.pk})


@register
class DecisionStep(StepExecutor):
    kind = "decision"
    writes_records = True
    opens_tasks = True

    def execute(self, ctx: StepContext) -> Result:
        from orchestration.decisions.service import decide

        decision = decide(ctx.run, ctx.step, ctx.instance, ctx.expression_context)
        if decision.automatic:
            return Done(output=decision.output)
        return Wait(due_at=None, state={"proposal": decision.output})
