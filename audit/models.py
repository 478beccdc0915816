from __future__ import annotations

from django.db import models


class ActorKind(models.TextChoices):
    USER = "user", "Person"
    SYSTEM = "system", "System"
    AI = "ai", "AI provider"
    TOKEN = "token", "API token"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: object) -> int:
        raise PermissionError("Audit events are append-only; write a correcting event instead.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only; they cannot be deleted.")


class AuditEvent(models.Model):
    """One link of a hash chain. See audit/chain.py for how chains are formed."""

    stream = models.CharField(max_length=64)
    seq = models.PositiveBigIntegerField()
    occurred_at = models.DateTimeField()
    actor_kind = models.CharField(max_length=8, choices=ActorKind.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    actor_version = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    flow_id = models.BigIntegerField(null=True, blank=True)
    instance_id = models.BigIntegerField(null=True, blank=True)
    business_key = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stream", "seq"], name="audit_event_stream_seq"),
        ]
        indexes = [
            models.Index(fields=["flow_id", "-occurred_at"], name="audit_flow_time"),
            models.Index(fields=["instance_id", "seq"], name="audit_instance"),
            models.Index(fields=["business_key"], name="audit_business_key"),
            models.Index(fields=["action", "-occurred_at"], name="audit_action_time"),
            models.Index(fields=["actor_kind", "actor_id", "-occurred_at"], name="audit_actor"),
            models.Index(fields=["-occurred_at"], name="audit_time"),
        ]

    def __str__(self) -> str:
        return f"{self.stream}#{self.seq} {self.action}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events are append-only; write a correcting event instead.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only; they cannot be deleted.")


class ChainSeal(models.Model):
    """A periodic commitment to the heads of every stream written since the last seal."""

    created_at = models.DateTimeField(auto_now_add=True)
    last_event_id = models.BigIntegerField()
    streams = models.PositiveIntegerField()
    digest = models.CharField(max_length=64)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"seal {self.pk} up to event {self.last_event_id}"


class DecisionRecord(models.Model):
    """Everything needed to reconstruct one decision (engine invariant 8)."""

    instance_id = models.BigIntegerField()
    step_run_id = models.BigIntegerField()
    flow_id = models.BigIntegerField()
    flow_version_id = models.BigIntegerField()
    step_id = models.CharField(max_length=80)
    business_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    inputs = models.JSONField(default=dict)
    step_config = models.JSONField(default=dict)
    provider = models.CharField(max_length=80, blank=True)
    model_version = models.CharField(max_length=120, blank=True)
    rationale = models.TextField(blank=True)
    policy_checks = models.JSONField(default=list)
    confidence = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    mode = models.CharField(max_length=20, blank=True)
    route = models.CharField(max_length=20, blank=True)
    proposed_outcome = models.CharField(max_length=80, blank=True)
    final_outcome = models.CharField(max_length=80, blank=True)
    decided_by_kind = models.CharField(max_length=8, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    reviewer_reason = models.TextField(blank=True)
    overrode_ai = models.BooleanField(null=True)
    finalised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["instance_id"], name="decision_instance"),
            models.Index(fields=["flow_id", "step_id", "-created_at"], name="decision_flow_step"),
            models.Index(fields=["business_key"], name="decision_business_key"),
        ]

    def __str__(self) -> str:
        return f"decision {self.pk} on {self.step_id}"
