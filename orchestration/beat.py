"""Celery beat's scheduler for Podium: django-celery-beat's, with each scheduled start
stamped with the moment beat sent it.

A scheduled start must start one case per tick however often its message arrives: the
broker delivers at least once (a worker lost mid-task gets the message again, minutes
later), and beat may send a tick twice when it restarts. The worker's own clock cannot
tell a second delivery from the next tick; the time beat wrote into the message can.
"""

from __future__ import annotations

from typing import Any

from celery.beat import BeatLazyFunc
from django.utils import timezone
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

from orchestration.engine.schedules import TASK


def _now() -> str:
    return timezone.now().isoformat()


class StampedEntry(ModelEntry):
    def __init__(self, model: Any, app: Any = None) -> None:
        super().__init__(model, app)
        if self.task == TASK:
            # Evaluated by beat as it sends each message (celery.beat.BeatLazyFunc).
            self.kwargs = {**self.kwargs, "tick": BeatLazyFunc(_now)}


class Scheduler(DatabaseScheduler):
    Entry = StampedEntry
