from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


def inbox(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "approvals/inbox.html", {"tasks": []})


def escalations(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "approvals/escalations.html", {})
