"""What happens to a case when a step run succeeds, waits, ends the flow or fails."""

from __future__ import annotations

import random
import traceback as tb
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from jsonschema import Draft202012Validator

from orchestration.definitions.graph import FlowGraph
from orchestration.engine import compensation, dispatch
from orchestration.engine import events as ev
from orchestration.engine.routing import arrive, next_steps
from orchestration.engine.state import check_instance_transition
from orchestration.engine.transition import MAX_EVENTS_PER_INSTANCE, Transition
from orchestration.json_numbers import first_non_finite
from orchestration.json_schemas import UnusableSchema, schema_errors
from orchestration.json_values import first_unplain
from orchestration.models import ACTIVE_STEP_STATUSES, InstanceStatus, StepRun, StepStatus
from orchestration.steps.base import (
    Done,
    Finish,
    PermanentError,
    Result,
    StepError,
    StepExecutor,
    StepTimeout,
    Wait,
)
from orchestration.steps.registry import executor_for


def apply(tx: Transition, run: StepRun, step: dict[str, Any], result: Result) -> None:
    try:
        if isinstance(result, Done):
            succeed(tx, run, step, result)
        elif isinstance(result, Wait):
            wait(tx, run, result)
        else:
            finish(tx, run, result)
    except StepError as error:
        fail(tx, run, step, error)


def succeed(tx: Transition, run: StepRun, step: dict[str, Any], result: Done) -> None:
    check_output(step, result.output)
    if tx.instance.audit_seq >= MAX_EVENTS_PER_INSTANCE:
        raise PermanentError("This case ran too many steps; the flow may be looping forever.")
    # Conditions read this step's output, so it is recorded before routing; a routing
    # error still fails the step, which is not marked succeeded until routing worked.
    tx.change(outputs={**tx.instance.outputs, step["id"]: result.output})
    if result.data:
        tx.change(data={**tx.instance.data, **result.data})
    if "compensates" in run.state:
        mark_succeeded(tx, run, result.output)
        compensation.advance(tx, run)
        return
    targets = result.goto if result.goto is not None else next_steps(tx, step)
    mark_succeeded(tx, run, result.output)
    for target in targets:
        arrive(tx, target, step["id"])
    if not targets:
        finish_if_idle(tx, run)


def mark_succeeded(tx: Transition, run: StepRun, output: dict[str, Any], note: str = "") -> None:
    tx.set_status(
        run,
        StepStatus.SUCCEEDED,
        output=output,
        finished_at=tx.now,
        started_at=run.started_at or tx.now,
    )
    tx.event(ev.step_succeeded(tx.instance, run, tx.actor, note), run)


def check_output(step: dict[str, Any], output: dict[str, Any]) -> None:
    schema = step.get("output_schema")
    if not schema:
        return
    try:
        found = schema_errors(Draft202012Validator(schema), output)
    except UnusableSchema as exc:
        raise PermanentError(
            f"The output schema of step '{step['id']}' cannot check its result: it {exc}."
        ) from None
    problems = [f"{'.'.join(map(str, e.absolute_path)) or 'output'}: {e.message}" for e in found]
    if problems:
        raise PermanentError(
            f"The result of step '{step['id']}' does not match its output schema: "
            + "; ".join(problems)
        )


def wait(tx: Transition, run: StepRun, result: Wait) -> None:
    tx.set_status(
        run,
        StepStatus.WAITING,
        due_at=result.due_at,
        state={**run.state, **result.state},
        started_at=run.started_at or tx.now,
    )
    tx.event(ev.step_waiting(tx.instance, run, tx.actor), run)


def finish(tx: Transition, run: StepRun, result: Finish) -> None:
    mark_succeeded(tx, run, result.output)
    if result.succeeded:
        end_instance(tx, InstanceStatus.SUCCEEDED, result.reason, exclude=run)
    elif not compensation.start(tx, result.reason):
        # The flow chose this outcome: the case ends, with nothing for an operator to fix.
        end_instance(tx, InstanceStatus.FAILED, result.reason, exclude=run, final=True)


def finish_if_idle(tx: Transition, run: StepRun) -> None:
    """A path that ends without an end step finishes the case once nothing else is active
    (a case that failed elsewhere waits for its operator instead)."""
    if tx.instance.status != InstanceStatus.RUNNING:
        return
    if tx.pending_runs(*ACTIVE_STEP_STATUSES) or tx.ready:
        return
    others = StepRun.objects.filter(instance=tx.instance, status__in=ACTIVE_STEP_STATUSES)
    if not others.exclude(pk=run.pk).exists():
        end_instance(tx, InstanceStatus.SUCCEEDED, "", exclude=run)


def end_instance(
    tx: Transition,
    status: str,
    reason: str,
    exclude: StepRun | None = None,
    final: bool = False,
) -> None:
    """Succeed, fail or otherwise stop the case. A failure leaves the case open for an
    operator to put right, and tells its exception owner, unless it is `final` (the flow
    chose it at an end step)."""
    check_instance_transition(tx.instance, status)
    failed = status == InstanceStatus.FAILED
    ends = final or not failed
    tx.change(
        status=status,
        error=reason if failed else "",
        finished_at=tx.now if ends else None,
    )
    if ends:
        cancel_active_runs(tx, "The case finished before this task was done", exclude)
    tx.event(ev.instance_finished(tx.instance, tx.actor, reason))
    if tx.instance.parent_step_run_id:
        dispatch.resume_parent_after_commit(tx.instance.pk)
    if failed and not ends:
        dispatch.notify_exception_owner_after_commit(tx.instance.pk)


