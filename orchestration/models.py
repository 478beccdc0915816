"""Flows, their versions, and the running state the engine keeps in the database."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q

from orchestration.fields import DocumentField


class Flow(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    owner_team = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_flows"
    )
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_flows",
    )
    exception_owner_team = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="exception_flows"
    )
    exception_owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="exception_flows",
    )
    masked_fields = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("publish_flow", "Can publish versions of the flow"),
            ("operate_flow", "Can start, cancel, retry and skip in the flow's instances"),
        ]

    def __str__(self) -> str:
        return self.name


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


class FlowVersion(models.Model):
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=VersionStatus.choices, default="draft")
    definition = DocumentField()
    checksum = models.CharField(max_length=64, blank=True)
    revision = models.PositiveIntegerField(default=1)
    change_note = models.TextField(blank=True)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["flow", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "number"], name="flow_version_number"),
            models.UniqueConstraint(
                fields=["flow"], condition=Q(status="draft"), name="one_draft_per_flow"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.flow} v{self.number} ({self.get_status_display()})"


class InstanceStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    COMPENSATING = "compensating", "Rolling back"
    COMPENSATED = "compensated", "Rolled back"


class Trigger(models.TextChoices):
    MANUAL = "manual", "Started by hand"
    WEBHOOK = "webhook", "Webhook"
    SCHEDULE = "schedule", "Schedule"
    EVENT = "event", "Event from another flow"
    SUBFLOW = "subflow", "Started by a parent flow"


class FlowInstance(models.Model):
    # Indexed by instance_flow_recent, which starts with it (a second index would only
    # cost every case write).
    flow = models.ForeignKey(
        Flow, on_delete=models.PROTECT, related_name="instances", db_index=False
    )
    version = models.ForeignKey(FlowVersion, on_delete=models.PROTECT, related_name="instances")
    status = models.CharField(max_length=12, choices=InstanceStatus.choices, default="running")
    business_key = models.CharField(max_length=200, blank=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default="manual")
    input = DocumentField(default=dict)
    data = DocumentField(default=dict)
    # The last output of each step, by step id: what expressions read as `steps.<id>`.
    outputs = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    parent_step_run = models.ForeignKey(
        "StepRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="child_instances"
    )
    # NULL, not "", for cases started without a key: the unique constraint skips NULLs.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    stuck_since = models.DateTimeField(null=True, blank=True)
    # Head of this instance's audit chain, kept here because every transition already
    # holds this row's lock (see audit/chain.py).
    audit_seq = models.PositiveBigIntegerField(default=0)
    audit_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="instance_idempotency_key",
            )
        ]
        indexes = [
            models.Index(fields=["flow", "-id"], name="instance_flow_recent"),
            models.Index(fields=["status", "-id"], name="instance_status_recent"),
            # The cases list: a status among the flows a user may see, newest first.
            models.Index(fields=["flow", "status", "-id"], name="instance_flow_status_recent"),
            models.Index(fields=["business_key"], name="instance_business_key"),
            models.Index(fields=["-created_at"], name="instance_created"),
            # The few cases the sweep flagged as stuck, for the cases list's filter.
            models.Index(
                fields=["-id"], condition=Q(stuck_since__isnull=False), name="instance_stuck"
            ),
            # The few failed cases that wait for an operator (most failed cases have
            # ended at a failure end), for the flows list and the cases list's filter.
            models.Index(
                fields=["flow", "-id"],
                condition=Q(status="failed", finished_at__isnull=True),
                name="instance_awaiting_operator",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.flow} #{self.pk}" + (f" ({self.business_key})" if self.business_key else "")

    @property
    def audit_stream(self) -> str:
        return f"instance:{self.pk}"

    @property
    def has_ended(self) -> bool:
        """Whether the case is over. A failed case has not, while an operator may still
        put it right; one that reached an end step with `result: failure` has."""
        return self.finished_at is not None


class StepStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting"
    RETRY_WAIT = "retry_wait", "Waiting to retry"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"
    COMPENSATED = "compensated", "Undone"


ACTIVE_STEP_STATUSES = ("queued", "running", "waiting", "retry_wait")


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class StepRun(models.Model):
    # Indexed by steprun_instance, which starts with it (a second index would only cost
    # every step's writes).
    instance = models.ForeignKey(
        FlowInstance, on_delete=models.CASCADE, related_name="step_runs", db_index=False
    )
    step_id = models.CharField(max_length=80)
    kind = models.CharField(max_length=32)
    attempt = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=12, choices=StepStatus.choices, default="queued")
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(default=dict, blank=True)
    state = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    error_kind = models.CharField(max_length=20, blank=True)
    traceback = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    # Shared by every attempt of one visit to a step, so the outside sees retries as
    # the same request.
    idempotency_key = models.CharField(max_length=64, default=new_idempotency_key)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The deadline of the current state: lease end while running, retry time,
    # timer or wait deadline. The sweep acts on every active run past it.
    due_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    actor = models.CharField(max_length=150, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["instance", "id"], name="steprun_instance"),
            models.Index(
                fields=["due_at"],
                condition=Q(status__in=ACTIVE_STEP_STATUSES),
                name="steprun_active_due",
            ),
            models.Index(
                fields=["-created_at"], condition=Q(status="failed"), name="steprun_failures"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.step_id} (attempt {self.attempt}, {self.status})"


class ApiToken(models.Model):
    """A bearer token that may start one flow through the webhook API. Stored hashed."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class StoredEvent(models.Model):
    """A business event emitted by a flow, kept so a wait that starts later still sees it."""

    name = models.CharField(max_length=120)
    key = models.CharField(max_length=200)
    payload = models.JSONField(default=dict, blank=True)
    source_instance = models.ForeignKey(
        FlowInstance, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    emitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["name", "key", "-emitted_at"], name="event_name_key")]

    def __str__(self) -> str:
        return f"{self.name} [{self.key}]"


class CircuitState(models.Model):
    """Consecutive failures per connector target; open until `open_until`."""

    target = models.CharField(max_length=255, primary_key=True)
    failures = models.PositiveIntegerField(default=0)
    open_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.target


class AllowedTarget(models.Model):
    """A private or loopback host an administrator allows HTTP steps to call."""

    host = models.CharField(max_length=255, unique=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.host
