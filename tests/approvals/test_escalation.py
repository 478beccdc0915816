"""The escalation chain with a frozen clock: remind at T1, reassign at T2, expire at the
final deadline; driven by the sweep from database state only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from approvals.escalation import sweep
from approvals.models import HumanTask, Notification, TeamCalendar
from approvals.sla import DeadlineOutOfReach, add_working_minutes
from approvals.tasks import sweep_escalations
from audit.models import AuditEvent
from orchestration.steps.base import PermanentError
from tests.approvals.conftest import approval_step, make_task

pytestmark = pytest.mark.django_db
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CHAIN = {"notify_after_minutes": 60, "reassign_after_minutes": 120, "levels": ["Finance leads"]}


def chained_task():
    step = approval_step(escalation=CHAIN, expiry_path="auto_reject", sla={"minutes": 240})
    return make_task(step)


def test_the_chain_reminds_then_reassigns_then_takes_the_expiry_path(
    team, leads, alex, blake, lee, engine
):
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        task = chained_task()
        assert task.next_escalation_at == MONDAY_9 + timedelta(minutes=60)
        clock.move_to(MONDAY_9 + timedelta(minutes=59))
        assert sweep() == 0

        clock.move_to(MONDAY_9 + timedelta(minutes=61))
        assert sweep() == 1
        task.refresh_from_db()
        assert task.escalation_stage == 1
        assert task.escalation_state == "Reminder sent"
        assert task.next_escalation_at == MONDAY_9 + timedelta(minutes=120)
        assert set(
            Notification.objects.filter(task=task).values_list("user__username", flat=True)
        ) == {"alex", "blake"}

        clock.move_to(MONDAY_9 + timedelta(minutes=121))
        sweep()
        task.refresh_from_db()
        assert (task.status, task.assignee_team, task.escalation_level) == ("escalated", leads, 1)
        assert Notification.objects.filter(task=task, user=lee).exists()
        assert task.next_escalation_at == task.due_at

        clock.move_to(MONDAY_9 + timedelta(minutes=241))
        sweep()
        task.refresh_from_db()
    assert task.status == "expired"
    assert engine.calls[-1]["goto_step"] == "auto_reject"
    assert engine.calls[-1]["output"]["outcome"] == "expired"
    actions = list(
        AuditEvent.objects.filter(stream=f"task:{task.pk}").values_list("action", flat=True)
    )
    assert actions == ["task.opened", "task.reminded", "task.reassigned", "task.expired"]


def test_the_definition_formats_list_of_stages_drives_the_chain(team, leads, alex, lee, engine):
    chain = [
        {"after_minutes": 30, "action": "notify", "to": "user:lee"},
        {"after_minutes": 90, "action": "reassign", "to": "team:Finance leads"},
        {"after_minutes": 500, "action": "reassign", "to": "team:Nobody"},  # after the deadline
    ]
    step = approval_step(escalation=chain, expiry_path="auto_reject", sla={"minutes": 240})
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        task = make_task(step)
        assert task.next_escalation_at == MONDAY_9 + timedelta(minutes=30)
        clock.move_to(MONDAY_9 + timedelta(minutes=31))
        sweep()
        assert Notification.objects.filter(task=task, user=lee).exists()
        clock.move_to(MONDAY_9 + timedelta(minutes=91))
        sweep()
        task.refresh_from_db()
        assert (task.assignee_team, task.escalation_level, task.escalation_stage) == (leads, 1, 2)
        assert task.next_escalation_at == task.due_at
        assert task.escalation_state == "Escalated to level 1"


def test_a_second_sweep_never_repeats_a_step_of_the_chain(team, leads, alex, engine):
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        task = chained_task()
        clock.move_to(MONDAY_9 + timedelta(minutes=61))
        sweep()
        sweep()
        sweep_escalations()
    assert Notification.objects.filter(task=task, user=alex).count() == 1


def test_a_worker_restart_loses_nothing_because_the_deadline_is_in_the_database(
    team, leads, alex, engine
):
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        task = chained_task()
        # No sweep ran for hours (workers were down): the next one catches up one step
        # per run, in order, and never skips the final deadline.
        clock.move_to(MONDAY_9 + timedelta(hours=5))
        for _ in range(4):
            sweep()
        task.refresh_from_db()
    assert task.status == "expired"
    assert [c["goto_step"] for c in engine.calls] == ["auto_reject"]


def test_a_decided_task_is_not_escalated(team, alex, engine):
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        task = chained_task()
        from approvals.actions import decide

        decide(task, alex, "approve", "")
        clock.move_to(MONDAY_9 + timedelta(hours=5))
        assert sweep() == 0


def test_an_expired_task_on_a_cancelled_case_is_closed_quietly(team, alex, engine):
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        task = chained_task()
        type(task.instance).objects.filter(pk=task.instance_id).update(status="cancelled")
        clock.move_to(MONDAY_9 + timedelta(hours=5))
        for _ in range(3):
            sweep()
    task.refresh_from_db()
    assert task.status == "cancelled"


def test_a_task_whose_case_failed_elsewhere_waits_for_the_case_to_be_resumed(
    team, leads, alex, engine
):
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        task = chained_task()
        cases = type(task.instance).objects.filter(pk=task.instance_id)
        cases.update(status="failed")
        clock.move_to(MONDAY_9 + timedelta(hours=5))
        assert sweep() == 0
        task.refresh_from_db()
        assert (task.status, task.escalation_stage) == ("open", 0), "nothing moved"
        assert not Notification.objects.filter(task=task).exists(), "nobody was chased"
        cases.update(status="running")  # an operator resumed it
        for _ in range(4):
            sweep()
        task.refresh_from_db()
    assert task.status == "expired"
    assert [c["goto_step"] for c in engine.calls] == ["auto_reject"]


def test_business_hours_skip_nights_weekends_and_holidays(team):
    calendar = TeamCalendar.objects.create(
        team=team,
        working_days=[0, 1, 2, 3, 4],
        holidays=["2026-11-30"],
        day_starts="09:00",
        day_ends="17:00",
    )
    friday_16 = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    # 1 h on Friday, Monday 30th is a holiday, 1 h on Tuesday.
    assert add_working_minutes(friday_16, 120, calendar) == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("hours", "minutes"),
    [({}, 2_000_000), ({"day_starts": "09:00", "day_ends": "09:00"}, 60)],
)
def test_a_deadline_the_working_hours_never_reach_is_a_step_failure_in_words(team, hours, minutes):
    calendar = TeamCalendar.objects.create(team=team, working_days=[0, 1, 2, 3, 4], **hours)
    start = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    with pytest.raises(DeadlineOutOfReach) as refused:
        add_working_minutes(start, minutes, calendar)
    assert isinstance(refused.value, PermanentError)
    assert f"A deadline {minutes:,} working minutes away falls more than ten years ahead" in (
        refused.value.message
    )


def test_a_business_hours_sla_uses_the_team_calendar(team):
    TeamCalendar.objects.create(team=team, working_days=[0, 1, 2, 3, 4])
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    with time_machine.travel(saturday, tick=False):
        task = make_task(approval_step(sla={"minutes": 60, "business_hours": True}))
    assert task.due_at == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def test_sweep_is_bounded_per_run(team, engine, monkeypatch):
    from approvals import escalation

    monkeypatch.setattr(escalation, "SWEEP_BATCH", 2)
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        for i in range(3):
            make_task(approval_step(sla={"minutes": 1}), key=f"K-{i}")
        clock.move_to(MONDAY_9 + timedelta(minutes=2))
        assert sweep() == 2
        assert sweep() == 1
    assert HumanTask.objects.filter(status="expired").count() == 3
