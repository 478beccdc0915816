"""The Redis transport Podium's Celery app uses (config/broker.py)."""

from __future__ import annotations

import os

import pytest
import redis
from kombu import Connection

from config.broker import Transport

REDIS_URL = os.environ.get("PODIUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def connection():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    with Connection(REDIS_URL, transport=Transport) as conn:
        yield conn


def test_a_channel_sends_every_command_through_one_client(connection):
    channel = connection.default_channel
    assert channel._create_client() is channel._create_client()
    assert channel._create_client(asynchronous=True) is not channel._create_client()


def test_after_a_fork_the_channel_takes_a_client_on_the_new_pool(connection):
    channel = connection.default_channel
    before = channel._create_client()
    channel._after_fork()  # what kombu does in a forked worker process
    after = channel._create_client()
    assert after is not before
    assert after.connection_pool is channel.pool


def test_messages_go_through_and_are_acknowledged(connection):
    queue = connection.SimpleQueue("podium-test-broker")
    try:
        queue.clear()
        for number in range(3):
            queue.put({"number": number})
        received = []
        for _ in range(3):
            message = queue.get(timeout=2)
            received.append(message.payload["number"])
            message.ack()
        assert received == [0, 1, 2]
        assert not connection.default_channel.client.hlen("unacked")
    finally:
        queue.clear()
        queue.close()
