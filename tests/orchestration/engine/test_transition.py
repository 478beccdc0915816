"""A transition's status updates: conditional, and folded into its final write."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.chain import Actor
from audit.models import AuditEvent
from orchestration.engine.api import start_instance
from orchestration.engine.locking import lock_run
from orchestration.engine.state import StaleRun
from orchestration.engine.transition import Transition
from orchestration.models import StepRun, StepStatus
from tests.orchestration.factories import published, sequence_definition

ACTOR = Actor.system("test")


@pytest.fixture
def queued_run(engine) -> StepRun:
    start_instance(published(sequence_definition(3)), {}, trigger="manual", actor=ACTOR)
    return StepRun.objects.get(status=StepStatus.QUEUED)


def _locked(run_id: int) -> tuple[StepRun, Transition]:
    run = lock_run(run_id)
    assert run is not None
    return run, Transition(run.instance, ACTOR, timezone.now())


def _succeed_and_continue(tx: Transition, run: StepRun) -> None:
    tx.set_status(run, StepStatus.SUCCEEDED, finished_at=tx.now)
    tx.new_run("s2")


def test_a_run_another_writer_moved_on_voids_the_whole_transition(queued_run):
    events_before = AuditEvent.objects.count()
    with pytest.raises(StaleRun), transaction.atomic():
        run, tx = _locked(queued_run.pk)
        StepRun.objects.filter(pk=run.pk).update(status=StepStatus.CANCELLED)
        with tx.deferred_run_updates():
            _succeed_and_continue(tx, run)
            tx.save()
    # The stand-in for the other writer ran in the same transaction, so it is gone too.
    assert StepRun.objects.get(pk=queued_run.pk).status == StepStatus.QUEUED
    assert not StepRun.objects.filter(step_id="s2").exists()
    assert AuditEvent.objects.count() == events_before


def test_outside_a_deferred_block_a_stale_run_fails_at_once(queued_run):
    with pytest.raises(StaleRun), transaction.atomic():
        run, tx = _locked(queued_run.pk)
        StepRun.objects.filter(pk=run.pk).update(status=StepStatus.CANCELLED)
        tx.set_status(run, StepStatus.SUCCEEDED, finished_at=tx.now)


def test_a_query_inside_the_block_sees_the_status_set_in_memory(queued_run):
    with transaction.atomic():
        run, tx = _locked(queued_run.pk)
        with tx.deferred_run_updates():
            tx.set_status(run, StepStatus.SUCCEEDED, finished_at=tx.now)
            assert StepRun.objects.get(pk=run.pk).status == StepStatus.SUCCEEDED
            assert not tx.run_updates


def test_a_savepoint_rolled_back_after_the_update_keeps_it(queued_run):
    with transaction.atomic():
        run, tx = _locked(queued_run.pk)
        with tx.deferred_run_updates():
            tx.set_status(run, StepStatus.SUCCEEDED, finished_at=tx.now)
            try:
                with transaction.atomic():
                    StepRun.objects.filter(pk=run.pk).update(worker="inside")
                    raise RuntimeError("a step's own writes fail")
            except RuntimeError:
                pass
            tx.save()
    saved = StepRun.objects.get(pk=queued_run.pk)
    assert (saved.status, saved.worker) == (StepStatus.SUCCEEDED, "")


def test_two_updates_of_one_run_are_checked_against_the_status_first_read(queued_run):
    StepRun.objects.filter(pk=queued_run.pk).update(status=StepStatus.RETRY_WAIT)
    with transaction.atomic():
        run, tx = _locked(queued_run.pk)
        with tx.deferred_run_updates():
            tx.set_status(run, StepStatus.QUEUED)
            _succeed_and_continue(tx, run)
            assert tx.run_updates[run.pk][0] == StepStatus.RETRY_WAIT
            tx.save()
    assert StepRun.objects.get(pk=queued_run.pk).status == StepStatus.SUCCEEDED
    assert StepRun.objects.filter(step_id="s2", status=StepStatus.QUEUED).exists()


def test_ending_a_case_cancels_its_other_runs_in_the_same_write(queued_run):
    instance = queued_run.instance
    waiting = StepRun.objects.create(
        instance=instance, step_id="s2", kind="set", status=StepStatus.WAITING
    )
    retrying = StepRun.objects.create(
        instance=instance, step_id="s3", kind="set", status=StepStatus.RETRY_WAIT
    )
    branch = StepRun.objects.create(
        instance=instance, step_id="s3", kind="set", status=StepStatus.QUEUED
    )
    with transaction.atomic():
        run, tx = _locked(queued_run.pk)
        with tx.deferred_run_updates():
            tx.set_status(retrying, StepStatus.QUEUED)
            tx.set_status(branch, StepStatus.SUCCEEDED, finished_at=tx.now)
            tx.set_status(run, StepStatus.SUCCEEDED, finished_at=tx.now)
            new = tx.new_run("s2")
            tx.cancel_active_runs(exclude=run)
            assert new.status == StepStatus.CANCELLED
            assert tx.run_updates[retrying.pk][1]["status"] == StepStatus.CANCELLED
            with CaptureQueriesContext(connection) as queries:
                tx.save()
    runs = StepRun.objects.filter(instance=instance).exclude(step_id="start")
    statuses = dict(runs.values_list("pk", "status"))
    assert statuses == {
        run.pk: StepStatus.SUCCEEDED,
        waiting.pk: StepStatus.CANCELLED,
        retrying.pk: StepStatus.CANCELLED,
        branch.pk: StepStatus.SUCCEEDED,
        new.pk: StepStatus.CANCELLED,
    }
    if connection.vendor == "postgresql":
        assert [q["sql"].split(" ", 1)[0] for q in queries.captured_queries] == ["WITH"]


def test_a_change_made_after_the_cancellation_does_not_undo_it(queued_run):
    waiting = StepRun.objects.create(
        instance=queued_run.instance, step_id="s2", kind="set", status=StepStatus.WAITING
    )
    with pytest.raises(StaleRun), transaction.atomic():
        run, tx = _locked(queued_run.pk)
        with tx.deferred_run_updates():
            tx.cancel_active_runs(exclude=run)
            tx.set_status(waiting, StepStatus.SUCCEEDED, finished_at=tx.now)
            tx.save()
