"""The messages the engine hands to Celery: what a worker will read from them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from kombu import Connection, Producer, Queue

from config.celery import app
from orchestration.engine import dispatch


@pytest.fixture
def published(monkeypatch) -> list[dict[str, Any]]:
    """What `dispatch.message` gives the producer, instead of publishing it."""
    sent: list[dict[str, Any]] = []

    def publish(producer, name, message, **route) -> None:
        headers, _properties, body, _event = message
        sent.append({"name": name, "headers": headers, "body": body, "route": route})

    monkeypatch.setattr(app.amqp, "send_task_message", publish)
    return sent


def test_a_message_names_its_task_and_carries_only_the_ids(published):
    dispatch.message(dispatch.RUN_STEP, {"step_run_id": 42})

    [sent] = published
    args, kwargs, _embed = sent["body"]
    assert sent["name"] == sent["headers"]["task"] == "orchestration.run_step"
    assert (args, kwargs) == ((), {"step_run_id": 42})
    assert sent["headers"]["kwargsrepr"] == "{'step_run_id': 42}"
    assert sent["headers"]["eta"] is None
    assert sent["route"]["queue"].name == settings.CELERY_TASK_DEFAULT_QUEUE


def test_each_message_has_its_own_task_id(published):
    dispatch.send([1, 2])

    ids = [sent["headers"]["id"] for sent in published]
    assert len(set(ids)) == 2
    assert [sent["body"][1] for sent in published] == [{"step_run_id": 1}, {"step_run_id": 2}]


def test_a_countdown_becomes_an_eta(published):
    dispatch.message(dispatch.RUN_STEP, {"step_run_id": 7}, countdown=30)

    [sent] = published
    assert sent["headers"]["eta"] is not None


def test_the_router_decides_the_queue(published, monkeypatch):
    def engine_steps_apart(name, args, kwargs, options, task=None):
        return {"queue": Queue("engine-steps")} if name == dispatch.RUN_STEP else None

    monkeypatch.setattr(app.amqp.router, "routes", [engine_steps_apart])
    dispatch.message(dispatch.RUN_STEP, {"step_run_id": 3})
    dispatch.message("orchestration.deliver_event", {"event_id": 4})

    assert [sent["route"]["queue"].name for sent in published] == [
        "engine-steps",
        settings.CELERY_TASK_DEFAULT_QUEUE,
    ]


@pytest.fixture
def memory_broker(monkeypatch) -> Iterator[Connection]:
    """`dispatch.message` publishing through kombu's in-memory broker, to a queue that
    the router picks (the app's own broker is left alone)."""
    queue = Queue("dispatch-test", routing_key="dispatch-test")
    monkeypatch.setattr(app.amqp.router, "routes", [lambda *args, **kwargs: {"queue": queue}])
    with Connection("memory://") as connection:
        producer = connection.Producer()

        @contextmanager
        def this_producer(producer_arg=None):
            yield producer

        monkeypatch.setattr(app, "producer_or_acquire", this_producer)
        yield connection


def test_a_connection_declares_the_queue_with_its_first_message_only(memory_broker, monkeypatch):
    """kombu would declare it once too, but look it up (binding a copy of the queue)
    before every message; the messages all arrive either way."""
    looked_up: list[str] = []
    real_maybe_declare = Producer.maybe_declare

    def maybe_declare(self, entity, *args, **kwargs):
        looked_up.append(entity.name)
        return real_maybe_declare(self, entity, *args, **kwargs)

    monkeypatch.setattr(Producer, "maybe_declare", maybe_declare)
    dispatch.send([1, 2, 3])
    assert looked_up == ["dispatch-test"]

    memory_broker.declared_entities.clear()  # what kombu does when it reconnects
    dispatch.send([4])
    assert looked_up == ["dispatch-test", "dispatch-test"]

    received = memory_broker.SimpleQueue("dispatch-test")
    bodies = [received.get(timeout=1).decode()[1] for _ in range(4)]
    assert bodies == [{"step_run_id": n} for n in (1, 2, 3, 4)]
    received.close()
