"""Schedule triggers: one django-celery-beat entry per cron trigger of a flow's live version."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from audit.chain import Actor
from orchestration.engine import notifications, start_failures
from orchestration.engine.errors import EngineError
from orchestration.engine.starting import start_instance
from orchestration.models import Flow, FlowVersion, VersionStatus
from orchestration.triggers import declared

log = logging.getLogger(__name__)
TASK = "orchestration.start_scheduled"
SYSTEM = Actor.system("Podium schedule")


class BadCron(ValueError):
    pass


def live_version(flow_id: int) -> FlowVersion | None:
    return (
        FlowVersion.objects.filter(flow_id=flow_id, status=VersionStatus.PUBLISHED)
        .order_by("-number")
        .first()
    )


def _crontab(expression: str) -> CrontabSchedule:
    fields = expression.split()
    if len(fields) != 5:
        raise BadCron(
            f"'{expression}' is not a schedule of five fields (minute hour day month weekday)."
        )
    minute, hour, day, month, weekday = fields
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=day,
        month_of_year=month,
        day_of_week=weekday,
        timezone=timezone.get_current_timezone_name(),
    )
    return schedule


def schedule_triggers(version: FlowVersion | None) -> list[dict]:
    if version is None:
        return []
    return [t for t in declared(version) if t.get("type") == "schedule" and t.get("cron")]


@transaction.atomic
def sync_schedules(flow: Flow) -> int:
    """Make beat's entries match the cron triggers of the flow's live version."""
    prefix = f"podium:flow:{flow.pk}:"
    PeriodicTask.objects.filter(name__startswith=prefix).delete()
    triggers = schedule_triggers(live_version(flow.pk))
    for index, trigger in enumerate(triggers):
        PeriodicTask.objects.create(
            name=f"{prefix}{index}",
            task=TASK,
            crontab=_crontab(trigger["cron"]),
            kwargs=f'{{"flow_id": {flow.pk}, "trigger": {index}}}',
            description=f"Starts a case of '{flow.name}' on schedule {trigger['cron']}",
        )
    return len(triggers)


def start_scheduled(
    flow_id: int, trigger: int = 0, tick: str | None = None, now: datetime | None = None
) -> None:
    """Start the case of one tick of a flow's schedule: `tick` is when beat sent it
    (orchestration/beat.py), the same for every delivery of its message."""
    version = live_version(flow_id)
    triggers = schedule_triggers(version)
    if version is None or trigger >= len(triggers):
        return
    now = now or timezone.now()
    key = f"schedule:{trigger}:{_tick_minute(tick, now)}"
    try:
        start_instance(
            version,
            triggers[trigger].get("input") or {},
            trigger="schedule",
            actor=SYSTEM,
            idempotency_key=key,
        )
    except EngineError as exc:
        log.warning("scheduled start of flow %s failed: %s", flow_id, exc)
        problem = str(exc)
        start_failures.record(
            version,
            "schedule.start_failed",
            SYSTEM,
            now,
            {"problem": problem},
            lambda: notifications.notify_schedule_failed(version, problem),
        )


def _tick_minute(tick: str | None, now: datetime) -> str:
    """The minute of the tick, in UTC; of `now` for a message sent without one (by a
    Podium before ticks were stamped, or by hand)."""
    try:
        sent = datetime.fromisoformat(tick) if tick else now
    except ValueError:
        sent = now
    if timezone.is_naive(sent):
        sent = timezone.make_aware(sent, UTC)
    return f"{sent.astimezone(UTC):%Y%m%d%H%M}"
