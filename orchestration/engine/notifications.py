"""Telling a flow's exception owner that a case failed or is stuck."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from config.links import absolute_url
from orchestration.engine.runner import LIVE_INSTANCE
from orchestration.models import Flow, FlowInstance, FlowVersion, InstanceStatus
from orchestration.steps.notify import resolve_recipients


def exception_owner_targets(flow: Flow) -> list[str]:
    targets = []
    if flow.exception_owner_team is not None:
        targets.append(f"team:{flow.exception_owner_team.name}")
    if flow.exception_owner_user is not None:
        targets.append(f"user:{flow.exception_owner_user.username}")
    if not targets and flow.owner_team is not None:
        targets.append(f"team:{flow.owner_team.name}")
    return targets


def notify_exception_owner(instance_id: int) -> None:
    """Tell the exception owner that a case failed or is stuck, if it still is."""
    instance = FlowInstance.objects.select_related("flow").filter(pk=instance_id).first()
    if instance is None:
        return
    message = _message(instance)
    recipients = resolve_recipients(exception_owner_targets(instance.flow))
    if message is None or not recipients:
        return
    send_mail(*message, settings.DEFAULT_FROM_EMAIL, recipients)


def notify_schedule_failed(version: FlowVersion, problem: str) -> None:
    """Tell the exception owner that a scheduled start failed: no case exists to show it."""
    flow = version.flow
    _start_failed(
        version,
        f"Podium: {flow.name} did not start on schedule",
        f"A scheduled case of {flow.name} (version {version.number}) could not start:\n\n"
        f"{problem}\n\nThe schedule goes on; until this is put right, each start fails the "
        "same way",
    )


def notify_event_start_failed(version: FlowVersion, event: str, key: str, problem: str) -> None:
    """Tell the exception owner that an event could not start a case of the flow."""
    flow = version.flow
    _start_failed(
        version,
        f"Podium: {flow.name} did not start from the event “{event}”",
        f"The event “{event}” (key {key}) could not start a case of {flow.name} (version "
        f"{version.number}):\n\n{problem}\n\nUntil this is put right, each such event "
        "fails the same way",
    )


def _start_failed(version: FlowVersion, subject: str, text: str) -> None:
    recipients = resolve_recipients(exception_owner_targets(version.flow))
    if not recipients:
        return
    link = absolute_url("orchestration:flow_detail", version.flow.slug)
    send_mail(
        subject,
        f"{text} (this email comes at most once a day). Open the flow in Podium:\n{link}\n",
        settings.DEFAULT_FROM_EMAIL,
        recipients,
    )


def _message(instance: FlowInstance) -> tuple[str, str] | None:
    """Subject and text, or None if the case has been put right since."""
    label = f"{instance.flow.name} case #{instance.pk}" + (
        f" ({instance.business_key})" if instance.business_key else ""
    )
    link = absolute_url("orchestration:instance_detail", instance.pk)
    if instance.status == InstanceStatus.FAILED and not instance.has_ended:
        return (
            f"Podium: {label} failed",
            f"{label} stopped with this problem:\n\n{instance.error}\n\n"
            "Open the case in Podium to retry or skip the failed step, or to cancel the "
            f"case:\n{link}\n",
        )
    if instance.status in LIVE_INSTANCE and instance.stuck_since is not None:
        doing = (
            "is being rolled back"
            if instance.status == InstanceStatus.COMPENSATING
            else "is still running"
        )
        return (
            f"Podium: {label} is stuck",
            f"{label} {doing} but has no step left to run, so it cannot finish "
            "by itself.\n\nOpen the case in Podium to see how it got there, and cancel it "
            f"if it cannot go on:\n{link}\n",
        )
    return None
