"""Starts nobody asked for in person (a schedule's tick, another flow's event) that the
flow refused: no case exists to show the problem, so the flow's audit chain keeps it
and its exception owner hears of it, at most once a day (a schedule may fail every few
minutes, an event stream every few seconds)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from audit.chain import Actor, Entry, append
from audit.models import AuditEvent
from orchestration.models import FlowVersion

TOLD_AT_MOST = timedelta(days=1)


def record(
    version: FlowVersion,
    action: str,
    actor: Actor,
    now: datetime,
    payload: dict[str, Any],
    tell: Callable[[], None],
    about: tuple[str, str] | None = None,
) -> None:
    """Append `action` to the flow's chain, about the flow or `about` (object type and
    id: the event that could not start a case); call `tell` unless it was told of such a
    failure within the last day."""
    stream = f"flow:{version.flow_id}"
    already_told = AuditEvent.objects.filter(
        stream=stream, action=action, occurred_at__gte=now - TOLD_AT_MOST
    ).exists()
    object_type, object_id = about or ("flow", str(version.flow_id))
    entry = Entry(action, actor, object_type, object_id, flow_id=version.flow_id, payload=payload)
    append(stream, [entry])
    if not already_told:
        tell()
