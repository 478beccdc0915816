"""System checks that refuse Celery settings which would lose or duplicate work."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def celery_settings_keep_work_safe(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    required = {
        "CELERY_TASK_ACKS_LATE": True,
        "CELERY_TASK_REJECT_ON_WORKER_LOST": True,
        "CELERY_WORKER_PREFETCH_MULTIPLIER": 1,
        "CELERY_TASK_IGNORE_RESULT": True,
    }
    for name, expected in required.items():
        if getattr(settings, name, None) != expected:
            errors.append(
                Error(
                    f"{name} must be {expected!r}: anything else can lose work "
                    "when a worker dies or hold messages a free worker could run.",
                    id="podium.E001",
                )
            )
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    if visibility is not None and visibility <= settings.CELERY_TASK_TIME_LIMIT:
        errors.append(
            Error(
                "The broker visibility timeout must be longer than CELERY_TASK_TIME_LIMIT, "
                "or a long task is handed to a second worker while it still runs.",
                id="podium.E002",
            )
        )
    return errors
