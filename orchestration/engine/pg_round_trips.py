"""PostgreSQL: how the hot path's statements reach the server, in as few round trips
as the server allows.

psycopg opens a transaction with a BEGIN of its own, one round trip before the first
query, and Django's commit is one more after the last. A step transition is a lock, a
single write and a commit, so sending BEGIN with the lock and COMMIT with the write
halves the round trips a step waits for: about 0.1 ms each on loopback, a network
round trip each when the database is on another host. Each goes out as one pipeline
(libpq's pipeline mode, through psycopg's `pq` layer): BEGIN, the statement, COMMIT and
one Sync, answered together. After an error the server skips the rest of the pipeline,
so a write that fails never reaches its COMMIT, and Django's atomic block rolls back as
usual. Values are bound by the protocol, not quoted into the text (psycopg's client-side
quoting of a write's fifty values cost more than the server's work), and the statement
runs from a plan the session keeps (engine/pg_prepared.py).

Only the outermost atomic block may begin or commit this way, and only where psycopg
would send a plain BEGIN: elsewhere (savepoints, isolation options) the statement
goes alone and Django begins and commits as usual."""

from __future__ import annotations

import functools
import re
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import debug_transaction
from psycopg import errors, pq
from psycopg.abc import PQGen
from psycopg.adapt import AdaptersMap, PyFormat, Transformer
from psycopg.generators import fetch, send

from orchestration.engine import pg_prepared

# The SQLSTATE of podium_require_updated() (migration 0002): a step run had changed.
STALE_RUN_SQLSTATE = "PD001"


def _plain_transactions(raw: Any) -> bool:
    """psycopg would open a transaction with a bare BEGIN."""
    return (
        not raw.autocommit
        and raw.isolation_level is None
        and raw.read_only is None
        and raw.deferrable is None
    )


def _outermost_block(db: BaseDatabaseWrapper) -> bool:
    return (
        db.vendor == "postgresql"
        and db.in_atomic_block
        and len(db.atomic_blocks) == 1
        and not db.savepoint_ids
        and not db.needs_rollback
    )


def _may_begin(db: BaseDatabaseWrapper, raw: Any) -> bool:
    """The next query would be the first of the outermost atomic block."""
    return (
        _outermost_block(db)
        and raw.pgconn.transaction_status == pq.TransactionStatus.IDLE
        and _plain_transactions(raw)
    )


def _may_commit(db: BaseDatabaseWrapper, raw: Any) -> bool:
    """The outermost atomic block's transaction is open and may end with the next query
    (the caller promises it is the block's last)."""
    return (
        _outermost_block(db)
        and raw.pgconn.transaction_status == pq.TransactionStatus.INTRANS
        and _plain_transactions(raw)
    )


def _in_open_transaction(db: BaseDatabaseWrapper, raw: Any) -> bool:
    return db.in_atomic_block and raw.pgconn.transaction_status == pq.TransactionStatus.INTRANS


