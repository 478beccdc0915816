"""The editor page, the canvas's autosave, and the properties panel."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import time_format
from django.views.decorators.http import require_GET, require_POST

from orchestration import access, actions, json_numbers
from orchestration.actions import DraftConflict, VersionLocked
from orchestration.editor import lint, palette, shape
from orchestration.editor.fields import check_expression
from orchestration.editor.forms import ConnectionForm, StepForm
from orchestration.models import FlowVersion, VersionStatus

TEMPLATE = "orchestration/editor.html"


# --- helpers ---------------------------------------------------------------------------


def editable(request: HttpRequest, version: FlowVersion) -> bool:
    return version.status == VersionStatus.DRAFT and access.can(
        request.user, access.EDIT, version.flow
    )


def draft_for_edit(request: HttpRequest, slug: str, number: int) -> FlowVersion:
    version = access.get_version(request.user, slug, number, access.EDIT)
    if version.status != VersionStatus.DRAFT:
        raise PermissionDenied(
            f"v{number} is {version.get_status_display().lower()}: published versions never "
            "change. Create a new draft from it to make changes."
        )
    return version


def urls_for(version: FlowVersion) -> dict[str, str]:
    args = [version.flow.slug, version.number]
    names = ("save", "step", "connection", "yaml", "publish", "test_run", "new_draft")
    urls = {name: reverse(f"orchestration:editor_{name}", args=args) for name in names}
    urls["check"] = reverse("orchestration:editor_check_expression")
    return urls


def lint_payload(
    request: HttpRequest, version: FlowVersion, definition: dict[str, Any]
) -> dict[str, Any]:
    """The problems of a definition, rendered for the panel and listed for the canvas."""
    context = lint.context(lint.problems(definition))
    html = render_to_string(
        f"{TEMPLATE}#problems", {"version": version, **context}, request=request
    )
    return {
        "problems_html": html,
        "problem_steps": context["problem_steps"],
        "has_errors": context["has_errors"],
    }


def saved_payload(
    request: HttpRequest, version: FlowVersion, with_elements: bool = False
) -> dict[str, Any]:
    payload = {"revision": version.revision, **lint_payload(request, version, version.definition)}
    if with_elements:
        payload["elements"] = shape.elements(version.definition)
    return payload


PUBLISHED_MEANWHILE = (
    "This draft was published meanwhile, so your last change was not saved. Open the flow "
    "to start a new draft."
)


def conflict_message(version: FlowVersion) -> str:
    """Why a save was refused: someone saved the draft first, or published it."""
    version.refresh_from_db(fields=["revision", "updated_at", "status"])
    if version.status != VersionStatus.DRAFT:
        return PUBLISHED_MEANWHILE
    when = time_format(timezone.localtime(version.updated_at), "H:i")
    return (
        f"Someone else saved this draft at {when}, after you opened it. Your last change "
        "was not saved; a copy is kept in this browser."
    )


def save(version: FlowVersion, definition: dict[str, Any], user: Any, revision: int) -> None:
    """Save a draft with the optimistic revision check. DraftConflict if someone saved
    or published it since the editor loaded it (conflict_message says which)."""
    try:
        actions.save_draft(version, definition, user=user, expected_revision=revision)
    except VersionLocked as exc:
        raise DraftConflict(version.revision) from exc


def _trigger(response: HttpResponse, event: str, detail: dict[str, Any]) -> HttpResponse:
    response["HX-Trigger"] = json.dumps({event: detail})
    return response


# --- the page --------------------------------------------------------------------------


@require_GET
def editor(request: HttpRequest, slug: str) -> HttpResponse:
    """Open the draft if there is one, else the newest published version."""
    flow = access.get_flow(request.user, slug)
    versions = list(flow.versions.order_by("-number"))
    chosen = (
        next((v for v in versions if v.status == VersionStatus.DRAFT), None)
        or next((v for v in versions if v.status == VersionStatus.PUBLISHED), None)
        or (versions[0] if versions else None)
    )
    if chosen is None:
        if not access.can(request.user, access.EDIT, flow):
            return redirect("orchestration:flow_detail", slug=slug)
        # A flow made without a version yet (through the API, or before first drafts).
        chosen = actions.first_draft(flow, user=request.user)
    return redirect("orchestration:editor_version", slug=slug, number=chosen.number)


@require_GET
def editor_version(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = access.get_version(request.user, slug, number)
    flow = version.flow
    can_edit = editable(request, version)
    definition = version.definition or {}
    found = lint.problems(definition)
    problems = lint.context(found)
    published = flow.versions.filter(status=VersionStatus.PUBLISHED).order_by("-number").first()
    draft = flow.versions.filter(status=VersionStatus.DRAFT).first()
    config = {
        "readOnly": not can_edit,
        "revision": version.revision,
        "versionId": version.pk,
        "hasPositions": shape.has_positions(definition),
        "urls": urls_for(version),
        "watchRunUrl": "",
    }
    watch = request.GET.get("run")
    if watch and watch.isdigit():
        config["watchRunUrl"] = reverse("orchestration:editor_run_status", args=[slug, int(watch)])
    context = {
        "flow": flow,
        "version": version,
        "draft": draft,
        "published": published,
        "can_edit": can_edit,
        "perms": access.permissions_on(request.user, flow),
        "palette": palette.grouped(),
        "elements": shape.elements(definition),
        "editor_config": config,
        "problems_payload": {
            "problem_steps": problems["problem_steps"],
            "has_errors": problems["has_errors"],
        },
        **problems,
    }
    return TemplateResponse(request, TEMPLATE, context)


# --- the canvas's autosave ---------------------------------------------------------------


@require_POST
def editor_save(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """The canvas sends its graph; merge, lint and save it, or say why not."""
    version = draft_for_edit(request, slug, number)
    try:
        body = json_numbers.loads(request.body or b"{}")
        revision = int(body["revision"])
        graph = body["graph"]
    except (ValueError, KeyError, TypeError):
        return JsonResponse(
            {"message": "The editor sent something Podium cannot read."}, status=400
        )
    if body.get("force"):
        version.refresh_from_db(fields=["revision"])
        revision = version.revision
    try:
        definition = shape.apply_graph(version.definition or {}, graph)
    except shape.ShapeError as exc:
        payload = {
            "message": exc.message,
            "step": exc.step,
            **saved_payload(request, version, True),
        }
        return JsonResponse(payload, status=400)
    try:
        save(version, definition, request.user, revision)
    except DraftConflict:
        return JsonResponse({"message": conflict_message(version)}, status=409)
    return JsonResponse(saved_payload(request, version))


# --- the properties panel ------------------------------------------------------------------


def _panel(
    request: HttpRequest, version: FlowVersion, fragment: str, status: int = 200, **context: Any
) -> TemplateResponse:
    context.update(
        {"version": version, "flow": version.flow, "can_edit": editable(request, version)}
    )
    return TemplateResponse(request, f"{TEMPLATE}#{fragment}", context, status=status)


def editor_step(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """GET: the properties of ?step=…; POST: save them (with the draft's revision)."""
    perm = access.EDIT if request.method == "POST" else access.VIEW
    version = access.get_version(request.user, slug, number, perm)
    step_id = request.GET.get("step") or request.POST.get("step", "")
    step = shape.step_by_id(version.definition or {}, step_id)
    if step is None:
        return _panel(request, version, "properties-empty")
    kind = palette.kind(step.get("kind", ""))
    found = [p for p in lint.problems(version.definition) if p.step_id == step_id]
    extra = {"step": step, "kind": kind, "step_problems": found}
    if request.method != "POST":
        form = StepForm(step=step, definition=version.definition)
        form.initial["revision"] = version.revision
        return _panel(request, version, "step-form", form=form, **extra)
    version = draft_for_edit(request, slug, number)
    form = StepForm(request.POST, step=step, definition=version.definition)
    if not form.is_valid():
        return _panel(request, version, "step-form", status=422, form=form, **extra)
    definition = shape.replace_step(version.definition, form.to_step())
    target = form.cleaned_data.get("connect_to")
    try:
        if target:
            definition = shape.add_connection(definition, step_id, target)
        save(version, definition, request.user, form.cleaned_data["revision"])
    except shape.ShapeError as exc:
        form.add_error("connect_to", exc.message)
        return _panel(request, version, "step-form", status=422, form=form, **extra)
    except DraftConflict:
        # The message first: it reloads the version's status, which the panel shows.
        message = conflict_message(version)
        response = _panel(
            request, version, "step-form", status=200, form=form, conflict=True, **extra
        )
        return _trigger(response, "podium:draft-conflict", {"message": message})
    step = shape.step_by_id(version.definition, step_id)
    form = StepForm(step=step, definition=version.definition)
    form.initial["revision"] = version.revision
    extra.update(
        step=step,
        step_problems=[p for p in lint.problems(version.definition) if p.step_id == step_id],
    )
    response = _panel(request, version, "step-form", form=form, saved=True, **extra)
    return _trigger(response, "podium:draft-saved", saved_payload(request, version, True))


def editor_connection(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """GET: a connection's condition (?source=…&target=…); POST: save it."""
    perm = access.EDIT if request.method == "POST" else access.VIEW
    version = access.get_version(request.user, slug, number, perm)
    params = request.POST if request.method == "POST" else request.GET
    source, target = params.get("source", ""), params.get("target", "")
    connection = next(
        (
            c
            for c in shape.connections(version.definition or {})
            if (c.get("from"), c.get("to")) == (source, target)
        ),
        None,
    )
    if connection is None:
        return _panel(request, version, "properties-empty")
    steps = {s["id"]: s for s in shape.steps(version.definition)}
    position, count = shape.order_of(version.definition, source, target)
    extra = {
        "connection": connection,
        "source": steps.get(source),
        "target": steps.get(target),
        "position": position,
        "count": count,
    }
    if request.method != "POST":
        form = ConnectionForm(connection=connection)
        form.initial["revision"] = version.revision
        return _panel(request, version, "connection-form", form=form, **extra)
    version = draft_for_edit(request, slug, number)
    form = ConnectionForm(request.POST, connection=connection)
    if not form.is_valid():
        return _panel(request, version, "connection-form", status=422, form=form, **extra)
    definition = shape.replace_connection(version.definition, form.to_connection())
    move = {"earlier": -1, "later": 1}.get(request.POST.get("move", ""), 0)
    if move:
        definition = shape.move_connection(definition, source, target, move)
    try:
        save(version, definition, request.user, form.cleaned_data["revision"])
    except DraftConflict:
        # The message first: it reloads the version's status, which the panel shows.
        message = conflict_message(version)
        response = _panel(request, version, "connection-form", form=form, conflict=True, **extra)
        return _trigger(response, "podium:draft-conflict", {"message": message})
    form = ConnectionForm(connection=form.to_connection())
    form.initial["revision"] = version.revision
    extra["position"], extra["count"] = shape.order_of(version.definition, source, target)
    response = _panel(request, version, "connection-form", form=form, saved=True, **extra)
    return _trigger(response, "podium:draft-saved", saved_payload(request, version, True))


@require_POST
def editor_check_expression(request: HttpRequest) -> HttpResponse:
    """Live syntax check of the expression field that triggered the request."""
    name = request.headers.get("HX-Trigger-Name") or ""
    text = request.POST.get(name, "") if name else ""
    error = check_expression(text) if text.strip() else ""
    context = {"text": text, "error": error}
    return TemplateResponse(request, f"{TEMPLATE}#expression-check", context)
