"""Training learned decision models on people's past decisions; every version is kept."""

from __future__ import annotations

import io
import logging
from collections import Counter
from typing import Any

import joblib
from django.conf import settings as django_settings
from django.db import IntegrityError, transaction

from audit.models import DecisionRecord
from orchestration.decisions.models import ModelVersion

log = logging.getLogger(__name__)
ALGORITHM = "logistic-regression+sigmoid-calibration"
# The definition format has no per-step knobs for these; administrators may change the
# defaults with the PODIUM_LEARNED_MIN_SAMPLES / PODIUM_LEARNED_RETRAIN_EVERY settings.
DEFAULT_MIN_SAMPLES = int(getattr(django_settings, "PODIUM_LEARNED_MIN_SAMPLES", 20))
DEFAULT_RETRAIN_EVERY = int(getattr(django_settings, "PODIUM_LEARNED_RETRAIN_EVERY", 10))
MAX_TRAINING_ROWS = 50_000


def features(inputs: dict[str, Any]) -> dict[str, Any]:
    """Numbers stay numbers, booleans become 0/1, text becomes a category; None is dropped."""
    row: dict[str, Any] = {}
    for name, value in inputs.items():
        if isinstance(value, bool):
            row[name] = int(value)
        elif isinstance(value, int | float):
            row[name] = float(value)
        elif isinstance(value, str):
            row[name] = value
        elif value is not None:
            row[name] = str(value)
    return row


def human_decisions(flow_id: int, step_id: str):
    return DecisionRecord.objects.filter(
        flow_id=flow_id, step_id=step_id, decided_by_kind="user", finalised_at__isnull=False
    ).exclude(final_outcome="")


def due_for_training(flow_id: int, step_id: str, settings: dict[str, Any]) -> bool:
    latest = ModelVersion.objects.filter(flow_id=flow_id, step_id=step_id).order_by("-number")
    trained_on = latest.values_list("trained_on", flat=True).first() or 0
    count = human_decisions(flow_id, step_id).count()
    if not trained_on:
        return count >= int(settings.get("min_samples", DEFAULT_MIN_SAMPLES))
    return count - trained_on >= int(settings.get("retrain_every", DEFAULT_RETRAIN_EVERY))


def build_pipeline(labels: list[str]) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MaxAbsScaler

    smallest = min(Counter(labels).values())
    model: Any = LogisticRegression(max_iter=1000)
    if smallest >= 2:
        model = CalibratedClassifierCV(model, method="sigmoid", cv=min(3, smallest))
    return make_pipeline(DictVectorizer(sparse=False), MaxAbsScaler(), model)


def train(flow_id: int, step_id: str, settings: dict[str, Any]) -> ModelVersion | None:
    """Train a new version from every human decision so far; None if too few or one class."""
    rows = list(
        human_decisions(flow_id, step_id)
        .order_by("-id")
        .values_list("inputs", "final_outcome")[:MAX_TRAINING_ROWS]
    )
    min_samples = int(settings.get("min_samples", DEFAULT_MIN_SAMPLES))
    labels = [outcome for _inputs, outcome in rows]
    if len(rows) < min_samples or len(set(labels)) < 2:
        return None
    samples = [features(inputs) for inputs, _outcome in rows]
    pipeline = build_pipeline(labels)
    pipeline.fit(samples, labels)
    accuracy = float(pipeline.score(samples, labels))
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer)
    metrics = {"training_accuracy": round(accuracy, 4), "class_counts": dict(Counter(labels))}
    return _store(flow_id, step_id, pipeline, len(rows), metrics, buffer.getvalue())


def _store(flow_id: int, step_id: str, pipeline: Any, count: int, metrics: dict, blob: bytes):
    latest = ModelVersion.objects.filter(flow_id=flow_id, step_id=step_id).order_by("-number")
    number = (latest.values_list("number", flat=True).first() or 0) + 1
    try:
        with transaction.atomic():
            return ModelVersion.objects.create(
                flow_id=flow_id,
                step_id=step_id,
                number=number,
                algorithm=ALGORITHM,
                fields=sorted({name for name in pipeline[0].feature_names_}),
                classes=[str(c) for c in pipeline.classes_],
                trained_on=count,
                metrics=metrics,
                blob=blob,
            )
    except IntegrityError:
        log.info("another worker stored version %s of %s/%s first", number, flow_id, step_id)
        return None


def load_model(blob: bytes) -> Any:
    return joblib.load(io.BytesIO(bytes(blob)))
