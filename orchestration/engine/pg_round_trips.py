"""PostgreSQL: a transition's BEGIN travels with its lock and its COMMIT with its write.

psycopg opens a transaction with a BEGIN of its own, one round trip before the first
query, and Django's commit is one more after the last. A step transition is a lock, a
single write and a commit, so sending BEGIN in the lock's query string and COMMIT in
the write's halves the round trips a step waits for: about 0.1 ms each on loopback,
a network round trip each when the database is on another host. Both use the simple
query protocol, which runs the statements of one string in order and abandons the rest
at the first error: a write that fails never reaches its COMMIT, and Django's atomic
block rolls back as usual.

Only the outermost atomic block may do this, and only where psycopg would send a
plain BEGIN: elsewhere (savepoints, isolation options, server-side binding) callers
get the ordinary round trips.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import debug_transaction
from psycopg import ClientCursor, errors, pq
from psycopg.adapt import Transformer
from psycopg.generators import execute

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


def can_begin_with_query() -> bool:
    """True when the next query would be the first of the outermost atomic block."""
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: it is asked for a lot here
    if not _outermost_block(db):
        return False
    db.ensure_connection()
    raw = db.connection
    return raw.pgconn.transaction_status == pq.TransactionStatus.IDLE and _plain_transactions(raw)


def can_commit_with_query() -> bool:
    """True when the outermost atomic block's transaction is open and may end with the
    next query (the caller promises it is the block's last)."""
    db = connections[DEFAULT_DB_ALIAS]
    raw = db.connection
    if raw is None or not _outermost_block(db):
        return False
    return raw.pgconn.transaction_status == pq.TransactionStatus.INTRANS and _plain_transactions(
        raw
    )


def begin_with_query(sql: str, params: Sequence[Any]) -> list[tuple]:
    """Open the transaction and run `sql` in one round trip; its rows, loaded by the
    connection's own type loaders (call only when can_begin_with_query())."""
    db = connections[DEFAULT_DB_ALIAS]
    raw = db.connection
    text = "BEGIN; " + ClientCursor(raw).mogrify(sql, params)
    with db.wrap_database_errors, debug_transaction(db, text):
        raw.pgconn.send_query(text.encode(raw.info.encoding))
        results = raw.wait(execute(raw.pgconn))
        for result in results:
            if result.status == pq.ExecStatus.FATAL_ERROR:
                raise errors.error_from_result(result, encoding=raw.info.encoding)
    rows = results[-1]
    loader = Transformer(raw)
    loader.set_pgresult(rows)
    return loader.load_rows(0, rows.ntuples, tuple)


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
