"""PostgreSQL: everything a transition writes, in one statement.

A data-modifying CTE applies the runs' conditional status updates (and, when a case
ends, the cancellation of its other active runs), inserts the new step runs and audit
events and updates the case row in a single round trip, so a step transition costs two
statements (the lock and this) and one commit. The statement itself refuses a stale
transition: if a conditional update misses, podium_require_updated() (migration 0002)
raises and nothing of the transaction is kept, so the COMMIT may follow in the same
pipeline (engine/pg_round_trips.py). Other databases use the ORM (Transition.save).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from audit.models import AuditEvent
from orchestration.engine import pg_round_trips, run_update
from orchestration.engine.state import StaleRun
from orchestration.models import FlowInstance, StepRun

# Field classes whose get_db_prep_save() gives back a str, an int or None unchanged:
# the INSERT passes such values straight through (two thirds of a step's values).
_AS_IS_FIELDS = (models.CharField, models.TextField, models.IntegerField)
_AS_IS_TYPES = (str, int, type(None))


class _Insert:
    """The columns of one model's INSERT, worked out once."""

    def __init__(self, model: type[Model]) -> None:
        quote = connection.ops.quote_name
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self.as_is = [isinstance(f, _AS_IS_FIELDS) for f in self.fields]
        self.columns = ", ".join(quote(str(f.column)) for f in self.fields)
        self.row = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        self.table = quote(model._meta.db_table)

    def params(self, row: Model, db: BaseDatabaseWrapper) -> Iterator[Any]:
        for field, as_is in zip(self.fields, self.as_is, strict=True):
            value = getattr(row, field.attname)
            yield (
                value
                if as_is and type(value) in _AS_IS_TYPES
                else field.get_db_prep_save(value, db)
            )


_INSERTS: dict[type[Model], _Insert] = {}


def _insert(
    name: str, model: type[Model], rows: Sequence[Model], returning: bool
) -> tuple[str, list]:
    insert = _INSERTS.get(model)
    if insert is None:
        insert = _INSERTS[model] = _Insert(model)
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: fields look it up per value
    params = [value for row in rows for value in insert.params(row, db)]
    tail = " RETURNING id" if returning else ""
    values = ", ".join([insert.row] * len(rows))
    return (
        f"{name} AS (INSERT INTO {insert.table} ({insert.columns}) VALUES {values}{tail})",
        params,
    )


def _update_instance(instance_id: int, changes: dict[str, Any]) -> tuple[str, list]:
    sql, params = run_update.set_clause(FlowInstance, changes)
    return f"inst AS ({sql} WHERE id = %s)", [*params, instance_id]


def write(
    updates: dict[int, tuple[str, dict[str, Any]]],
    cancellation: run_update.Cancellation | None,
    runs: list[StepRun],
    events: list[AuditEvent],
    instance_id: int,
    changes: dict[str, Any],
    commit: bool = False,
) -> None:
    """Apply `updates` (run id -> status read, new values) and `cancellation`, insert
    `runs` (setting their ids) and `events`, and apply `changes` to the case; StaleRun
    if an update missed. With `commit`, the caller's outermost atomic block ends here:
    the COMMIT goes with the statement where it can (its block must run no more SQL)."""
    parts, params = [], []
    for number, (run_id, (status, new_values)) in enumerate(updates.items()):
        sql, values = run_update.statement(run_id, status, new_values)
        parts.append(f"updated_{number} AS ({sql} RETURNING 1)")
        params += values
    if cancellation is not None:
        # All parts see the rows as they were before the statement, and one statement
        # must not update a row twice: the runs updated above are left out here (their
        # new values already say whether they are cancelled).
        sql, values = run_update.cancellation_statement(cancellation, also_keep=updates)
        parts.append(f"cancelled AS ({sql})")
        params += values
    inserts: list[tuple[str, type[Model], Sequence[Model], bool]] = [
        ("new_runs", StepRun, runs, True),
        ("new_events", AuditEvent, events, False),
    ]
    for name, model, rows, returning in inserts:
        if rows:
            sql, values = _insert(name, model, rows, returning)
            parts.append(sql)
            params += values
    if changes:
        sql, values = _update_instance(instance_id, changes)
        parts.append(sql)
        params += values
    if not parts:
        return
    ids = "ARRAY(SELECT id FROM new_runs ORDER BY id)" if runs else "NULL"
    updated = " + ".join(f"(SELECT count(*) FROM updated_{n})" for n in range(len(updates)))
    sql = f"WITH {', '.join(parts)} SELECT {ids}"
    if updates:
        sql += f", podium_require_updated({updated}, {len(updates)})"
    try:
        ((run_ids, *_),) = pg_round_trips.run("write", sql, params, commit)
    except DatabaseError as error:
        if getattr(error.__cause__, "sqlstate", None) == pg_round_trips.STALE_RUN_SQLSTATE:
            raise StaleRun("a step run changed status since it was read") from error
        raise
    for run, run_id in zip(runs, run_ids or [], strict=True):
        run.pk = run_id
        run._state.adding, run._state.db = False, DEFAULT_DB_ALIAS
