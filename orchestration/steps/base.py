"""What a step executor receives and what it may return."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from orchestration.definitions.graph import FlowGraph
    from orchestration.models import FlowInstance, StepRun


class StepError(Exception):
    """A step failed. `retryable` says whether another attempt could succeed."""

    retryable: ClassVar[bool] = False
    kind: ClassVar[str] = "permanent"

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class PermanentError(StepError):
    """Retrying will not help: bad configuration, a 4xx answer, output that fails its schema."""


class RetryableError(StepError):
    """Worth another attempt: a timeout, a 5xx answer, a dead connection."""

    retryable = True
    kind = "retryable"


class StepTimeout(RetryableError):
    kind = "timeout"


@dataclass
class StepContext:
    instance: FlowInstance
    run: StepRun
    step: dict[str, Any]
    graph: FlowGraph
    now: datetime

    @property
    def config(self) -> dict[str, Any]:
        return self.step.get("config") or {}

    @property
    def expression_context(self) -> dict[str, Any]:
        from orchestration.expressions import build_context

        return build_context(self.instance.data, self.instance.outputs, self.now)


@dataclass
class Done:
    """The step finished. `goto` overrides its connections; `data` is merged into the data."""

    output: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] | None = None
    goto: list[str] | None = None


@dataclass
class Wait:
    """The step waits for the outside world until completed, or until `due_at`."""

    due_at: datetime | None = None
    state: dict[str, Any] = field(default_factory=dict)


@dataclass
class Finish:
    """An end step: the instance finishes with this result."""

    succeeded: bool
    reason: str = ""
    output: dict[str, Any] = field(default_factory=dict)


Result = Done | Wait | Finish


class StepExecutor:
    """One kind of step. Subclasses set `kind` and implement `execute`.

    `external` executors call the outside world: they run after a claim commit and
    outside the instance lock, so a slow call never blocks the instance's other
    branches. Others run inside the instance's transaction.
    """

    kind: ClassVar[str] = ""
    external: ClassVar[bool] = False
    # Steps that write rows pointing at their run (tasks, decision records, child
    # cases) need the run inserted first, and run inside a savepoint so a database
    # error fails the step instead of the whole transition.
    writes_records: ClassVar[bool] = False
    # Steps that read other rows (stored events) run inside a savepoint too, for the
    # same reason: on PostgreSQL a failed query spoils the transaction around it.
    reads_records: ClassVar[bool] = False
    # Steps that can open a human task (the engine cancels open tasks when a case ends).
    opens_tasks: ClassVar[bool] = False
    default_attempts: ClassVar[int] = 1

    def time_limit(self, step: dict[str, Any]) -> float | None:
        """The longest one execution may take, in seconds (None: the task's own limit);
        an external step's lease lasts this long plus a margin."""
        limit = step.get("timeout_seconds")
        return float(limit) if limit else None

    def execute(self, ctx: StepContext) -> Result:
        raise NotImplementedError

    def on_due(self, ctx: StepContext) -> Result:
        """A waiting run reached its deadline (timer fired, wait timed out)."""
        raise StepTimeout(f"Step '{ctx.step['id']}' waited past its deadline.")
