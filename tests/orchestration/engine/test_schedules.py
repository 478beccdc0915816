import pytest
from django_celery_beat.models import PeriodicTask

from orchestration import actions
from orchestration.engine.schedules import start_scheduled
from orchestration.models import FlowInstance, FlowVersion
from tests.factories import FlowFactory, TeamFactory, UserFactory
from tests.orchestration.factories import definition, link, step


def scheduled(cron: str) -> dict:
    return definition(
        [
            step("start", "start", config={"triggers": [{"type": "schedule", "cron": cron}]}),
            step("end", "end"),
        ],
        [link("start", "end")],
    )


@pytest.fixture
def draft(db):
    team = TeamFactory(name="Ops")
    flow = FlowFactory(slug="nightly", owner_team=team)
    return FlowVersion.objects.create(flow=flow, number=1, definition=scheduled("0 2 * * *"))


def test_publishing_a_flow_with_a_schedule_trigger_registers_it_with_beat(draft):
    actions.publish_version(draft, user=UserFactory(), note="go live")
    task = PeriodicTask.objects.get(name__startswith=f"podium:flow:{draft.flow_id}:")
    assert task.task == "orchestration.start_scheduled"
    assert (task.crontab.minute, task.crontab.hour) == ("0", "2")


def test_retiring_the_version_removes_its_schedule(draft):
    user = UserFactory()
    actions.publish_version(draft, user=user, note="go live")
    actions.retire_version(draft, user=user)
    assert not PeriodicTask.objects.filter(name__startswith="podium:flow:").exists()


def test_a_scheduled_start_runs_once_per_minute_even_if_beat_fires_twice(draft, engine):
    actions.publish_version(draft, user=UserFactory(), note="go live")
    start_scheduled(draft.flow_id)
    start_scheduled(draft.flow_id)
    engine.run()
    instance = FlowInstance.objects.get()
    assert instance.trigger == "schedule"
    assert instance.status == "succeeded"


def test_a_tick_delivered_again_minutes_later_starts_no_second_case(draft, engine):
    import datetime as dt

    actions.publish_version(draft, user=UserFactory(), note="go live")
    tick = dt.datetime(2026, 3, 2, 2, 0, 59, 900000, tzinfo=dt.UTC)
    # The worker takes it just before the next minute; a redelivery comes after it.
    for late in (0.05, 3, 600):
        start_scheduled(draft.flow_id, tick=tick.isoformat(), now=tick + dt.timedelta(seconds=late))
    start_scheduled(draft.flow_id, tick=(tick + dt.timedelta(days=1)).isoformat())
    engine.run()
    assert FlowInstance.objects.filter(trigger="schedule").count() == 2


def test_a_tick_beat_sends_again_after_a_restart_starts_one_case(draft, engine, monkeypatch):
    """Beat saves when it last sent a schedule only every few minutes: restarted before
    that, it sends the same tick again, in a later minute."""
    import datetime as dt
    import time

    import django_celery_beat.schedulers as beat_schedulers
    import time_machine

    from config.celery import app
    from orchestration.beat import Scheduler
    from orchestration.tasks import start_scheduled as task

    actions.publish_version(draft, user=UserFactory(), note="go live")  # daily at 02:00
    today = dt.datetime.now(dt.UTC).replace(hour=2, minute=0, second=0, microsecond=0)
    PeriodicTask.objects.filter(name__startswith="podium:flow:").update(
        last_run_at=today - dt.timedelta(days=1)
    )
    sent: list[dict] = []
    monkeypatch.setattr(task, "apply_async", lambda args, kwargs, **options: sent.append(kwargs))
    monkeypatch.setattr(beat_schedulers, "close_old_connections", lambda: None)
    with time_machine.travel(today + dt.timedelta(seconds=30), tick=False):
        running = Scheduler(app=app)
        running._last_sync = time.monotonic()  # up a while: it saves later
        running.tick()
    with time_machine.travel(today + dt.timedelta(seconds=75), tick=False):
        restarted = Scheduler(app=app)
        restarted.tick()  # restarted before it saved
    for scheduler in (running, restarted):
        scheduler._finalize.cancel()  # no saving at exit, once the test database is gone
    assert len(sent) == 2
    assert {dt.datetime.fromisoformat(s["tick"]) for s in sent} == {today}
    for kwargs in sent:
        start_scheduled(**kwargs)
    engine.run()
    assert FlowInstance.objects.filter(trigger="schedule").count() == 1


def test_a_scheduled_start_that_fails_tells_the_exception_owner_once_a_day(
    draft, engine, mailoutbox
):
    import datetime as dt

    from django.utils import timezone

    from audit.models import AuditEvent

    UserFactory(username="ops", email="ops@example.com", teams=[draft.flow.owner_team])
    actions.publish_version(draft, user=UserFactory(), note="go live")
    # A version stored before the lint refused it: its cases need an input nobody gives.
    needs_input = {"type": "object", "required": ["region"], "properties": {"region": {}}}
    FlowVersion.objects.filter(pk=draft.pk).update(
        definition={**draft.definition, "input_schema": needs_input}
    )
    first = timezone.now()
    for minutes in (0, 1, 60 * 25):
        start_scheduled(draft.flow_id, now=first + dt.timedelta(minutes=minutes))
    assert not FlowInstance.objects.exists()
    assert AuditEvent.objects.filter(action="schedule.start_failed").count() == 3
    assert len(mailoutbox) == 2  # the first failure, and again the next day
    assert mailoutbox[0].to == ["ops@example.com"]
    assert mailoutbox[0].subject == f"Podium: {draft.flow.name} did not start on schedule"
    assert "missing the required field 'region'" in mailoutbox[0].body
    assert "/flows/nightly/" in mailoutbox[0].body
