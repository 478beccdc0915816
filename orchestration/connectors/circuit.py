"""Circuit breaker per connector target, shared by every worker through the database.

Closed, a target takes every call. After `PODIUM_CIRCUIT_FAILURES` failures in a row
it opens: calls are refused for `PODIUM_CIRCUIT_COOL_DOWN_SECONDS` and their step runs
wait (a refusal is a retryable error that says how long), then take their error path
once their retries run out. When the cool-down ends, one call (whoever claims it first)
tries the target while the others keep waiting: its success closes the circuit, its
failure opens it for another cool-down. Without that single trial every waiting run
would call the dead service at the same moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from orchestration.models import CircuitState
from orchestration.steps.base import PermanentError, RetryableError


class CircuitOpen(RetryableError):
    kind = "circuit_open"


class CircuitOpenNoWait(PermanentError):
    """Calls are paused and the step chose to take its error path instead of waiting."""

    kind = "circuit_open"


@dataclass(frozen=True)
class TargetHealth:
    """A target that failed lately, as the admin console shows it."""

    target: str
    failures: int  # in a row, while calls still go through
    paused_for: float | None  # seconds left of the cool-down; None if not paused
    trying: bool  # the cool-down is over and a trial call is due or under way


def troubled_targets(limit: int = 20) -> list[TargetHealth]:
    """Targets whose calls are paused or failing, paused ones first."""
    now = timezone.now()
    rows = (
        CircuitState.objects.filter(Q(failures__gt=0) | Q(open_until__isnull=False))
        .order_by(F("open_until").desc(nulls_last=True), "-failures", "target")
        .values_list("target", "failures", "open_until")[:limit]
    )
    return [
        TargetHealth(
            target=target,
            failures=failures,
            paused_for=(until - now).total_seconds() if until and until > now else None,
            trying=bool(until and until <= now),
        )
        for target, failures, until in rows
    ]


def cool_down() -> timedelta:
    return timedelta(seconds=settings.PODIUM_CIRCUIT_COOL_DOWN_SECONDS)


def check(target: str) -> None:
    """Return if this call may go to `target`; CircuitOpen if it must wait."""
    open_until = (
        CircuitState.objects.filter(target=target).values_list("open_until", flat=True).first()
    )
    if open_until is None:
        return
    now = timezone.now()
    if open_until > now:
        _refuse(target, open_until - now)
    if not _claim_trial(target, open_until, now):
        _refuse(target, cool_down())  # another call is trying the target


def _claim_trial(target: str, open_until: datetime, now: datetime) -> bool:
    """Whether this call is the one that tries the target after its cool-down; the
    others see the cool-down extended until the trial has answered."""
    return bool(
        CircuitState.objects.filter(pk=target, open_until=open_until).update(
            open_until=now + cool_down()
        )
    )


def _refuse(target: str, wait_for: timedelta) -> NoReturn:
    wait = wait_for.total_seconds()
    raise CircuitOpen(
        f"Calls to {target} are paused for {int(wait) + 1} s after repeated failures.",
        retry_after=wait,
    )


def record_success(target: str) -> None:
    CircuitState.objects.filter(
        Q(failures__gt=0) | Q(open_until__isnull=False), target=target
    ).update(failures=0, open_until=None)


def record_failure(target: str) -> None:
    state, _ = CircuitState.objects.get_or_create(target=target)
    CircuitState.objects.filter(pk=target).update(failures=F("failures") + 1)
    state.refresh_from_db(fields=["failures", "open_until"])
    if state.open_until is not None or state.failures >= settings.PODIUM_CIRCUIT_FAILURES:
        # A failed trial, or one failure too many: pause calls for a cool-down.
        CircuitState.objects.filter(pk=target).update(
            open_until=timezone.now() + cool_down(), failures=0
        )
