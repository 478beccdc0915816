"""Timing helpers shared by the request benchmarks (import after django.setup())."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection, connections
from django.test.utils import setup_test_environment


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh test database for the run, dropped afterwards; yields its name."""
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    creation = connection.creation
    old_name = connection.settings_dict["NAME"]
    name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        yield name
    finally:
        connections.close_all()
        creation.destroy_test_db(old_name, verbosity=0)


def timed(call: Callable[[], Any]) -> float:
    """Milliseconds one request takes; it must answer 200."""
    started = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (response.status_code, response.content[:500])
    return elapsed


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def summary(values: list[float], digits: int = 1) -> str:
    """'p50 12.3 ms   p95 14.5 ms' for a list of timings in milliseconds."""
    p50, p95 = percentile(values, 50), percentile(values, 95)
    return f"p50 {p50:6.{digits}f} ms   p95 {p95:6.{digits}f} ms"
