"""In-app notifications and email (Django's email backend), sent after commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction

from approvals.models import HumanTask, Notification
from config.links import absolute_url

log = logging.getLogger(__name__)


def notify(users: Iterable[Any], task: HumanTask | None, text: str) -> None:
    people = {u.pk: u for u in users if u is not None and u.is_active}.values()
    if not people:
        return
    Notification.objects.bulk_create(
        [Notification(user=u, task=task, text=text[:300]) for u in people]
    )
    link = absolute_url("approvals:task", task.pk) if task else absolute_url("approvals:inbox")
    messages = [
        (
            f"[Podium] {text}"[:200],
            f"{text}\n\nOpen it in Podium: {link}\n",
            settings.DEFAULT_FROM_EMAIL,
            [u.email],
        )
        for u in people
        if u.email
    ]
    if messages:
        transaction.on_commit(lambda: _send(messages))


def _send(messages: list[tuple[str, str, str, list[str]]]) -> None:
    try:
        send_mass_mail(messages, fail_silently=False)
    except Exception:  # the in-app notification is already stored
        log.exception("could not send %d task emails", len(messages))


def team_members(team_id: int | None) -> list[Any]:
    if team_id is None:
        return []
    from django.contrib.auth import get_user_model

    return list(get_user_model().objects.filter(groups__id=team_id, is_active=True))
