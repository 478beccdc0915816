import pytest

from tests.orchestration.engine.driver import EngineDriver


@pytest.fixture(params=[50, 0], ids=["chained", "step-by-step"])
def engine(request, db, monkeypatch, settings) -> EngineDriver:
    """The engine, run both with automated steps chained in one transaction and without."""
    settings.PODIUM_INLINE_STEPS = request.param
    return EngineDriver(monkeypatch)
