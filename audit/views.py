from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from audit.models import AuditEvent


def home(request: HttpRequest) -> HttpResponse:
    recent = AuditEvent.objects.order_by("-id")[:25]
    return TemplateResponse(request, "audit/home.html", {"events": recent})
