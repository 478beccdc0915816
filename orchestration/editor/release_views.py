"""Leaving the editor's draft: publish (with the change in words), new drafts, the YAML
tab, and test runs watched on the canvas."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from audit.chain import Actor
from orchestration import access, actions
from orchestration.definitions import DefinitionError
from orchestration.definitions.yaml_io import parse_yaml
from orchestration.editor import diff, lint, sample
from orchestration.editor.forms import PublishForm, TestRunForm, YamlForm
from orchestration.editor.views import (
    TEMPLATE,
    _trigger,
    conflict_message,
    draft_for_edit,
    save,
)
from orchestration.models import (
    ACTIVE_STEP_STATUSES,
    FlowVersion,
    InstanceStatus,
    StepRun,
    VersionStatus,
)

# Problems that mean "this is not a flow at all", as opposed to a flow with mistakes.
SCHEMA_CODES = {"schema", "yaml_invalid", "yaml_not_mapping"}


def _go(url: str) -> HttpResponse:
    response = HttpResponse(status=204)
    response["HX-Redirect"] = url
    return response


def _editor_url(version: FlowVersion, **query: Any) -> str:
    url = reverse("orchestration:editor_version", args=[version.flow.slug, version.number])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def last_published(version: FlowVersion) -> FlowVersion | None:
    return (
        version.flow.versions.filter(status=VersionStatus.PUBLISHED)
        .exclude(pk=version.pk)
        .order_by("-number")
        .first()
    ) or (version.flow.versions.filter(status=VersionStatus.RETIRED).order_by("-number").first())


def _problem_texts(exc: Exception) -> list[str]:
    return [str(p) for p in getattr(exc, "problems", [])] or [str(exc)]


# --- publish --------------------------------------------------------------------------


def editor_publish(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """GET: the change against the last published version and a note; POST: publish."""
    version = access.get_version(request.user, slug, number, access.PUBLISH)
    previous = last_published(version)
    changes = diff.describe(previous.definition if previous else None, version.definition)
    found = lint.problems(version.definition)
    context: dict[str, Any] = {
        "version": version,
        "flow": version.flow,
        "previous": previous,
        "changes": changes,
        "summary": diff.summary(changes),
        "error_count": sum(p.is_error for p in found),
        "form": PublishForm(request.POST or None),
    }
    if request.method != "POST":
        return TemplateResponse(request, f"{TEMPLATE}#publish-dialog", context)
    version = draft_for_edit(request, slug, number)
    if context["error_count"]:
        context["publish_error"] = "Fix the errors listed under Problems first."
        return TemplateResponse(request, f"{TEMPLATE}#publish-dialog", context, status=422)
    if not context["form"].is_valid():
        return TemplateResponse(request, f"{TEMPLATE}#publish-dialog", context, status=422)
    try:
        actions.publish_version(
            version, user=request.user, note=context["form"].cleaned_data["note"]
        )
    except (DefinitionError, actions.VersionLocked) as exc:  # lint errors, or a race
        context["publish_error"] = "It cannot be published: " + "; ".join(_problem_texts(exc))
        return TemplateResponse(request, f"{TEMPLATE}#publish-dialog", context, status=422)
    messages.success(request, f"v{version.number} is published. New cases start on it.")
    return _go(_editor_url(version))


@require_POST
def editor_new_draft(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = access.get_version(request.user, slug, number, access.EDIT)
    existing = version.flow.versions.filter(status=VersionStatus.DRAFT).first()
    if existing is not None:
        messages.info(request, f"There is already a draft (v{existing.number}); it is open now.")
        return _go(_editor_url(existing))
    draft = actions.new_draft_from(version, user=request.user)
    messages.success(
        request, f"Draft v{draft.number} created from v{number}. Changes save automatically."
    )
    return _go(_editor_url(draft))


# --- YAML ------------------------------------------------------------------------------


def _yaml_context(version: FlowVersion, request: HttpRequest, **extra: Any) -> dict[str, Any]:
    can_edit = version.status == VersionStatus.DRAFT and access.can(
        request.user, access.EDIT, version.flow
    )
    return {
        "version": version,
        "flow": version.flow,
        "yaml": actions.export_yaml(version),
        "can_edit": can_edit,
        **extra,
    }


def editor_yaml(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """GET: the YAML panel (?download=1: the file); POST: replace the draft with YAML."""
    if request.method != "POST":
        version = access.get_version(request.user, slug, number)
        if request.GET.get("download"):
            response = HttpResponse(
                actions.export_yaml(version), content_type="application/yaml; charset=utf-8"
            )
            filename = f"{version.flow.slug}-v{version.number}.yaml"
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        form = YamlForm(initial={"revision": version.revision})
        return TemplateResponse(
            request, f"{TEMPLATE}#yaml-panel", _yaml_context(version, request, form=form)
        )
    version = draft_for_edit(request, slug, number)
    form = YamlForm(request.POST, request.FILES)

    def refuse(problems: list[str], lint_only: bool = False) -> TemplateResponse:
        context = _yaml_context(
            version, request, form=form, yaml_problems=problems, lint_only=lint_only
        )
        return TemplateResponse(request, f"{TEMPLATE}#yaml-panel", context, status=422)

    if not form.is_valid():
        return refuse([])
    try:
        definition = parse_yaml(form.cleaned_data["yaml"])
    except DefinitionError as exc:  # not YAML, or not a mapping
        return refuse(_problem_texts(exc))
    if elsewhere := actions.other_flow_problem(definition, version.flow):
        return refuse([elsewhere.message])
    schema = [p for p in lint.problems(definition) if p.code in SCHEMA_CODES]
    if schema or not isinstance(definition.get("steps"), list):
        return refuse([p.message for p in schema] or ["This is not a flow: it has no steps."])
    errors = [p for p in lint.problems(definition) if p.is_error]
    if errors and not request.POST.get("accept_problems"):
        return refuse([p.message for p in errors], lint_only=True)
    try:
        save(version, definition, request.user, form.cleaned_data["revision"])
    except actions.DraftConflict:
        return refuse([conflict_message(version)])
    messages.success(request, "The draft now holds the uploaded flow.")
    return _go(_editor_url(version))


# --- test runs -------------------------------------------------------------------------


def editor_test_run(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """Start a case of the newest published version with sample input, then watch it."""
    from orchestration.engine import api as engine

    version = access.get_version(request.user, slug, number, access.OPERATE)
    target = (
        version.flow.versions.filter(status=VersionStatus.PUBLISHED).order_by("-number").first()
    )
    initial = {"input": sample.input_for(target), "business_key": "test-run"}
    form = TestRunForm(request.POST or None, initial=initial)
    context = {"version": version, "flow": version.flow, "target": target, "form": form}
    if request.method != "POST" or target is None:
        return TemplateResponse(request, f"{TEMPLATE}#test-run-dialog", context)
    if not form.is_valid():
        return TemplateResponse(request, f"{TEMPLATE}#test-run-dialog", context, status=422)
    try:
        instance = engine.start_instance(
            target,
            form.cleaned_data["input"],
            trigger="manual",
            actor=Actor.user(request.user),
            started_by=request.user,
            business_key=form.cleaned_data.get("business_key") or "test-run",
        )
    except engine.InputInvalid as exc:
        for problem in exc.problems:
            form.add_error("input", problem)
        return TemplateResponse(request, f"{TEMPLATE}#test-run-dialog", context, status=422)
    except engine.EngineError as exc:
        context["run_error"] = str(exc)
        return TemplateResponse(request, f"{TEMPLATE}#test-run-dialog", context, status=409)
    status_url = reverse("orchestration:editor_run_status", args=[slug, instance.pk])
    context["instance"] = instance
    response = TemplateResponse(request, f"{TEMPLATE}#test-run-started", context)
    return _trigger(response, "podium:watch-run", {"url": status_url})


@require_GET
def editor_run_status(request: HttpRequest, slug: str, instance_id: int) -> HttpResponse:
    """JSON for the canvas: each step's latest status in the instance."""
    instance = access.get_instance(request.user, instance_id)
    if instance.flow.slug != slug:
        return JsonResponse({"message": "No such case in this flow."}, status=404)
    runs = list(
        StepRun.objects.filter(instance=instance)
        .order_by("id")
        .values("step_id", "status", "attempt")
    )
    steps: dict[str, dict[str, Any]] = {}
    for run in runs:
        steps[run["step_id"]] = {"status": run["status"], "attempt": run["attempt"]}
    order = list(dict.fromkeys(r["step_id"] for r in runs))
    connections = {
        (c.get("from"), c.get("to"))
        for c in (instance.version.definition or {}).get("connections") or []
    }
    taken = [
        [a, b]
        for a in order
        for b in order
        if (a, b) in connections and order.index(b) > order.index(a)
    ]
    finished = instance.status not in (InstanceStatus.RUNNING, InstanceStatus.COMPENSATING)
    done = sum(1 for s in steps.values() if s["status"] not in ACTIVE_STEP_STATUSES)
    label = instance.get_status_display()
    summary = f"Test run #{instance.pk} on v{instance.version.number}: {label.lower()}" + (
        "" if finished else f" — {done} step{'s' if done != 1 else ''} done so far"
    )
    if instance.error and finished:
        summary += f". {instance.error[:200]}"
    return JsonResponse(
        {
            "id": instance.pk,
            "status": instance.status,
            "finished": finished,
            "summary": summary,
            "steps": steps,
            "taken": taken,
            "url": reverse("orchestration:instance_detail", args=[instance.pk]),
        }
    )
