"""Human tasks: the work the engine hands to people, and its SLA state."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLAIMED = "claimed", "Claimed"
    DONE = "done", "Done"
    ESCALATED = "escalated", "Escalated"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


OPEN_TASK_STATUSES = ("open", "claimed", "escalated")


class TaskKind(models.TextChoices):
    APPROVAL = "approval", "Approval"
    DECISION_REVIEW = "review", "Decision review"
    QA_SAMPLE = "qa", "Quality check"


class Priority(models.IntegerChoices):
    LOW = 1, "Low"
    NORMAL = 2, "Normal"
    HIGH = 3, "High"
    URGENT = 4, "Urgent"


class HumanTask(models.Model):
    step_run = models.ForeignKey(
        "orchestration.StepRun", on_delete=models.CASCADE, related_name="human_tasks"
    )
    instance = models.ForeignKey(
        "orchestration.FlowInstance", on_delete=models.CASCADE, related_name="human_tasks"
    )
    flow = models.ForeignKey("orchestration.Flow", on_delete=models.CASCADE, related_name="+")
    step_id = models.CharField(max_length=80, blank=True)
    step_label = models.CharField(max_length=200, blank=True)
    business_key = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=10, choices=TaskKind.choices, default="approval")
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default="open")
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    assignee_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tasks",
    )
    assignee_team = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="queued_tasks"
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="claimed_tasks",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    delegated_from = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcomes = models.JSONField(default=list)
    context = models.JSONField(default=dict, blank=True)
    proposal = models.JSONField(default=dict, blank=True)
    # The step's settings the inbox needs later (request changes, bulk, escalation, expiry).
    config = models.JSONField(default=dict, blank=True)
    decision_record_id = models.BigIntegerField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    # How many stages of the step's escalation chain have run (see approvals/escalation.py).
    escalation_stage = models.PositiveSmallIntegerField(default=0)
    ai_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField(null=True, blank=True)
    next_escalation_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=80, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["assignee_user", "due_at", "id"],
                condition=Q(status__in=OPEN_TASK_STATUSES),
                name="task_open_user",
            ),
            models.Index(
                fields=["assignee_team", "due_at", "id"],
                condition=Q(status__in=OPEN_TASK_STATUSES),
                name="task_open_team",
            ),
            models.Index(
                fields=["next_escalation_at"],
                condition=Q(status__in=OPEN_TASK_STATUSES),
                name="task_open_escalation",
            ),
            models.Index(fields=["step_run"], name="task_step_run"),
            models.Index(
                fields=["flow", "step_id", "-decided_at"],
                condition=Q(status="done"),
                name="task_done_step",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TASK_STATUSES

    @property
    def allows_request_changes(self) -> bool:
        return bool(self.config.get("allow_request_changes"))

    @property
    def allows_bulk(self) -> bool:
        return bool(self.config.get("allow_bulk"))

    @property
    def cancellation_note(self) -> str:
        """Why this task was cancelled, as the sentences people read on it."""
        why = self.reason.strip().rstrip(".") or "Its case was cancelled"
        return f"This task was cancelled. {why}."

    @property
    def escalation_state(self) -> str:
        if self.status == TaskStatus.EXPIRED:
            return "Past the final deadline"
        if self.escalation_level:
            return f"Escalated to level {self.escalation_level}"
        return "Reminder sent" if self.escalation_stage else "On time"

    @property
    def ai_outcome(self) -> str:
        return str(self.proposal.get("outcome") or "")


class Delegation(models.Model):
    """Out of office: `user`'s tasks go to `delegate` between the two times."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations"
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_received"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "ends_at"], name="delegation_user")]

    def __str__(self) -> str:
        return f"{self.user} → {self.delegate}"


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    task = models.ForeignKey(
        HumanTask, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["user", "-id"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            )
        ]

    def __str__(self) -> str:
        return self.text


class TeamCalendar(models.Model):
    """A team's working hours and holidays, for SLAs counted in business hours."""

    team = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="calendar")
    timezone = models.CharField(max_length=64, default="UTC")
    day_starts = models.TimeField(default="09:00")
    day_ends = models.TimeField(default="17:00")
    working_days = models.JSONField(default=list)  # 0 = Monday … 6 = Sunday
    holidays = models.JSONField(default=list, blank=True)  # ISO dates, "2026-12-25"

    def __str__(self) -> str:
        return f"calendar of {self.team}"
