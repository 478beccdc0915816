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
