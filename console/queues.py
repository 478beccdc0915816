"""Which Celery workers answer, and how many messages wait in each queue."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from config.celery import app


@dataclass
class QueueLength:
    name: str
    messages: int | None  # None: the broker cannot tell
    error: str = ""


def worker_names(timeout: float = 1.0) -> list[str]:
    try:
        replies = app.control.ping(timeout=timeout) or []
    except Exception:  # the broker is down or does not support broadcast
        return []
    return sorted(name for reply in replies for name in reply)


def queue_names() -> list[str]:
    names = {settings.CELERY_TASK_DEFAULT_QUEUE}
    for route in (getattr(settings, "CELERY_TASK_ROUTES", None) or {}).values():
        if isinstance(route, dict) and route.get("queue"):
            names.add(route["queue"])
    return sorted(names)


def queue_lengths(timeout: float = 2.0) -> list[QueueLength]:
    """Messages waiting per queue, asked passively (a missing queue is not created)."""
    result = []
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            channel = conn.default_channel
            for name in queue_names():
                try:
                    declared = channel.queue_declare(queue=name, passive=True)
                    result.append(QueueLength(name, int(declared.message_count)))
                except FileNotFoundError:  # filesystem broker: nothing was ever queued
                    result.append(QueueLength(name, 0))
                except Exception as exc:  # e.g. the queue does not exist yet
                    result.append(QueueLength(name, None, _short(exc)))
    except Exception as exc:
        return [QueueLength(name, None, _short(exc)) for name in queue_names()]
    return result


def _short(exc: Exception) -> str:
    return (str(exc) or type(exc).__name__).splitlines()[0][:200]
