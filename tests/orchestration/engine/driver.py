"""Runs the engine synchronously inside a test: broker messages go to an in-memory queue."""

from __future__ import annotations

from collections import deque
from datetime import timedelta
from typing import Any

import time_machine
from django.db import transaction
from django.utils import timezone

from orchestration.engine import dispatch, event_bus, notifications, operator, runner
from orchestration.engine.sweep import recover, sweep


class EngineDriver:
    def __init__(self, monkeypatch: Any):
        self.queue: deque[tuple[str, dict]] = deque()
        self.sent: list[tuple[str, dict]] = []
        monkeypatch.setattr(dispatch, "message", self._message)
        # The test's own transaction never commits; run on-commit work straight away.
        monkeypatch.setattr(transaction, "on_commit", lambda func, *a, **k: func())

    def _message(self, name: str, kwargs: dict, countdown: float | None = None) -> None:
        self.queue.append((name, kwargs))
        self.sent.append((name, kwargs))

    def run(self, limit: int = 10_000) -> None:
        """Handle queued messages until none are left."""
        for _ in range(limit):
            if not self.queue:
                return
            name, kwargs = self.queue.popleft()
            if name == dispatch.RUN_STEP:
                dispatch.send(runner.process(kwargs["step_run_id"], "test-worker"))
            elif name == "orchestration.deliver_event":
                event_bus.deliver_event(**kwargs)
            elif name == "orchestration.resume_parent":
                event_bus.resume_parent(**kwargs)
            elif name == "orchestration.notify_exception_owner":
                notifications.notify_exception_owner(**kwargs)
            elif name == "orchestration.cancel_children":
                operator.cancel_children(**kwargs)
            else:
                raise AssertionError(f"the test driver does not know the task {name}")
        raise AssertionError("the engine did not settle")

    def sweep(self, later: timedelta = timedelta(0)) -> None:
        """Run the sweep and the minutely recovery (and what they send) as if `later` had
        passed."""
        with time_machine.travel(timezone.now() + later, tick=True):
            sweep()
            recover()
            self.run()
