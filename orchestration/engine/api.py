"""What the rest of Podium may call on the engine. Every call is one transaction that
locks the instance row, writes its audit events, and dispatches work after commit."""

from orchestration.engine.compensation import undoable
from orchestration.engine.completing import complete_waiting_step, fail_waiting_step
from orchestration.engine.errors import EngineError, InputInvalid, NotAllowedNow
from orchestration.engine.event_bus import emit_event
from orchestration.engine.operator import (
    OPEN_CASE,
    RETRYABLE,
    SKIPPABLE,
    can_cancel,
    cancel_instance,
    is_workable,
    offered,
    parent_gave_up,
    resume_instance,
    retry_step,
    rollback_instance,
    skip_step,
)
from orchestration.engine.runner import LIVE_INSTANCE
from orchestration.engine.starting import start_instance
from orchestration.engine.state import moves_the_case

__all__ = [
    "LIVE_INSTANCE",
    "OPEN_CASE",
    "RETRYABLE",
    "SKIPPABLE",
    "EngineError",
    "InputInvalid",
    "NotAllowedNow",
    "can_cancel",
    "cancel_instance",
    "complete_waiting_step",
    "emit_event",
    "fail_waiting_step",
    "is_workable",
    "moves_the_case",
    "offered",
    "parent_gave_up",
    "resume_instance",
    "retry_step",
    "rollback_instance",
    "skip_step",
    "start_instance",
    "undoable",
]