def cancel_active_runs(tx: Transition, reason: str, exclude: StepRun | None = None) -> None:
    """Cancel the case's runs still in progress and its open human tasks; `reason` is
    what the people holding those tasks read on them."""
    from approvals.actions import cancel_open_tasks

    tx.cancel_active_runs(exclude)
    if _opens_tasks(tx.graph):
        cancel_open_tasks(tx.instance, reason)
    if any(step.get("kind") == "subflow" for step in tx.graph.steps()):
        # Their parent no longer waits for them: nobody would read what they do.
        dispatch.cancel_children_after_commit(tx.instance.pk, reason)


def _opens_tasks(graph: FlowGraph) -> bool:
    """Whether the flow has a step that can open a human task (else there is none to cancel)."""
    for step in graph.steps():
        try:
            if executor_for(str(step.get("kind"))).opens_tasks:
                return True
        except StepError:
            return True  # an unknown kind: do not assume
    return False


def fail(tx: Transition, run: StepRun, step: dict[str, Any], error: StepError) -> None:
    tx.set_status(
        run,
        StepStatus.FAILED,
        error=error.message,
        error_kind=error.kind,
        traceback="".join(tb.format_exception(error))[-8000:],
        finished_at=tx.now,
        started_at=run.started_at or tx.now,
    )
    move, make_move = _next_move(tx, run, step, error)
    # The step's failure is recorded before what it leads to (the case failing, say).
    tx.event(ev.step_failed(tx.instance, run, tx.actor, move), run)
    make_move()


def _next_move(
    tx: Transition, run: StepRun, step: dict[str, Any], error: StepError
) -> tuple[str, Callable[[], None]]:
    """What a failed step leads to, in words for its audit event, and the move itself."""
    label = step.get("label") or step["id"]
    if error.retryable and run.attempt < attempts_allowed(step, run.kind):
        delay = error.retry_after or backoff(step, run.attempt)

        def retry_later() -> None:
            retry = tx.new_run(
                step["id"],
                attempt=run.attempt + 1,
                status=StepStatus.RETRY_WAIT,
                due_at=tx.now + timedelta(seconds=delay),
                idempotency_key=run.idempotency_key,
                # A compensation's bookkeeping (what it undoes, what comes next) goes on.
                state=run.state,
            )
            tx.retries.append((retry, delay))

        return f"retry in {delay:.1f} s", retry_later
    if tx.instance.status == InstanceStatus.FAILED:
        # A call that ended after the case failed at another step: recorded, and the
        # operator deals with both.
        return "the case had already failed", lambda: None
    if "compensates" in run.state:
        reason = f"Rolling back failed at “{label}”: {error}"
        return "case failed during roll-back", lambda: end_instance(
            tx, InstanceStatus.FAILED, reason
        )
    if tx.instance.audit_seq >= MAX_EVENTS_PER_INSTANCE:
        # An error path that leads back to a step failing the same way goes round for
        # ever, as a loop of steps that succeed does (succeed() stops those).
        reason = (
            f"“{label}” failed: {error.message} This case ran too many steps; the flow may "
            "be looping forever."
        )
        return "case failed; exception owner notified", lambda: end_instance(
            tx, InstanceStatus.FAILED, reason
        )
    if target := step.get("on_error"):

        def take_error_path() -> None:
            tx.change(
                outputs={
                    **tx.instance.outputs,
                    step["id"]: {"error": error.message, "error_kind": error.kind},
                }
            )
            arrive(tx, target, step["id"])

        return f"error path '{target}'", take_error_path
    reason = f"“{label}” failed: {error.message}"
    return "case failed; exception owner notified", lambda: end_instance(
        tx, InstanceStatus.FAILED, reason
    )


def attempts_allowed(step: dict[str, Any], kind: str) -> int:
    from orchestration.steps.registry import executor_for

    retry = step.get("retry") or {}
    default = executor_for(kind).default_attempts
    return max(1, int(retry.get("attempts", default)))


def backoff(step: dict[str, Any], attempt: int) -> float:
    retry = step.get("retry") or {}
    base = float(retry.get("backoff_seconds", 2))
    ceiling = float(retry.get("max_backoff_seconds", 300))
    delay = min(ceiling, base * 2 ** (attempt - 1))
    if retry.get("jitter", True):
        delay = random.uniform(delay / 2, delay)
    return delay


def executor_outcome(executor: StepExecutor, ctx: Any, due: bool) -> Result | StepError:
    """Run an executor, turning any exception into a StepError kept as state."""
    try:
        if not (executor.writes_records or executor.reads_records):
            result = executor.on_due(ctx) if due else executor.execute(ctx)
        else:
            with transaction.atomic():
                result = executor.on_due(ctx) if due else executor.execute(ctx)
    except StepError as error:
        return error
    except SoftTimeLimitExceeded:  # Celery's warning before it kills the task
        return StepTimeout(
            f"Step '{ctx.step['id']}' did not finish within the worker's time limit "
            f"({settings.CELERY_TASK_SOFT_TIME_LIMIT} s)."
        )
    except Exception as exc:  # a bug in a step or action must fail the step, not the worker
        failure = PermanentError(f"Unexpected error in step '{ctx.step['id']}': {exc!r}")
        failure.__traceback__ = exc.__traceback__
        return failure
    return _unstorable(result) or result


def _unstorable(result: Result) -> StepError | None:
    """An output or data with NaN or infinity (a service's or an action's answer) would
    make the database refuse the whole transition, again at every redelivery: the step
    fails instead, and can take its error path."""
    for name in ("output", "data"):
        value = getattr(result, name, None)
        where = first_non_finite(value, name)
        if where is not None:
            return PermanentError(
                "The step gave an infinite or undefined number (NaN or infinity) "
                f"in {where}, which cannot be stored."
            )
        problem = first_unplain(value, name)
        if problem is not None:
            return PermanentError(f"The step gave {problem}.")
    return None
