"""Telling a flow's exception owner that a case failed."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from orchestration.models import FlowInstance
from orchestration.steps.notify import resolve_recipients


def exception_owner_targets(instance: FlowInstance) -> list[str]:
    flow = instance.flow
    targets = []
    if flow.exception_owner_team is not None:
        targets.append(f"team:{flow.exception_owner_team.name}")
    if flow.exception_owner_user is not None:
        targets.append(f"user:{flow.exception_owner_user.username}")
    if not targets and flow.owner_team is not None:
        targets.append(f"team:{flow.owner_team.name}")
    return targets


def notify_exception_owner(instance_id: int) -> None:
    instance = FlowInstance.objects.select_related("flow").filter(pk=instance_id).first()
    if instance is None:
        return
    recipients = resolve_recipients(exception_owner_targets(instance))
    if not recipients:
        return
    label = f"{instance.flow.name} case #{instance.pk}" + (
        f" ({instance.business_key})" if instance.business_key else ""
    )
    send_mail(
        f"Podium: {label} failed",
        f"{label} stopped with this problem:\n\n{instance.error}\n\n"
        "Open the case in Podium to retry or skip the failed step, or to cancel the case.",
        settings.DEFAULT_FROM_EMAIL,
        recipients,
    )
