"""PostgreSQL: the hot path's statements run from plans the server keeps per connection.

A step's lock and write go to the server as query strings (engine/pg_round_trips.py),
and PostgreSQL parses and plans each string afresh: for the join-and-lock and the
write's CTE over tables with many indexes that is about 0.3 ms of server CPU a step,
more than executing them. The SQL-level PREPARE keeps the plan in the session and
EXECUTE reuses it, still within one query string, so BEGIN and COMMIT keep travelling
with the statements.

A statement is prepared the second time a connection runs it, so one-off shapes never
take server memory, and each connection prepares at most MAX_PER_CONNECTION of them.
Prepared statements outlive the transaction that made them (they are session state),
so a statement counts as prepared once the server answered PREPARE, whatever became of
the rest of the string. Turn this off (PODIUM_PG_PREPARED_STATEMENTS=false) behind a
pooler that hands one client's transactions to different server sessions, such as
PgBouncer in transaction mode.
"""

from __future__ import annotations

import itertools
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from psycopg import ClientCursor, pq

MAX_PER_CONNECTION = 100
# Shapes a connection has run once; forgotten in bulk when there are this many.
MAX_SEEN = 1_000
# The server's answers to EXECUTE of a plan it does not have (DISCARD ALL dropped it,
# say) and to PREPARE of one it has (its answer to an earlier PREPARE never arrived).
UNKNOWN_STATEMENT = "26000"
DUPLICATE_STATEMENT = "42P05"

_PLACEHOLDER = re.compile(r"%s")
# SQL text -> statement name. One name per text in a process, so a plan the server
# already has under a name is the plan for that text.
_names: dict[str, str] = {}
_numbers = itertools.count(1)
_sessions: weakref.WeakKeyDictionary[Any, _Session] = weakref.WeakKeyDictionary()


class _Session:
    """What one server session has prepared, and what it has seen once."""

    def __init__(self) -> None:
        self.prepared: set[str] = set()
        self.seen: set[str] = set()


def _name(label: str, sql: str) -> str:
    name = _names.get(sql)
    if name is None:  # setdefault: of two threads naming the same text, one name wins
        name = _names.setdefault(sql, f"podium_{label}_{next(_numbers)}")
    return name


def _parameters(sql: str) -> str:
    """`sql` with its %s placeholders numbered as PREPARE wants them ($1, $2, …)."""
    numbers = itertools.count(1)
    return _PLACEHOLDER.sub(lambda _: f"${next(numbers)}", sql)


@dataclass(frozen=True)
class Statement:
    """The query text for one run of `sql`; `prepares` if it makes the plan too."""

    sql: str
    text: str
    prepares: bool


def _time_to_prepare(session: _Session, sql: str) -> bool:
    if sql in session.seen:
        return len(session.prepared) < MAX_PER_CONNECTION
    if len(session.seen) >= MAX_SEEN:
        session.seen.clear()
    session.seen.add(sql)
    return False


def statement(raw: Any, label: str, sql: str, params: Sequence[Any]) -> Statement:
    """How to run `sql` with `params` on connection `raw`: an EXECUTE of its plan where
    the session has one, preceded by the PREPARE when it is time to make it, or else
    the statement itself. `label` goes into the plan's name (e.g. "lock")."""
    mogrify = ClientCursor(raw).mogrify
    session = _sessions.get(raw)
    if session is None:
        session = _sessions[raw] = _Session()
    ready = sql in session.prepared
    if not settings.PODIUM_PG_PREPARED_STATEMENTS or not (ready or _time_to_prepare(session, sql)):
        return Statement(sql, mogrify(sql, params), prepares=False)
    name = _name(label, sql)
    arguments = f"({', '.join(['%s'] * len(params))})" if params else ""
    execute = mogrify(f"EXECUTE {name}{arguments}", params)
    if ready:
        return Statement(sql, execute, prepares=False)
    return Statement(sql, f"PREPARE {name} AS {_parameters(sql)}; {execute}", prepares=True)


def record(raw: Any, statement: Statement, results: Sequence[Any]) -> None:
    """Bring what `raw`'s session is known to have prepared up to date with the server's
    answers to `statement` (the results of its query string, as far as it got)."""
    for result in results:
        if result.status == pq.ExecStatus.FATAL_ERROR:
            sqlstate = result.error_field(pq.DiagnosticField.SQLSTATE)
            if sqlstate == UNKNOWN_STATEMENT.encode():
                forget(raw)  # the session lost its plans: make them again
            elif sqlstate == DUPLICATE_STATEMENT.encode() and statement.prepares:
                _sessions[raw].prepared.add(statement.sql)
        elif result.command_status == b"PREPARE" and statement.prepares:
            _sessions[raw].prepared.add(statement.sql)


def forget(raw: Any) -> None:
    """Take it that `raw`'s session has no plans (the server dropped them)."""
    _sessions.pop(raw, None)
