from django.contrib import admin
from django.db import models

from audit.admin import AuditedModelAdmin
from orchestration.decisions.models import LlmEndpoint, ModelVersion


@admin.register(LlmEndpoint)
class LlmEndpointAdmin(AuditedModelAdmin):
    list_display = ("name", "base_url", "model", "api_key_env", "timeout_seconds")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("flow_id", "step_id", "number", "algorithm", "trained_on", "created_at")
    exclude = ("blob",)
    readonly_fields = ("metrics", "classes", "fields")
