from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template import loader
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.views import defaults
from django.views.decorators.http import require_POST

from audit.events import admin_changed
from console.health import current_health
from console.queues import queue_lengths, worker_names
from orchestration import access
from orchestration.attention import needing_attention
from orchestration.connectors import circuit
from orchestration.forms import AllowedTargetForm
from orchestration.models import AllowedTarget, ApiToken, Flow

STAFF_ONLY = (
    "The admin console is for administrators. Ask one of them if something here needs changing."
)


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied(STAFF_ONLY)
        return view(request, *args, **kwargs)

    return wrapper


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400 page, except that a form too large to read says so (413)."""
    if isinstance(exception, RequestDataTooBig):
        limit = filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE).replace("\xa0", " ")
        return HttpResponse(loader.render_to_string("413.html", {"limit": limit}), status=413)
    return defaults.bad_request(request, exception)


@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    health = current_health()
    return JsonResponse(health.as_dict(), status=200 if health.ok else 503)


def home(request: HttpRequest) -> HttpResponse:
    context = {"attention": needing_attention(request.user)}
    return TemplateResponse(request, "console/home_overview.html", context)


def console_home(request: HttpRequest) -> HttpResponse:
    context = {
        "health": current_health(),
        "user_count": User.objects.filter(is_active=True).count(),
        "team_count": Group.objects.count(),
    }
    if request.user.is_staff:
        context.update(
            {
                "flow_count": Flow.objects.count(),
                "token_count": ApiToken.objects.filter(revoked_at__isnull=True).count(),
                "allowed_count": AllowedTarget.objects.count(),
            }
        )
    return TemplateResponse(request, "console/console.html", context)


@staff_required
def people(request: HttpRequest) -> HttpResponse:
    teams = Group.objects.order_by("name").prefetch_related(
        Prefetch("user_set", queryset=User.objects.order_by("username"))
    )
    users = (
        User.objects.order_by("-is_active", "username")
        .prefetch_related(Prefetch("groups", queryset=Group.objects.order_by("name")))
        .annotate(team_count=Count("groups"))
    )
    context = {"teams": teams, "users": users, "nav_section": "people"}
    return TemplateResponse(request, "console/people.html", context)


@staff_required
def permissions(request: HttpRequest) -> HttpResponse:
    flows = list(Flow.objects.select_related("owner_team", "owner_user").order_by("name"))
    for flow in flows:
        flow.holders = access.holders(flow)
    context = {"flows": flows, "permission_labels": access.PERMISSION_LABELS}
    return TemplateResponse(request, "console/permissions.html", context)


@staff_required
def tokens(request: HttpRequest) -> HttpResponse:
    rows = ApiToken.objects.select_related("flow", "created_by").order_by(
        "revoked_at", "flow__name", "-created_at"
    )
    context = {"tokens": rows, "live": rows.filter(revoked_at__isnull=True).count()}
    return TemplateResponse(request, "console/tokens.html", context)


@staff_required
def allow_list(request: HttpRequest) -> HttpResponse:
    form = AllowedTargetForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        host = form.cleaned_data["host"]
        if AllowedTarget.objects.filter(host=host).exists():
            form.add_error("host", f"{host} is already on the list.")
            status = 409
        else:
            target = AllowedTarget.objects.create(
                host=host, note=form.cleaned_data["note"], created_by=request.user
            )
            admin_changed(request.user, "added", target, f"HTTP steps may call {host}")
            messages.success(request, f"HTTP steps may now call {host}.")
            return redirect("console:allow_list")
    else:
        status = 422 if form.errors else 200
    context = {
        "form": form,
        "targets": AllowedTarget.objects.select_related("created_by").order_by("host"),
    }
    return TemplateResponse(request, "console/allow_list.html", context, status=status)


@staff_required
@require_POST
def allow_list_remove(request: HttpRequest, target_id: int) -> HttpResponse:
    target = get_object_or_404(AllowedTarget, pk=target_id)
    admin_changed(request.user, "deleted", target, f"HTTP steps may no longer call {target.host}")
    target.delete()
    messages.success(request, f"{target.host} removed: HTTP steps can no longer call it.")
    return redirect("console:allow_list")


@staff_required
def workers(request: HttpRequest) -> HttpResponse:
    health = current_health(ping_workers=False)
    names = worker_names() if health.broker else []
    queues = queue_lengths() if health.broker else []
    context = {
        "health": health,
        "workers": names,
        "queues": queues,
        "targets": circuit.troubled_targets(),
        "pause_after": settings.PODIUM_CIRCUIT_FAILURES,
        "cool_down": settings.PODIUM_CIRCUIT_COOL_DOWN_SECONDS,
    }
    if request.htmx:
        return TemplateResponse(request, "console/workers.html#status", context)
    return TemplateResponse(request, "console/workers.html", context)


@login_not_required
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    response = TemplateResponse(request, "csrf_failure.html", {"reason": reason}, status=403)
    return response
