from __future__ import annotations

import os

import pytest

from tests.factories import UserFactory


def pytest_configure(config: pytest.Config) -> None:
    # Playwright's sync API runs an event loop in the test thread; Django's ORM calls
    # from that thread are still synchronous and safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fresh_engine_caches() -> None:
    from orchestration.engine.graphs import clear_caches

    clear_caches()


@pytest.fixture(autouse=True)
def _fast_hashing(settings: object) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@pytest.fixture
def user(db: None):
    return UserFactory(username="casey")


@pytest.fixture
def client_logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def celery_worker(transactional_db: None):
    """A real Celery worker in a thread of the test process, on the configured broker.

    Tests that use it must be transactional (the worker has its own DB connection).
    """
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun
    from django.db import connections

    from config.celery import app

    def close_thread_connections(**kwargs: object) -> None:
        # A pool thread's connection would outlive the test and keep the test
        # database from being dropped at the end of the run.
        connections.close_all()

    task_postrun.connect(close_thread_connections, weak=False)
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=2,
            perform_ping_check=False,
            shutdown_timeout=10,
            loglevel="WARNING",
        ) as worker:
            yield worker
    finally:
        task_postrun.disconnect(close_thread_connections)
