"""PostgreSQL: the hot path's statements run from plans the session keeps.

What reaches the server is read from libpq's own protocol trace, one entry per round
trip (values are bound, so they do not show).
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from orchestration.engine import pg_prepared
from orchestration.engine.pg_round_trips import queries_sent, run

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="plans are PostgreSQL's"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("no_plans"),
]
SQL = "SELECT 12 / %s::int AS podium_test"
UNNAMED = "SELECT 12 / $1::int AS podium_test"  # as the server gets it


def _run_in_transaction(divisor: int) -> tuple[list[tuple], str]:
    with queries_sent() as sent, transaction.atomic():
        rows = run("test", SQL, [divisor])
    return rows, sent[0]


def _plans() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return [name for (name,) in cursor.fetchall()]


def test_a_statement_is_prepared_the_second_time_and_executed_from_then_on():
    first, first_sent = _run_in_transaction(2)
    second, second_sent = _run_in_transaction(3)
    third, third_sent = _run_in_transaction(4)
    assert (first, second, third) == ([(6,)], [(4,)], [(3,)])
    assert first_sent == f"BEGIN; {UNNAMED}"
    (name,) = _plans()
    assert second_sent == f"BEGIN; PREPARE {name} AS {UNNAMED}; EXECUTE {name}"
    assert third_sent == f"BEGIN; EXECUTE {name}"


def test_a_plan_made_in_a_transaction_that_failed_is_still_used():
    _run_in_transaction(2)
    with pytest.raises(DatabaseError, match="division by zero"):
        _run_in_transaction(0)  # PREPARE ran, then EXECUTE failed: all rolled back
    (name,) = _plans()
    rows, sent = _run_in_transaction(6)
    assert rows == [(2,)]
    assert sent == f"BEGIN; EXECUTE {name}"


def test_a_session_that_lost_its_plans_makes_them_again():
    _run_in_transaction(2)
    _run_in_transaction(2)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    with pytest.raises(DatabaseError, match="does not exist"):
        _run_in_transaction(3)
    assert _run_in_transaction(3)[1] == f"BEGIN; {UNNAMED}"
    assert " PREPARE " in _run_in_transaction(4)[1]
    assert _run_in_transaction(6) == ([(2,)], f"BEGIN; EXECUTE {_plans()[0]}")


def test_a_plan_the_session_already_has_is_adopted():
    """The answer to a PREPARE can be lost (the worker was interrupted while it waited):
    the next PREPARE of that plan fails, and from then on the plan is used."""
    _run_in_transaction(2)
    _run_in_transaction(2)
    pg_prepared.forget(connection.connection)  # as if the answer never came
    _run_in_transaction(2)
    with pytest.raises(DatabaseError, match="already exists"):
        _run_in_transaction(3)
    assert _run_in_transaction(4) == ([(3,)], f"BEGIN; EXECUTE {_plans()[0]}")


def test_a_session_prepares_no_more_than_its_limit(monkeypatch):
    monkeypatch.setattr(pg_prepared, "MAX_PER_CONNECTION", 0)
    for _ in range(3):
        assert _run_in_transaction(2) == ([(6,)], f"BEGIN; {UNNAMED}")
    assert _plans() == []


def test_plans_can_be_switched_off(settings):
    settings.PODIUM_PG_PREPARED_STATEMENTS = False
    for _ in range(3):
        assert _run_in_transaction(2)[1] == f"BEGIN; {UNNAMED}"
    assert _plans() == []


def test_inside_a_savepoint_the_plan_is_used_without_begin_or_commit():
    _run_in_transaction(2)
    _run_in_transaction(2)
    with transaction.atomic(), transaction.atomic():
        connection.ensure_connection()
        with queries_sent() as sent:
            assert run("test", SQL, [3], commit=True) == [(4,)]
    assert sent == [f"EXECUTE {_plans()[0]}"]
