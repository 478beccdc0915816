"""A classifier trained on this step's own past human decisions (see training.py).

Cold start: until a model version exists the provider has no answer, so every case
goes to a person, whose decisions become the training data.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from orchestration.decisions.models import ModelVersion
from orchestration.decisions.providers import Proposal, ProviderError, Question, register
from orchestration.decisions.training import features, load_model


@lru_cache(maxsize=64)
def _model(version_id: int) -> Any:
    return load_model(ModelVersion.objects.only("blob").get(pk=version_id).blob)


@register("learned")
def decide_by_model(question: Question) -> Proposal:
    version = (
        ModelVersion.objects.filter(flow_id=question.flow_id, step_id=question.step_id)
        .only("id", "number", "flow_id", "step_id", "classes", "trained_on")
        .order_by("-number")
        .first()
    )
    if version is None:
        return Proposal(
            "learned",
            rationale="No model yet: the step is still learning from people's decisions",
        )
    try:
        probabilities = _model(version.pk).predict_proba([features(question.inputs)])[0]
    except Exception as exc:
        raise ProviderError(f"model {version.label} could not score this case: {exc}") from exc
    classes = list(version.classes)
    best = max(range(len(classes)), key=lambda i: probabilities[i])
    outcome = str(classes[best])
    if outcome not in question.outcomes:
        return Proposal(
            "learned",
            rationale=f"Model predicts {outcome!r}, no longer an outcome",
            model_version=version.label,
        )
    spread = ", ".join(f"{c} {p:.0%}" for c, p in zip(classes, probabilities, strict=True))
    return Proposal(
        "learned",
        outcome,
        round(float(probabilities[best]), 4),
        f"Model v{version.number}, trained on {version.trained_on} decisions by people: {spread}",
        version.label,
    )
