"""The lock query of every transition, compiled once.

`SELECT … FROM steprun JOIN flowinstance … FOR UPDATE` runs for every step a worker
touches; Django would compile the same SQL each time, which costs more than the query
itself. This compiles it once per database vendor and builds the model objects the way
Django's own ModelIterable does (Django is pinned to 5.2; tests compare the result with
the plain ORM query). On PostgreSQL it runs from a prepared plan and, as a transaction's
first query, carries the BEGIN too (engine/pg_round_trips.py).
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.query import get_related_populators

from orchestration.engine import pg_round_trips
from orchestration.models import StepRun

_COMPILED: dict[str, _LockQuery] = {}


class _LockQuery:
    def __init__(self) -> None:
        query = StepRun.objects.select_related("instance").select_for_update().filter(pk=-1)
        self.compiler = query.query.get_compiler(using=connection.alias)
        self.sql, params = self.compiler.as_sql()
        if list(params) != [-1]:
            raise AssertionError(f"unexpected lock query parameters: {params}")
        select, klass_info = self.compiler.select, self.compiler.klass_info
        self.converters = self.compiler.get_converters(
            [column[0] for column in select[: self.compiler.col_count]]
        )
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [column[0].target.attname for column in select[self.start : self.end]]
        # django-stubs here describes Django 6 (a fourth argument); Django 5.2 takes three.
        self.populators = get_related_populators(  # type: ignore[call-arg]
            klass_info, select, connection.alias
        )

    def fetch(self, db: BaseDatabaseWrapper, step_run_id: int) -> StepRun | None:
        if db.vendor == "postgresql":
            rows = pg_round_trips.run("lock", self.sql, [step_run_id])
        else:
            with db.cursor() as cursor:
                cursor.execute(self.sql, [step_run_id])
                rows = cursor.fetchall()
        if self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        for row in rows:
            run = StepRun.from_db(DEFAULT_DB_ALIAS, self.init_list, row[self.start : self.end])
            for populator in self.populators:
                populator.populate(row, run)
            return run
        return None


def lock_run(step_run_id: int) -> StepRun | None:
    """The run and its instance, both locked (call inside a transaction).

    Locking the run row too matters on PostgreSQL: after waiting for a lock, READ
    COMMITTED re-reads only the rows it locked, so an unlocked run would be stale.
    """
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: it is asked for a lot here
    compiled = _COMPILED.get(db.vendor)
    if compiled is None:
        compiled = _COMPILED[db.vendor] = _LockQuery()
    return compiled.fetch(db, step_run_id)
