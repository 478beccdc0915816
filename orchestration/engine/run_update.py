"""The conditional UPDATE of a step run, compiled once per set of columns.

Every transition moves its run on with `UPDATE … WHERE id = %s AND status = %s`: only
one writer can take a run out of the status it read, so a redelivered message is
harmless. The ORM would rebuild and recompile that statement each time, which costs
more than the round trip itself; the handful of column sets the engine uses are
compiled once.
"""

from __future__ import annotations

from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field

from orchestration.models import StepRun

_COMPILED: dict[tuple[str, tuple[str, ...]], tuple[str, list[Field]]] = {}


def _compile(names: tuple[str, ...]) -> tuple[str, list[Field]]:
    meta, quote = StepRun._meta, connection.ops.quote_name
    fields = [cast(Field, meta.get_field(name)) for name in names]
    assignments = ", ".join(f"{quote(str(field.column))} = %s" for field in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE id = %s AND status = %s"
    return sql, fields


def statement(run_id: int, status: str, values: dict[str, Any]) -> tuple[str, list[Any]]:
    """SQL and parameters that apply `values` to run `run_id` if it is still in `status`."""
    key = (connection.vendor, tuple(values))
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = _compile(key[1])
    sql, fields = compiled
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: fields look it up per value
    params = [field.get_db_prep_save(values[field.name], db) for field in fields]
    return sql, [*params, run_id, status]


def update_if_status(run_id: int, status: str, values: dict[str, Any]) -> bool:
    """Run `statement`; False if the run was no longer in `status`."""
    sql, params = statement(run_id, status, values)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1
