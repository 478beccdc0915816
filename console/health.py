"""Reachability of the database, the broker and the Celery workers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.db import connection
from django.db.utils import Error as DatabaseError

from config.celery import app


@dataclass
class Health:
    database: bool
    broker: bool
    workers: int
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.database and self.broker

    def as_dict(self) -> dict:
        return {"ok": self.ok, **asdict(self)}


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"The database cannot be reached: {exc}".strip()
    return None


def check_broker(timeout: float = 2.0) -> str | None:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:  # kombu raises transport-specific errors
        return f"The message broker cannot be reached: {exc}".strip()
    return None


def live_workers(timeout: float = 1.0) -> int:
    try:
        replies = app.control.ping(timeout=timeout) or []
    except Exception:
        return 0
    return len(replies)


def current_health(ping_workers: bool = True) -> Health:
    db_error = check_database()
    broker_error = check_broker()
    errors = {k: v for k, v in (("database", db_error), ("broker", broker_error)) if v}
    workers = live_workers() if ping_workers and not broker_error else 0
    return Health(db_error is None, broker_error is None, workers, errors)
