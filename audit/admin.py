from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

from audit import events
from audit.models import AuditEvent, DecisionRecord, VerificationRun


class AuditedModelAdmin(admin.ModelAdmin):
    """Every change made through the Django admin becomes an audit event."""

    def log_addition(self, request: Any, obj: Any, message: Any) -> Any:
        events.admin_changed(request.user, "added", obj, str(message))
        return super().log_addition(request, obj, message)

    def log_change(self, request: Any, obj: Any, message: Any) -> Any:
        events.admin_changed(request.user, "changed", obj, str(message))
        return super().log_change(request, obj, message)

    def log_deletions(self, request: Any, queryset: Any) -> Any:
        for obj in queryset:
            events.admin_changed(request.user, "deleted", obj)
        return super().log_deletions(request, queryset)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit records are append-only: the admin shows them and changes nothing."""

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "stream", "seq", "action", "actor_label", "object_type")
    list_filter = ("action", "actor_kind")
    search_fields = ("business_key", "stream", "action")


@admin.register(DecisionRecord)
class DecisionRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "step_id",
        "business_key",
        "proposed_outcome",
        "final_outcome",
        "decided_by",
        "overrode_ai",
    )
    search_fields = ("business_key", "step_id")


@admin.register(VerificationRun)
class VerificationRunAdmin(ReadOnlyAdmin):
    list_display = ("finished_at", "trigger", "ok", "checked", "summary")


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(AuditedModelAdmin, UserAdmin):
    pass


@admin.register(Group)
class AuditedGroupAdmin(AuditedModelAdmin, GroupAdmin):
    pass
