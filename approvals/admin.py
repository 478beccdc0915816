from django.contrib import admin

from approvals.models import Delegation, HumanTask, TeamCalendar
from audit.admin import AuditedModelAdmin


@admin.register(TeamCalendar)
class TeamCalendarAdmin(AuditedModelAdmin):
    list_display = ("team", "timezone", "day_starts", "day_ends", "working_days")


@admin.register(Delegation)
class DelegationAdmin(AuditedModelAdmin):
    list_display = ("user", "delegate", "starts_at", "ends_at", "ended_at")
    readonly_fields = ("created_at",)


@admin.register(HumanTask)
class HumanTaskAdmin(admin.ModelAdmin):
    """Read-only: tasks change through the inbox, never by hand."""

    list_display = ("title", "status", "assignee_team", "assignee_user", "due_at")
    list_filter = ("status", "kind")
    search_fields = ("business_key", "title")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
