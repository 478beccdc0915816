from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone


class ActorKind(models.TextChoices):
    USER = "user", "Person"
    SYSTEM = "system", "System"
    AI = "ai", "AI provider"
    TOKEN = "token", "API token"


class AppendOnlyQuerySet(models.QuerySet):
    """Rows of audit tables are written once. PostgreSQL enforces it with a trigger too
    (migration 0003); on SQLite this layer is the guard."""

    def update(self, **kwargs: object) -> int:
        raise PermissionError("Audit records are append-only; write a correcting event instead.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit records are append-only; they cannot be deleted.")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not self._state.adding:
            raise PermissionError(
                "Audit records are append-only; write a correcting event instead."
            )
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit records are append-only; they cannot be deleted.")


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
        # The explorer pages by (occurred_at, id) descending; each filter has an index
        # that ends in that order, so a page is an index range scan at any table size.
        indexes = [
            models.Index(fields=["flow_id", "-occurred_at", "-id"], name="audit_flow_time"),
            models.Index(fields=["instance_id", "seq"], name="audit_instance"),
            models.Index(fields=["business_key", "-occurred_at", "-id"], name="audit_business_key"),
            models.Index(fields=["action", "-occurred_at", "-id"], name="audit_action_time"),
            models.Index(
                fields=["actor_kind", "actor_id", "-occurred_at", "-id"], name="audit_actor"
            ),
            models.Index(fields=["-occurred_at", "-id"], name="audit_time"),
            # "Which cases did model version X decide?" — AI events only.
            models.Index(
                fields=["actor_id", "actor_version", "-occurred_at", "-id"],
                condition=models.Q(actor_kind="ai"),
                name="audit_ai_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stream}#{self.seq} {self.action}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise PermissionError("Audit events are append-only; write a correcting event instead.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only; they cannot be deleted.")


class ChainSeal(AppendOnlyModel):
    """A periodic commitment to the heads of every stream written since the last seal."""

    created_at = models.DateTimeField(auto_now_add=True)
    last_event_id = models.BigIntegerField()
    streams = models.PositiveIntegerField()
    digest = models.CharField(max_length=64)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"seal {self.pk} up to event {self.last_event_id}"


# Written once as a proposal, then finalised once with the final call; nothing else.
FINAL_FIELDS = (
    "final_outcome",
    "decided_by_kind",
    "decided_by",
    "reviewer_reason",
    "overrode_ai",
    "finalised_at",
)


class DecisionRecordQuerySet(models.QuerySet["DecisionRecord"]):
    def update(self, **kwargs: object) -> int:
        """Only finalisation: final fields, finalised_at set, on records not yet final."""
        _check_finalisation(kwargs)
        return models.QuerySet.update(self.filter(finalised_at__isnull=True), **kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Decision records cannot be deleted.")


def _check_finalisation(values: dict[str, object]) -> None:
    extra = set(values) - set(FINAL_FIELDS)
    if extra:
        raise PermissionError(
            f"A decision record only changes once, to record its final call; "
            f"{', '.join(sorted(extra))} cannot change. Write a correcting event instead."
        )
    if values.get("finalised_at") is None:
        raise PermissionError("Finalising a decision record must set finalised_at.")


class DecisionRecord(models.Model):
    """Everything needed to reconstruct one decision (engine invariant 8).

    Created once (the proposal, or the whole record for an automatic decision) and
    finalised at most once with `finalise()`; PostgreSQL refuses anything else
    (migration 0003), and so does this model on SQLite.
    """

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

    objects = DecisionRecordQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["instance_id"], name="decision_instance"),
            models.Index(fields=["flow_id", "step_id", "-created_at"], name="decision_flow_step"),
            models.Index(fields=["business_key"], name="decision_business_key"),
        ]

    def __str__(self) -> str:
        return f"decision {self.pk} on {self.step_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding:
            super().save(*args, **kwargs)
            return
        fields = kwargs.get("update_fields")
        if not fields:
            raise PermissionError("Finalise a decision record with record.finalise(...).")
        values = {name: getattr(self, name) for name in fields}
        _check_finalisation(values)
        if not type(self).objects.filter(pk=self.pk).update(**values):
            raise PermissionError("This decision record is already final; record a correction.")

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Decision records cannot be deleted.")

    def finalise(
        self,
        *,
        final_outcome: str,
        decided_by_kind: str,
        decided_by: str,
        reviewer_reason: str = "",
        overrode_ai: bool | None = None,
        finalised_at: Any = None,
    ) -> None:
        """Record the final call, once. Raises PermissionError when already final."""
        if overrode_ai is None and self.proposed_outcome:
            overrode_ai = final_outcome != self.proposed_outcome
        self.final_outcome = final_outcome
        self.decided_by_kind = decided_by_kind
        self.decided_by = decided_by[:150]
        self.reviewer_reason = reviewer_reason
        self.overrode_ai = overrode_ai
        self.finalised_at = finalised_at or timezone.now()
        self.save(update_fields=list(FINAL_FIELDS))

    @property
    def is_final(self) -> bool:
        return self.finalised_at is not None


class VerificationRun(AppendOnlyModel):
    """The result of one walk over every chain (command, beat job or audit page)."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Scheduled check"
        COMMAND = "command", "Command line"
        PAGE = "page", "Audit page"

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    ok = models.BooleanField()
    checked = models.PositiveBigIntegerField()
    streams = models.PositiveBigIntegerField()
    summary = models.TextField()
    problems = models.JSONField(default=list, blank=True)
    requested_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"verification {self.pk}: {'ok' if self.ok else 'broken'}"

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()
