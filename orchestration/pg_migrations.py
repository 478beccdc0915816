"""A migration step for PostgreSQL alone: functions and indexes the embedded default
(SQLite) has no use for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import migrations


def postgresql_only(create: str, drop: str) -> migrations.RunPython:
    """Run `create` when migrating forward and `drop` when going back, on PostgreSQL."""
    return migrations.RunPython(_on_postgresql(create), _on_postgresql(drop))


def _on_postgresql(sql: str) -> Callable[[Any, Any], None]:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run
