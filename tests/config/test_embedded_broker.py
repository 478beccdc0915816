"""The embedded broker's transport (config/embedded_broker.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from kombu import Connection
from kombu.exceptions import ChannelError

from config.embedded_broker import Transport

MESSAGES = 150
# Not the app's queue: kombu keeps the bindings it has declared for the whole process.
QUEUE = "embedded-broker-test"


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kombu's control folder. Its transport remembers declared exchanges per process
    and writes their bindings here only once, so the tests share one."""
    return tmp_path_factory.mktemp("control")


def connect(folder: Path, control: Path) -> Connection:
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    options.update(control_folder=str(control))
    options.update(polling_interval=0.001, store_processed=False)
    return Connection("filesystem://localhost/", transport=Transport, transport_options=options)


def send_and_receive(folder: Path, control: Path) -> list[int]:
    """Send large messages from one thread while another takes them as they appear."""
    body = "x" * 500_000  # a long write: a half-written file is there to be seen

    def send() -> None:
        with connect(folder, control) as producer:
            queue = producer.SimpleQueue(QUEUE)
            for number in range(MESSAGES):
                queue.put({"number": number, "body": body})

    sender = threading.Thread(target=send)
    received = []
    with connect(folder, control) as consumer:
        queue = consumer.SimpleQueue(QUEUE)
        sender.start()
        try:
            while len(received) < MESSAGES:
                message = queue.get(timeout=10)
                received.append(message.payload["number"])
                message.ack()
        finally:
            sender.join()
    return received


def test_while_a_message_is_written_readers_see_no_file_for_it(tmp_path, control, monkeypatch):
    from config import embedded_broker

    seen_while_writing = []

    def dumps(payload: object) -> str:  # runs with the file open, before the write
        seen_while_writing.append(queue.channel._size(QUEUE))
        return original(payload)

    original = embedded_broker.dumps
    monkeypatch.setattr(embedded_broker, "dumps", dumps)
    with connect(tmp_path, control) as connection:
        queue = connection.SimpleQueue(QUEUE)
        queue.put({"number": 1})
        assert seen_while_writing == [0]
        assert queue.get(timeout=2).payload == {"number": 1}


def test_a_reader_takes_every_message_whole_while_they_are_written(tmp_path, control):
    assert send_and_receive(tmp_path, control) == list(range(MESSAGES))
    assert list(tmp_path.iterdir()) == [], "no partly written file is left behind"


def test_a_message_that_cannot_be_written_is_refused_and_leaves_nothing(
    tmp_path, control, monkeypatch
):
    def disk_full(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    with connect(tmp_path, control) as connection:
        queue = connection.SimpleQueue(QUEUE)
        monkeypatch.setattr("config.embedded_broker.os.replace", disk_full)
        with pytest.raises(ChannelError, match="Cannot add"):
            queue.put({"number": 1})
    assert list(tmp_path.iterdir()) == []
