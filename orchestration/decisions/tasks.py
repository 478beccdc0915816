from __future__ import annotations

from typing import Any

from celery import shared_task

from orchestration.decisions import events
from orchestration.decisions.training import due_for_training, train


@shared_task(name="decisions.retrain")
def retrain(*, flow_id: int, step_id: str, settings: dict[str, Any] | None = None) -> None:
    """Train a new model version when K new human decisions arrived; safe to run twice."""
    settings = settings or {}
    if not due_for_training(flow_id, step_id, settings):
        return
    version = train(flow_id, step_id, settings)
    if version is not None:
        events.model_trained(flow_id, step_id, version.label, version.metrics)
