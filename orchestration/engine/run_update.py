"""The conditional UPDATE of a step run, compiled once per set of columns.

Every transition moves its run on with `UPDATE … WHERE id = %s AND status = %s`: only
one writer can take a run out of the status it read, so a redelivered message is
harmless. The ORM would rebuild and recompile that statement each time, which costs
more than the round trip itself; the handful of column sets the engine uses are
compiled once. Ending a case cancels its other active runs with one more statement of
the same kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field, Model

from orchestration.models import ACTIVE_STEP_STATUSES, StepRun, StepStatus

_ASSIGNMENTS: dict[tuple[type[Model], str, tuple[str, ...]], tuple[str, list[Field]]] = {}


def _assignments(model: type[Model], names: tuple[str, ...]) -> tuple[str, list[Field]]:
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: it is asked for every step
    key = (model, db.vendor, names)
    compiled = _ASSIGNMENTS.get(key)
    if compiled is None:
        meta, quote = model._meta, db.ops.quote_name
        fields = [cast(Field, meta.get_field(name)) for name in names]
        columns = ", ".join(f"{quote(str(field.column))} = %s" for field in fields)
        compiled = _ASSIGNMENTS[key] = (f"UPDATE {quote(meta.db_table)} SET {columns}", fields)
    return compiled


def set_clause(model: type[Model], values: dict[str, Any]) -> tuple[str, list[Any]]:
    """`UPDATE <table> SET col = %s, …` that gives `model`'s fields `values`, and its
    parameters. The SQL is worked out once per set of columns, in a fixed order, so the
    same columns always make the same statement (and so use the same prepared plan)."""
    sql, fields = _assignments(model, tuple(sorted(values)))
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: fields look it up per value
    return sql, [field.get_db_prep_save(values[field.name], db) for field in fields]


def statement(run_id: int, status: str, values: dict[str, Any]) -> tuple[str, list[Any]]:
    """SQL and parameters that apply `values` to run `run_id` if it is still in `status`."""
    sql, params = set_clause(StepRun, values)
    return f"{sql} WHERE id = %s AND status = %s", [*params, run_id, status]


def update_if_status(run_id: int, status: str, values: dict[str, Any]) -> bool:
    """Run `statement`; False if the run was no longer in `status`."""
    sql, params = statement(run_id, status, values)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


@dataclass(frozen=True)
class Cancellation:
    """Cancel every active run of a case at `at`, except the run `keep` (if any)."""

    instance_id: int
    keep: int | None
    at: datetime


def cancellation_statement(
    cancel: Cancellation, also_keep: Iterable[int] = ()
) -> tuple[str, list[Any]]:
    """SQL and parameters of `cancel`; runs in `also_keep` are left alone too."""
    meta, quote = StepRun._meta, connection.ops.quote_name
    keep = [run_id for run_id in (cancel.keep, *also_keep) if run_id is not None]
    finished_at = cast(Field, meta.get_field("finished_at"))
    statuses = ", ".join(["%s"] * len(ACTIVE_STEP_STATUSES))
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {quote('status')} = %s, "
        f"{quote(str(finished_at.column))} = %s "
        f"WHERE {quote('instance_id')} = %s AND {quote('status')} IN ({statuses})"
    )
    if keep:
        sql += f" AND id NOT IN ({', '.join(['%s'] * len(keep))})"
    at = finished_at.get_db_prep_save(cancel.at, connections[DEFAULT_DB_ALIAS])
    return sql, [StepStatus.CANCELLED.value, at, cancel.instance_id, *ACTIVE_STEP_STATUSES, *keep]


def cancel_active(cancel: Cancellation) -> None:
    sql, params = cancellation_statement(cancel)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
