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
    outcomes = models.JSONField(default=list)
    context = models.JSONField(default=dict, blank=True)
    proposal = models.JSONField(default=dict, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
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
                fields=["assignee_user", "due_at"],
                condition=Q(status__in=OPEN_TASK_STATUSES),
                name="task_open_user",
            ),
            models.Index(
                fields=["assignee_team", "due_at"],
                condition=Q(status__in=OPEN_TASK_STATUSES),
                name="task_open_team",
            ),
            models.Index(
                fields=["next_escalation_at"],
                condition=Q(status__in=OPEN_TASK_STATUSES),
                name="task_open_escalation",
            ),
        ]

    def __str__(self) -> str:
        return self.title
