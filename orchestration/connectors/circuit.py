"""Circuit breaker per connector target, shared by every worker through the database."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from orchestration.models import CircuitState
from orchestration.steps.base import RetryableError

FAILURE_THRESHOLD = 5
COOL_DOWN = timedelta(seconds=30)


class CircuitOpen(RetryableError):
    kind = "circuit_open"


def check(target: str) -> None:
    state = CircuitState.objects.filter(target=target).values_list("open_until", flat=True).first()
    now = timezone.now()
    if state and state > now:
        wait = (state - now).total_seconds()
        raise CircuitOpen(
            f"Calls to {target} are paused for {int(wait) + 1} s after repeated failures.",
            retry_after=wait,
        )


def record_success(target: str) -> None:
    CircuitState.objects.filter(target=target, failures__gt=0).update(failures=0, open_until=None)


def record_failure(target: str) -> None:
    state, _ = CircuitState.objects.get_or_create(target=target)
    CircuitState.objects.filter(pk=target).update(failures=F("failures") + 1)
    state.refresh_from_db(fields=["failures"])
    if state.failures >= FAILURE_THRESHOLD:
        CircuitState.objects.filter(pk=target).update(
            open_until=timezone.now() + COOL_DOWN, failures=0
        )
