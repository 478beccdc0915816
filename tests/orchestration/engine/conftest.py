import pytest

from tests.orchestration.engine.driver import EngineDriver


@pytest.fixture
def engine(db, monkeypatch) -> EngineDriver:
    return EngineDriver(monkeypatch)
