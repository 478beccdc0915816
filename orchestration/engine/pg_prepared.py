"""PostgreSQL: the hot path's statements run from plans the server keeps per connection.

Parsing and planning the join-and-lock and the write's CTE over tables with many
indexes costs the server about 0.3 ms a step, more than executing them. So the second
time a connection runs a statement, engine/pg_round_trips.py sends it as a named
prepared statement (the protocol's Parse), and from then on only binds values to it
and executes it. A statement met once runs unnamed, so one-off shapes never take server
memory, and each connection prepares at most MAX_PER_CONNECTION of them.

Prepared statements outlive the transaction that made them (they are session state),
so a statement counts as prepared once the server has answered its Parse, whatever
became of the rest of the pipeline. Turn this off (PODIUM_PG_PREPARED_STATEMENTS=false)
behind a pooler that hands one client's transactions to different server sessions, such
as PgBouncer in transaction mode without prepared-statement support.
"""

from __future__ import annotations

import functools
import itertools
import re
import weakref
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from psycopg import pq

MAX_PER_CONNECTION = 100
# Shapes a connection has run once; forgotten in bulk when there are this many.
MAX_SEEN = 1_000
# The server's answers to executing a plan it does not have (DISCARD ALL dropped it,
# say) and to preparing one it has (its answer to an earlier Parse never arrived).
UNKNOWN_STATEMENT = b"26000"
DUPLICATE_STATEMENT = b"42P05"

_PLACEHOLDER = re.compile(r"%s")
# SQL text -> statement name. One name per text in a process, so a plan the server
# already has under a name is the plan for that text.
_names: dict[str, bytes] = {}
_numbers = itertools.count(1)
_sessions: weakref.WeakKeyDictionary[Any, _Session] = weakref.WeakKeyDictionary()


class _Session:
    """What one server session has prepared, and what it has seen once."""

    def __init__(self) -> None:
        self.prepared: set[str] = set()
        self.seen: set[str] = set()


@dataclass(frozen=True)
class Statement:
    """How to run `sql` this time: its text with numbered parameters, and the name of
    its plan (None: run it unnamed); `prepares` if this run makes the plan."""

    sql: str
    text: bytes
    name: bytes | None
    prepares: bool


def _name(label: str, sql: str) -> bytes:
    name = _names.get(sql)
    if name is None:  # setdefault: of two threads naming the same text, one name wins
        name = _names.setdefault(sql, f"podium_{label}_{next(_numbers)}".encode())
    return name


@functools.lru_cache(maxsize=MAX_SEEN)
def _numbered(sql: str) -> bytes:
    """`sql` with its %s placeholders numbered as the protocol wants them ($1, $2, …)."""
    numbers = itertools.count(1)
    return _PLACEHOLDER.sub(lambda _: f"${next(numbers)}", sql).encode()


def _time_to_prepare(session: _Session, sql: str) -> bool:
    if sql in session.seen:
        return len(session.prepared) < MAX_PER_CONNECTION
    if len(session.seen) >= MAX_SEEN:
        session.seen.clear()
    session.seen.add(sql)
    return False


def statement(raw: Any, label: str, sql: str) -> Statement:
    """How to run `sql` on connection `raw`: from its plan where the session has one,
    making the plan when it is time to, or else unnamed. `label` goes into the plan's
    name (e.g. "lock")."""
    session = _sessions.get(raw)
    if session is None:
        session = _sessions[raw] = _Session()
    ready = sql in session.prepared
    if not settings.PODIUM_PG_PREPARED_STATEMENTS or not (ready or _time_to_prepare(session, sql)):
        return Statement(sql, _numbered(sql), None, prepares=False)
    return Statement(sql, _numbered(sql), _name(label, sql), prepares=not ready)


def record(raw: Any, statement: Statement, prepared: Any, error: Any) -> None:
    """Bring what `raw`'s session is known to have prepared up to date with the
    server's answer to making `statement`'s plan (`prepared`, a result, or None if this
    run made none) and with the error the pipeline ended with, if any."""
    if error is not None and error.error_field(pq.DiagnosticField.SQLSTATE) == UNKNOWN_STATEMENT:
        forget(raw)  # the session lost its plans: make them again
    elif prepared is not None and (
        prepared.status == pq.ExecStatus.COMMAND_OK
        or prepared.error_field(pq.DiagnosticField.SQLSTATE) == DUPLICATE_STATEMENT
    ):
        _sessions[raw].prepared.add(statement.sql)


def forget(raw: Any) -> None:
    """Take it that `raw`'s session has no plans (the server dropped them)."""
    _sessions.pop(raw, None)
