import pytest
from django.db import connection

from orchestration.engine import pg_prepared
from tests.orchestration.engine.driver import EngineDriver


@pytest.fixture(params=[50, 0], ids=["chained", "step-by-step"])
def engine(request, db, monkeypatch, settings) -> EngineDriver:
    """The engine, run both with automated steps chained in one transaction and without."""
    settings.PODIUM_INLINE_STEPS = request.param
    return EngineDriver(monkeypatch)


@pytest.fixture
def no_plans(settings) -> None:
    """PostgreSQL: plans switched on, and a database session with none made yet."""
    settings.PODIUM_PG_PREPARED_STATEMENTS = True
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    pg_prepared.forget(connection.connection)
