"""The webhook API: start a case of one flow, read a case's status. Bearer tokens only."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from orchestration import json_numbers, tokens, triggers
from orchestration.engine import api as engine
from orchestration.engine.starting import as_declared
from orchestration.models import Flow, FlowInstance, StepRun, VersionStatus
from orchestration.templatetags.flow_screens import mask

WRONG_TOKEN = (
    "Missing or wrong API token. Send `Authorization: Bearer <token>` with a token "
    "created on this flow's page."
)


View = Callable[..., JsonResponse]


def error(message: str, status: int, problems: list[str] | None = None) -> JsonResponse:
    body: dict[str, Any] = {"error": message, "problems": problems or []}
    response = JsonResponse(body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="podium"'
    return response


def only(method: str) -> Callable[[View], View]:
    """Like Django's require_http_methods, but the refusal says what to do, as JSON."""

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
            if request.method != method:
                refusal = error(f"Use {method} here, not {request.method}.", 405)
                refusal["Allow"] = method
                return refusal
            return view(request, *args, **kwargs)

        return checked

    return decorate


def _read_json(request: HttpRequest) -> tuple[Any, JsonResponse | None]:
    limit = settings.PODIUM_WEBHOOK_MAX_BYTES
    too_big = error(f"The body is larger than the limit of {limit} bytes.", 413)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None, too_big
    raw = request.read(limit + 1)
    if len(raw) > limit:
        return None, too_big
    try:
        body = json_numbers.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, error("The body is not UTF-8 text.", 400)
    except json_numbers.NotFiniteError as exc:  # before its parent, JSONDecodeError
        return None, error(f"The body is not valid JSON: {exc}.", 400, [str(exc)])
    except json.JSONDecodeError as exc:
        problem = f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
        return None, error(f"The body is not valid JSON: {problem}.", 400, [problem])
    if not isinstance(body, dict):
        return None, error("The body must be a JSON object with the flow's input fields.", 400)
    return body, None


def _step_json(run: StepRun) -> dict[str, Any]:
    step = {
        "step": run.step_id,
        "attempt": run.attempt,
        "status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "error": run.error,
    }
    if run.kind == "subflow":
        step["child_case"] = run.state.get("child_instance")
    return step


def instance_json(instance: FlowInstance) -> dict[str, Any]:
    masked = instance.flow.masked_fields or []
    steps = [_step_json(run) for run in instance.step_runs.order_by("id")]
    parent = (
        StepRun.objects.filter(pk=instance.parent_step_run_id)
        .values_list("instance_id", flat=True)
        .first()
        if instance.parent_step_run_id
        else None
    )
    return {
        "id": instance.pk,
        "flow": instance.flow.slug,
        "version": instance.version.number,
        "status": instance.status,
        "ended": instance.has_ended,
        "business_key": instance.business_key,
        "trigger": instance.trigger,
        "created_at": instance.created_at,
        "finished_at": instance.finished_at,
        "stuck_since": instance.stuck_since,
        "error": instance.error,
        "parent_case": parent,
        "data": mask(instance.data, masked),
        "steps": steps,
        "status_url": reverse("orchestration:api_instance", args=[instance.pk]),
    }


@csrf_exempt
@login_not_required
@only("POST")
def start(request: HttpRequest, slug: str) -> JsonResponse:
    flow = Flow.objects.filter(slug=slug).first()
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    token = tokens.token_for_request(flow.pk, authorization) if flow else None
    if token is None:
        return error(WRONG_TOKEN, 401)
    body, problem = _read_json(request)
    if problem is not None:
        return problem
    key, problem = _header(request, "Idempotency-Key")
    if problem is not None:
        return problem
    business_key, problem = _header(request, "X-Business-Key")
    if problem is not None:
        return problem
    tokens.mark_used(token)
    if key is not None:
        earlier = FlowInstance.objects.filter(flow=flow, idempotency_key=key).first()
        if earlier is not None:
            return _replay(earlier, body)
    version = flow.versions.filter(status=VersionStatus.PUBLISHED).order_by("-number").first()
    if version is None:
        return error(
            "This flow has no published version, so it cannot start cases. "
            "Publish a version of it first (from a retired one, make a new draft and publish "
            "that).",
            409,
        )
    if not triggers.accepts(version, triggers.BY_WEBHOOK):
        return error(triggers.refusal(triggers.BY_WEBHOOK), 403)
    try:
        instance = engine.start_instance(
            version,
            body,
            trigger="webhook",
            actor=tokens.actor_for(token),
            business_key=business_key or "",
            idempotency_key=key,
        )
    except engine.InputInvalid as exc:
        return error("The input does not match the flow's input schema.", 400, exc.problems)
    except engine.NotAllowedNow as exc:
        return error(str(exc), 409)
    if getattr(instance, "replayed", False):  # a concurrent request with the key won
        return _replay(instance, body)
    return JsonResponse(instance_json(instance), status=201)


def _header(request: HttpRequest, name: str) -> tuple[str | None, JsonResponse | None]:
    """A header's text (None if not sent), or the error to answer with. HTTP carries
    header values as bytes, which the server hands on as Latin-1; clients send UTF-8."""
    value = request.headers.get(name, "").strip()
    try:
        value = value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None, error(f"The {name} header is not UTF-8 text.", 400)
    if len(value) > 200:
        return None, error(f"The {name} header is longer than 200 characters.", 400)
    return value or None, None


def _replay(earlier: FlowInstance, body: dict[str, Any]) -> JsonResponse:
    """The case a repeated Idempotency-Key started, if the body is the same too: a
    different body under a used key is a client's mistake, not a retry. Compared as
    JSON text, where true and 1 differ (in Python they are equal)."""
    schema = earlier.version.definition.get("input_schema")
    if _as_json(as_declared(schema, earlier.input)) != _as_json(as_declared(schema, body)):
        return error(
            f"This Idempotency-Key was already used to start case #{earlier.pk} with a "
            "different body. Send a new key to start a new case, or the same body to get "
            "that case.",
            422,
        )
    return JsonResponse(instance_json(earlier), status=200)


def _as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@csrf_exempt
@login_not_required
@only("GET")
def instance_status(request: HttpRequest, instance_id: int) -> JsonResponse:
    token = tokens.token_for_request(None, request.META.get("HTTP_AUTHORIZATION", ""))
    if token is None:
        return error(WRONG_TOKEN, 401)
    instance = (
        FlowInstance.objects.select_related("flow", "version")
        .filter(pk=instance_id, flow_id=token.flow_id)
        .first()
    )
    if instance is None:
        return error("No such case for this token's flow.", 404)
    tokens.mark_used(token)
    return JsonResponse(instance_json(instance))


@csrf_exempt
@login_not_required
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other address under /api/: a client gets JSON it can read, not a web page."""
    return error(
        f"There is no {request.method} {request.path} in Podium's API. It has POST "
        "/api/flows/<slug>/start and GET /api/instances/<id> (without a trailing slash).",
        404,
    )
