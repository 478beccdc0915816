"""PostgreSQL: a step is two round trips, BEGIN riding with the lock and COMMIT with the
write, both run from prepared plans once the session has them (engine/pg_prepared.py).

What reaches the server is read from libpq's own protocol trace, one entry per round
trip, not from Django's query log (which records BEGIN and COMMIT whenever Django asks
for them, sent or not).
"""

from __future__ import annotations

import re

import psycopg
import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from psycopg import pq

from audit.chain import Actor
from audit.models import AuditEvent
from orchestration.engine import runner
from orchestration.engine.api import start_instance
from orchestration.engine.locking import lock_run
from orchestration.engine.pg_round_trips import queries_sent
from orchestration.engine.state import StaleRun
from orchestration.engine.transition import Transition
from orchestration.models import FlowInstance, StepRun, StepStatus
from tests.orchestration.factories import published, sequence_definition

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the merged round trips are PostgreSQL's"
    ),
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_plans"),
]
ACTOR = Actor.system("test")


def _queued() -> StepRun:
    return StepRun.objects.filter(status=StepStatus.QUEUED).order_by("id").first()


@pytest.mark.django_db(transaction=True)
def test_every_step_is_two_queries_to_the_server(settings):
    settings.PODIUM_INLINE_STEPS = 0
    instance = start_instance(published(sequence_definition(3)), {}, trigger="manual", actor=ACTOR)
    # The first step also reads and caches the flow's graph; every step, the end step
    # included (it cancels the case's other runs), is two round trips. The session
    # prepares a statement the second time it runs it, and then executes its plan.
    runner.process(_queued().pk, "test")
    steps = []
    while run := _queued():
        with queries_sent() as sent:
            runner.process(run.pk, "test")
        steps.append(sent)
    assert len(steps) == 3
    for sent in steps:
        assert len(sent) == 2, sent
        assert sent[0].startswith("BEGIN; ") and sent[1].endswith("; COMMIT")
    prepared, warm, end = steps
    assert re.fullmatch(r"BEGIN; PREPARE (podium_lock_\d+) AS SELECT .*; EXECUTE \1", prepared[0])
    assert re.fullmatch(r"PREPARE (podium_write_\d+) AS WITH .*; EXECUTE \1; COMMIT", prepared[1])
    assert re.fullmatch(r"BEGIN; EXECUTE podium_lock_\d+", warm[0])
    assert re.fullmatch(r"EXECUTE podium_write_\d+; COMMIT", warm[1])
    # The end step's write has a shape of its own, sent unnamed the first time.
    assert re.fullmatch(r"BEGIN; EXECUTE podium_lock_\d+", end[0])
    assert end[1].startswith("WITH ")
    instance.refresh_from_db()
    assert instance.status == "succeeded"
    assert [run.step_id for run in StepRun.objects.order_by("id")][-1] == "end"


@pytest.mark.django_db(transaction=True)
def test_a_stale_run_keeps_nothing_though_the_commit_was_sent_with_the_write():
    start_instance(published(sequence_definition(3)), {}, trigger="manual", actor=ACTOR)
    queued = _queued()
    seq_before = FlowInstance.objects.get().audit_seq
    events_before = AuditEvent.objects.count()
    with queries_sent() as sent, pytest.raises(StaleRun), transaction.atomic():
        run = lock_run(queued.pk)
        assert run is not None
        tx = Transition(run.instance, ACTOR, timezone.now())
        # Another writer's change, in this same transaction: it must vanish too.
        StepRun.objects.filter(pk=run.pk).update(status=StepStatus.CANCELLED)
        with tx.deferred_run_updates():
            tx.set_status(run, StepStatus.SUCCEEDED, finished_at=tx.now)
            tx.new_run("s2")
            tx.save(commit=True)
    assert sent[-2].endswith("; COMMIT")  # it was sent, and never ran
    assert sent[-1] == "ROLLBACK"
    assert StepRun.objects.get(pk=queued.pk).status == StepStatus.QUEUED
    assert not StepRun.objects.filter(step_id="s2").exists()
    assert AuditEvent.objects.count() == events_before
    assert FlowInstance.objects.get().audit_seq == seq_before
    # The connection is usable and the case still goes through.
    runner.process(queued.pk, "test")
    assert FlowInstance.objects.get().status == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_a_lock_that_fails_with_begin_leaves_a_usable_connection():
    start_instance(published(sequence_definition(2)), {}, trigger="manual", actor=ACTOR)
    queued = _queued()
    other = psycopg.connect(
        **{k: v for k, v in connection.get_connection_params().items() if k != "context"}
    )
    try:
        other.execute("SELECT 1 FROM orchestration_steprun WHERE id = %s FOR UPDATE", [queued.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '100ms'")
        with pytest.raises(OperationalError, match="lock timeout"):
            runner.process(queued.pk, "test")
        other.rollback()
    finally:
        other.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    runner.process(queued.pk, "test")
    assert FlowInstance.objects.get().status == "succeeded"


def test_inside_a_callers_transaction_the_step_neither_begins_nor_commits(settings):
    """Under an enclosing atomic block (here the test's own) the step is a savepoint."""
    settings.PODIUM_INLINE_STEPS = 0
    start_instance(published(sequence_definition(2)), {}, trigger="manual", actor=ACTOR)
    runner.process(_queued().pk, "test")
    run_id = _queued().pk
    with queries_sent() as sent:
        assert runner.process(run_id, "test")
    assert len(sent) == 4
    assert sent[0].startswith("SAVEPOINT") and sent[3].startswith("RELEASE")
    assert "FOR UPDATE" in sent[1] and "WITH " in sent[2]
    assert not any("COMMIT" in query or "BEGIN" in query for query in sent)
    assert connection.connection.pgconn.transaction_status == pq.TransactionStatus.INTRANS


class _Interrupted(Exception):
    """Like Celery's soft time limit: raised in the worker while it waits."""


@pytest.mark.django_db(transaction=True)
def test_a_step_interrupted_while_it_waits_on_the_server_loses_nothing(monkeypatch):
    start_instance(published(sequence_definition(2)), {}, trigger="manual", actor=ACTOR)
    queued = _queued()
    connection.ensure_connection()
    raw = connection.connection

    wait = raw.wait

    def interrupted(*args, **kwargs):
        if raw.pgconn.pipeline_status != pq.PipelineStatus.OFF:
            raise _Interrupted
        return wait(*args, **kwargs)

    monkeypatch.setattr(raw, "wait", interrupted)
    with pytest.raises(_Interrupted):
        runner.process(queued.pk, "test")
    monkeypatch.undo()
    # Its pipeline was left half-read, so the connection was closed rather than reused.
    assert raw.closed
    assert StepRun.objects.get(pk=queued.pk).status == StepStatus.QUEUED
    runner.process(queued.pk, "test")
    assert FlowInstance.objects.get().status == "succeeded"
