from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


def flow_list(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "orchestration/flow_list.html", {"flows": []})


def dashboards(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "orchestration/dashboards.html", {})