def run(label: str, sql: str, params: Sequence[Any], commit: bool = False) -> list[tuple]:
    """Run one statement of the hot path inside an atomic block; its rows.

    It opens the block's transaction if it is the first query (BEGIN in the same
    pipeline), ends it if `commit` (the caller promises no more SQL in its outermost
    block) and it may, and runs from a prepared plan (engine/pg_prepared.py, `label`
    names it). Where it cannot be sent so (outside an atomic block, or a transaction
    with isolation options still to open) it goes through a plain cursor as any query
    would. Django's execute wrappers see it as they see any other query (with no
    cursor).
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
    begin = _may_begin(db, raw)
    if not (begin or _in_open_transaction(db, raw)):
        with db.wrap_database_errors, debug_transaction(db, sql), db.create_cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    commit = commit and bool(begin or _may_commit(db, raw))
    statement = pg_prepared.statement(raw, label, sql)
    transformer = Transformer(_AdaptContext(_adapters(raw), raw))
    values = transformer.dump_sequence(params, [PyFormat.TEXT] * len(params))
    with db.wrap_database_errors, debug_transaction(db, sql):
        rows = _pipeline(raw, statement, values, begin, commit)
    transformer.set_pgresult(rows)
    return transformer.load_rows(0, rows.ntuples, tuple)


class _AdaptContext:
    """What a psycopg Transformer adapts values with: these adapters, this connection."""

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


def _pipeline(
    raw: Any, statement: pg_prepared.Statement, values: Sequence[Any], begin: bool, commit: bool
) -> pq.abc.PGresult:
    """Send BEGIN (if `begin`), `statement` with `values` and COMMIT (if `commit`) as one
    pipeline and wait for the answers; the statement's result. The first error raises
    (as psycopg's), the transaction left for Django to roll back."""
    pgconn = raw.pgconn
    formats = [pq.Format.TEXT] * len(values)
    pgconn.enter_pipeline_mode()
    try:
        if begin:
            pgconn.send_query_params(b"BEGIN", None)
        if statement.prepares:
            pgconn.send_prepare(statement.name, statement.text)
        if statement.name is None:
            pgconn.send_query_params(statement.text, values, param_formats=formats)
        else:
            pgconn.send_query_prepared(statement.name, values, param_formats=formats)
        if commit:
            pgconn.send_query_params(b"COMMIT", None)
        pgconn.pipeline_sync()
        results = raw.wait(_until_sync(pgconn))
    except BaseException:
        raw.close()  # interrupted half-way: the session's state is unknown
        raise
    pgconn.exit_pipeline_mode()
    error = next((r for r in results if r.status == pq.ExecStatus.FATAL_ERROR), None)
    prepared = results[int(begin)] if statement.prepares else None
    pg_prepared.record(raw, statement, prepared, error)
    if error is not None:
        raise errors.error_from_result(error, encoding=raw.info.encoding)
    return results[int(begin) + int(statement.prepares)]


def _until_sync(pgconn: Any) -> PQGen[list[pq.abc.PGresult]]:
    """Flush the pipeline and collect its results, one per command, up to its Sync."""
    yield from send(pgconn)
    results: list[pq.abc.PGresult] = []
    while True:
        result = yield from fetch(pgconn)
        if result is None:
            continue  # the end of one command's results
        if result.status == pq.ExecStatus.PIPELINE_SYNC:
            return results
        results.append(result)


@contextmanager
def queries_sent() -> Iterator[list[str]]:
    """What this connection sends to the server inside the block, one entry per round
    trip, read from libpq's protocol trace (Django's query log also lists BEGIN and
    COMMIT it asked for that psycopg never sent). A simple query is its text; a pipeline
    its commands joined by "; ", a prepared statement's as `PREPARE name AS …` and
    `EXECUTE name` (values are bound, not shown). For the benchmark and the tests."""
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
            sent += _round_trips(trace)


# Messages to the server as libpq traces them: F, length, type, fields (tab-separated).
_PARSE = re.compile(r' "([^"]*)" "(.*)" \d+.*')
_BIND = re.compile(r' "[^"]*" "([^"]*)".*')


def _round_trips(trace: Iterable[str]) -> list[str]:
    sent: list[str] = []
    pipeline: list[str] = []
    unnamed = ""
    for line in trace:
        direction, _, kind, *fields = line.rstrip("\n").split("\t")
        text = "".join(fields)
        if direction != "F":
            continue
        if kind == "Query":
            sent.append(text.strip().strip('"'))
        elif kind == "Sync":
            sent.append("; ".join(pipeline))
            pipeline = []
        elif (parse := _PARSE.fullmatch(text)) and kind == "Parse":
            name, unnamed = parse.groups()
            if name:
                pipeline.append(f"PREPARE {name} AS {unnamed}")
        elif (bind := _BIND.fullmatch(text)) and kind == "Bind":
            pipeline.append(f"EXECUTE {bind[1]}" if bind[1] else unnamed)
    return sent
