from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from approvals import delegation, escalation


@shared_task(name="approvals.sweep_escalations")
def sweep_escalations() -> int:
    """Beat: remind, reassign and expire overdue tasks; start and end delegations."""
    now = timezone.now()
    delegation.sweep_delegations(now)
    handled = escalation.sweep(now)
    if handled >= escalation.SWEEP_BATCH:
        sweep_escalations.delay()
    return handled
