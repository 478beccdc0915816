from datetime import UTC

from django.db import transaction

from audit.chain import Actor
from orchestration.engine.api import start_instance
from orchestration.engine.locking import lock_run
from orchestration.models import StepRun
from tests.orchestration.factories import published, sequence_definition


def test_the_compiled_lock_query_reads_exactly_what_the_orm_reads(engine):
    instance = start_instance(
        published(sequence_definition(2)), {"x": 1}, trigger="manual", actor=Actor.system()
    )
    run = StepRun.objects.filter(instance=instance, status="queued").get()
    with transaction.atomic():
        locked = lock_run(run.pk)
    expected = StepRun.objects.select_related("instance").get(pk=run.pk)
    fields = [f.attname for f in StepRun._meta.concrete_fields]
    assert [getattr(locked, f) for f in fields] == [getattr(expected, f) for f in fields]
    instance_fields = [f.attname for f in type(instance)._meta.concrete_fields]
    assert [getattr(locked.instance, f) for f in instance_fields] == [
        getattr(expected.instance, f) for f in instance_fields
    ]
    # Times come back as the ORM gives them: aware, in UTC (on PostgreSQL the lock loads
    # them with psycopg's compiled loader rather than Django's).
    for value, orm_value in [
        (locked.created_at, expected.created_at),
        (locked.due_at, expected.due_at),
        (locked.instance.updated_at, expected.instance.updated_at),
    ]:
        assert value.tzinfo == orm_value.tzinfo == UTC


def test_a_missing_run_locks_nothing(engine):
    with transaction.atomic():
        assert lock_run(987654) is None
