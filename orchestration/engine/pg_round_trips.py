"""PostgreSQL: how the hot path's statements reach the server, in as few round trips
as the server allows.

psycopg opens a transaction with a BEGIN of its own, one round trip before the first
query, and Django's commit is one more after the last. A step transition is a lock, a
single write and a commit, so sending BEGIN in the lock's query string and COMMIT in
the write's halves the round trips a step waits for: about 0.1 ms each on loopback,
a network round trip each when the database is on another host. Both use the simple
query protocol, which runs the statements of one string in order and abandons the rest
at the first error: a write that fails never reaches its COMMIT, and Django's atomic
block rolls back as usual. The statements themselves run from plans the session keeps
(engine/pg_prepared.py).

Only the outermost atomic block may do this, and only where psycopg would send a
plain BEGIN: elsewhere (savepoints, isolation options, server-side binding) callers
get the ordinary round trips.
"""

from __future__ import annotations

import functools
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import debug_transaction
from psycopg import ClientCursor, errors, pq
from psycopg.adapt import AdaptersMap, Transformer
from psycopg.generators import execute

from orchestration.engine import pg_prepared

# The SQLSTATE of podium_require_updated() (migration 0002): a step run had changed.
STALE_RUN_SQLSTATE = "PD001"


def _plain_transactions(raw: Any) -> bool:
    """psycopg would open a transaction with a bare BEGIN, and binds parameters on the
    client (so a query string may hold several statements)."""
    return (
        not raw.autocommit
        and raw.isolation_level is None
        and raw.read_only is None
        and raw.deferrable is None
        and issubclass(raw.cursor_factory, ClientCursor)
    )


def _outermost_block(db: BaseDatabaseWrapper) -> bool:
    return (
        db.vendor == "postgresql"
        and db.in_atomic_block
        and len(db.atomic_blocks) == 1
        and not db.savepoint_ids
        and not db.needs_rollback
    )


def _can_begin_with_query(db: BaseDatabaseWrapper, raw: Any) -> bool:
    """The next query would be the first of the outermost atomic block."""
    return (
        _outermost_block(db)
        and raw.pgconn.transaction_status == pq.TransactionStatus.IDLE
        and _plain_transactions(raw)
    )


def _can_commit_with_query(db: BaseDatabaseWrapper, raw: Any) -> bool:
    """The outermost atomic block's transaction is open and may end with the next query
    (the caller promises it is the block's last)."""
    return (
        _outermost_block(db)
        and raw.pgconn.transaction_status == pq.TransactionStatus.INTRANS
        and _plain_transactions(raw)
    )


def _in_open_transaction(db: BaseDatabaseWrapper, raw: Any) -> bool:
    return (
        db.in_atomic_block
        and raw.pgconn.transaction_status == pq.TransactionStatus.INTRANS
        and issubclass(raw.cursor_factory, ClientCursor)
    )


def run(label: str, sql: str, params: Sequence[Any], commit: bool = False) -> list[tuple]:
    """Run one statement of the hot path inside an atomic block; its rows.

    It opens the block's transaction if it is the first query (BEGIN in the same
    string), ends it if `commit` (the caller promises no more SQL in its outermost
    block) and it may, and runs from a prepared plan (engine/pg_prepared.py, `label`
    names it). Where it cannot be sent as is (a savepoint still to make, isolation
    options, server-side binding) it goes through a plain cursor as any query would.
    Django's execute wrappers see it as they see any other query (with no cursor).
    """
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: it is asked for a lot here
    db.ensure_connection()
    executor: Any = functools.partial(_execute, label, commit)
    for wrapper in reversed(db.execute_wrappers):
        executor = functools.partial(wrapper, executor)
    return executor(sql, params, False, {"connection": db, "cursor": None})


def _execute(
    label: str, commit: bool, sql: str, params: Sequence[Any], many: bool, context: dict
) -> list[tuple]:
    db: BaseDatabaseWrapper = context["connection"]
    db.validate_no_broken_transaction()
    raw = db.connection
    if _can_begin_with_query(db, raw):
        prefix = "BEGIN; "
    elif _in_open_transaction(db, raw):
        prefix = ""
    else:
        with db.wrap_database_errors, debug_transaction(db, sql), db.create_cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    suffix = "; COMMIT" if commit and (prefix or _can_commit_with_query(db, raw)) else ""
    statement = pg_prepared.statement(raw, label, sql, params)
    results = _send(db, raw, statement, prefix + statement.text + suffix)
    rows = next(r for r in reversed(results) if r.status == pq.ExecStatus.TUPLES_OK)
    loader = Transformer(_LoadingContext(_adapters(raw), raw))
    loader.set_pgresult(rows)
    return loader.load_rows(0, rows.ntuples, tuple)


class _LoadingContext:
    """What a psycopg Transformer loads rows with: these adapters, this connection."""

    def __init__(self, adapters: AdaptersMap, connection: Any):
        self.adapters, self.connection = adapters, connection


_ADAPTERS: weakref.WeakKeyDictionary[Any, AdaptersMap] = weakref.WeakKeyDictionary()


def _adapters(raw: Any) -> AdaptersMap:
    """The connection's adapters, except that timestamps load with psycopg's compiled
    loader where that gives what Django's does (aware datetimes in UTC): Django's own
    is written in Python and costs ~4 µs a value, and the lock row holds nine."""
    adapters = _ADAPTERS.get(raw)
    if adapters is None:
        adapters = AdaptersMap(raw.adapters)
        if settings.USE_TZ and raw.info.parameter_status("TimeZone") == "UTC":
            oid = adapters.types["timestamptz"].oid
            compiled = psycopg.adapters.get_loader(oid, pq.Format.TEXT)
            if compiled is not None:
                adapters.register_loader(oid, compiled)
        _ADAPTERS[raw] = adapters
    return adapters


def _send(
    db: BaseDatabaseWrapper, raw: Any, statement: pg_prepared.Statement, text: str
) -> list[pq.abc.PGresult]:
    """Send `text` as one simple query and wait for all its results; the first error
    raises as Django's database error, with the transaction left for Django to roll
    back."""
    with db.wrap_database_errors, debug_transaction(db, text):
        raw.pgconn.send_query(text.encode(raw.info.encoding))
        results = raw.wait(execute(raw.pgconn))
        pg_prepared.record(raw, statement, results)
        for result in results:
            if result.status == pq.ExecStatus.FATAL_ERROR:
                raise errors.error_from_result(result, encoding=raw.info.encoding)
    return results


@contextmanager
def queries_sent() -> Iterator[list[str]]:
    """The query strings this connection sends to the server inside the block, read from
    libpq's protocol trace (Django's query log also lists BEGIN and COMMIT it asked for
    that psycopg never sent). For the benchmark and the tests."""
    sent: list[str] = []
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield sent
        finally:
            pgconn.untrace()
            trace.seek(0)
            # A message to the server: F, its length, its type, its fields, tab-separated.
            for line in trace:
                direction, _, kind, *fields = line.rstrip("\n").split("\t")
                if direction == "F" and kind in ("Query", "Parse"):
                    sent.append("".join(fields).strip().strip('"'))
