"""Celery beat's scheduler for Podium: django-celery-beat's, with each scheduled start
stamped with the tick it belongs to.

A scheduled start must start one case per tick however often its message arrives: the
broker delivers at least once (a worker lost mid-task gets the message again, minutes
later), and beat sends a tick again when it restarts before it saved that it had sent
it. Neither the worker's clock nor beat's tells a second delivery from the next tick;
the time the tick was due, worked out from the schedule, does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

from orchestration.engine.schedules import TASK


class StampedEntry(ModelEntry):
    def __next__(self) -> Any:
        """Beat is about to send this entry (celery.beat.Scheduler.tick reserves the
        entry for the next time, then sends this one): the start it sends carries the
        tick that was due, worked out before the send moves last_run_at on."""
        if self.task == TASK:
            self.kwargs = {**self.kwargs, "tick": self._due().isoformat()}
        return super().__next__()

    def _due(self) -> datetime:
        """When the schedule was due: its first tick after the last run beat saved."""
        return self.default_now() + self.schedule.remaining_estimate(self.last_run_at)


class Scheduler(DatabaseScheduler):
    Entry = StampedEntry
