"""The messages the engine hands to Celery: what a worker will read from them."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from kombu import Queue

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
