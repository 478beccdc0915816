from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import Group, User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse

from console.health import current_health


@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    health = current_health()
    return JsonResponse(health.as_dict(), status=200 if health.ok else 503)


def home(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "console/home_overview.html", {})


def console_home(request: HttpRequest) -> HttpResponse:
    context = {
        "health": current_health(),
        "user_count": User.objects.filter(is_active=True).count(),
        "team_count": Group.objects.count(),
    }
    return TemplateResponse(request, "console/console.html", context)


@login_not_required
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    response = TemplateResponse(request, "csrf_failure.html", {"reason": reason}, status=403)
    return response
