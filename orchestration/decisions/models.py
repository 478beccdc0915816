"""Learned model versions and the LLM endpoints administrators configure."""

from __future__ import annotations

from django.db import models


class ModelVersion(models.Model):
    """One trained classifier for one decision step; every version is kept."""

    flow_id = models.BigIntegerField()
    step_id = models.CharField(max_length=80)
    number = models.PositiveIntegerField()
    algorithm = models.CharField(max_length=80)
    fields = models.JSONField(default=list)
    classes = models.JSONField(default=list)
    trained_on = models.PositiveIntegerField()
    metrics = models.JSONField(default=dict)
    blob = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["flow_id", "step_id", "number"], name="model_version_number"
            )
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"learned:{self.flow_id}/{self.step_id}/v{self.number}"


class LlmEndpoint(models.Model):
    """An OpenAI-compatible chat endpoint. The key is read from an environment variable."""

    name = models.SlugField(max_length=60, unique=True)
    base_url = models.URLField(help_text="e.g. https://api.openai.com/v1")
    model = models.CharField(max_length=120)
    api_key_env = models.CharField(
        max_length=120, blank=True, help_text="Name of the environment variable holding the key"
    )
    timeout_seconds = models.FloatField(default=20)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.model})"
