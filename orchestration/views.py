"""Flow screens: the list, one flow's page (versions, start, access, tokens)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from audit.access import scope_for
from audit.chain import Actor
from orchestration import access, attention, triggers
from orchestration.current_steps import with_current_steps
from orchestration.definitions.lint import validate
from orchestration.engine import api as engine
from orchestration.engine.schedules import live_version
from orchestration.forms import (
    GrantForm,
    ImportYamlForm,
    NewFlowForm,
    NoteForm,
    OwnershipForm,
    StartForm,
    TokenForm,
    input_schema_of,
)
from orchestration.models import Flow, FlowInstance, FlowVersion, InstanceStatus, VersionStatus


def render(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    fragment: str | None = None,
    status: int = 200,
) -> TemplateResponse:
    """The page, or only its fragment when htmx asked for it."""
    name = f"{template}#{fragment}" if fragment and request.htmx else template
    return TemplateResponse(request, name, context, status=status)


def go(request: HttpRequest, url: str) -> HttpResponse:
    """Redirect; htmx follows with a full page load."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _posted(request: HttpRequest) -> Any:
    """The POST data of a POST (even an empty one), else None for an unbound form."""
    return request.POST if request.method == "POST" else None


def problems_of(exc: Exception) -> list[str] | None:
    """The list of problems an action's error carries (import, publish), or None."""
    problems = getattr(exc, "problems", None)
    if problems is None:
        return None
    return [_problem_text(p) for p in problems]


def _problem_text(problem: Any) -> str:
    if isinstance(problem, str):
        return problem
    message = getattr(problem, "message", None) or str(problem)
    # Named by its step, unless the message names it already ("Step 'pay' has …"); a
    # field path ("flow.slug", "config.url") would mean nothing to the reader.
    step = getattr(problem, "step_id", None)
    text = f"{step}: {message}" if step and f"'{step}'" not in message else message
    return text if getattr(problem, "is_error", True) else f"Warning — {text}"


# --- Flows list ------------------------------------------------------------------------


def flow_list(request: HttpRequest) -> HttpResponse:
    flows = list(access.flows_for(request.user).select_related("owner_team", "owner_user"))
    ids = [flow.pk for flow in flows]
    counts: dict[tuple[int, str], int] = {}
    at_work = Q(status__in=(InstanceStatus.RUNNING, InstanceStatus.COMPENSATING))
    rows = (
        FlowInstance.objects.filter(at_work | attention.AWAITING_OPERATOR, flow_id__in=ids)
        .values_list("flow_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for flow_id, status, n in rows:
        counts[(flow_id, status)] = n
    published: dict[int, FlowVersion] = {}
    versions = FlowVersion.objects.filter(flow_id__in=ids, status=VersionStatus.PUBLISHED)
    for version in versions.select_related("published_by").order_by("flow_id", "-number"):
        published.setdefault(version.flow_id, version)
    for flow in flows:
        flow.published = published.get(flow.pk)
        flow.running = counts.get((flow.pk, InstanceStatus.RUNNING), 0)
        # Still at work too, and shown with its own link (the running filter has not them).
        flow.rolling_back = counts.get((flow.pk, InstanceStatus.COMPENSATING), 0)
        flow.failed = counts.get((flow.pk, InstanceStatus.FAILED), 0)
    context = {"flows": flows, "can_create": access.may_create_flows(request.user)}
    return TemplateResponse(request, "orchestration/flow_list.html", context)


def flow_create(request: HttpRequest) -> HttpResponse:
    form = NewFlowForm(_posted(request), user=request.user)
    if request.method == "POST" and form.is_valid():
        from orchestration import actions

        data = form.cleaned_data
        flow = actions.create_flow(
            data["name"],
            owner_team=data["owner_team"],
            exception_owner_team=data["exception_owner_team"],
            description=data["description"],
            created_by=request.user,
        )
        actions.first_draft(flow, user=request.user)
        messages.success(
            request,
            f"Flow “{flow.name}” created, with a first draft: draw its steps in the editor.",
        )
        return go(request, reverse("orchestration:flow_detail", args=[flow.slug]))
    status = 422 if form.errors else 200
    return render(request, "orchestration/flow_new.html", {"form": form}, status=status)


def _draft_words(version: FlowVersion) -> str:
    """'draft v3', or 'draft v3, in place of what that draft held' when the import
    replaced a draft someone had already saved (a flow has one draft at a time)."""
    replaced = version.revision > 1
    return f"draft v{version.number}" + (", in place of what that draft held" if replaced else "")


def _warnings_note(version: FlowVersion) -> str:
    """' It has 2 warnings: the editor lists them.' (or nothing): what the lint found
    that does not stop a flow, said where it was imported or published."""
    warnings = len(validate(version.definition))
    if not warnings:
        return ""
    return f" It has {warnings} warning{'s' if warnings != 1 else ''}: the editor lists them."


def flow_import(request: HttpRequest) -> HttpResponse:
    """Import YAML as a new flow; every problem is listed and nothing is stored."""
    form = ImportYamlForm(_posted(request), request.FILES or None)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        from orchestration import actions

        try:
            version = actions.import_yaml(form.cleaned_data["yaml"], user=request.user)
        except Exception as exc:
            problems = problems_of(exc) or []
            if not problems:
                raise
        else:
            messages.success(
                request,
                f"Imported “{version.flow.name}” as {_draft_words(version)}."
                + _warnings_note(version),
            )
            return go(request, reverse("orchestration:flow_detail", args=[version.flow.slug]))
    status = 422 if form.errors or problems else 200
    context = {"form": form, "problems": problems}
    return render(request, "orchestration/flow_import.html", context, status=status)


# --- One flow --------------------------------------------------------------------------


def flow_context(request: HttpRequest, flow: Flow) -> dict[str, Any]:
    versions = list(flow.versions.select_related("published_by", "created_by"))
    published = [v for v in versions if v.status == VersionStatus.PUBLISHED]
    current = published[0] if published else None
    perms = access.permissions_on(request.user, flow)
    context: dict[str, Any] = {
        "flow": flow,
        "versions": versions,
        "current": current,
        # What new cases start on once the current version is retired: the one before.
        "fallback": published[1] if len(published) > 1 else None,
        "draft": next((v for v in versions if v.status == VersionStatus.DRAFT), None),
        "perms": perms,
        "recent": with_current_steps(
            list(flow.instances.select_related("version", "started_by").order_by("-id")[:10])
        ),
        "editor_url": reverse("orchestration:editor", args=[flow.slug]),
        # The register is audit data: for the flow's owners and auditors.
        "register_url": reverse("audit:register", args=[flow.slug])
        if scope_for(request.user).sees_flow(flow.pk)
        else None,
        "handoff_url": reverse("orchestration:handoff", args=[flow.slug]),
    }
    if current is not None:
        context["start_ways"] = triggers.described(current)
    if perms["operate"] and current is not None:
        if triggers.accepts(current, triggers.BY_HAND):
            context["start_form"] = _start_form(current)
        else:
            context["start_error"] = triggers.refusal(triggers.BY_HAND)
    if perms["publish"]:
        context.update(access_context(flow))
        context["ownership_form"] = OwnershipForm(
            initial={
                "owner_team": flow.owner_team,
                "exception_owner_team": flow.exception_owner_team,
            }
        )
    if perms["operate"]:
        context.update(tokens_context(flow))
    return context


def flow_detail(request: HttpRequest, slug: str) -> HttpResponse:
    flow = access.get_flow(request.user, slug)
    return TemplateResponse(request, "orchestration/flow_detail.html", flow_context(request, flow))


def version_yaml(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = access.get_version(request.user, slug, number)
    from orchestration import actions

    text = actions.export_yaml(version)
    if request.GET.get("download"):
        response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
        filename = f"{version.flow.slug}-v{version.number}.yaml"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    context = {"flow": version.flow, "version": version, "yaml": text}
    return TemplateResponse(request, "orchestration/version_yaml.html", context)


def _version_action(request: HttpRequest, slug: str, number: int, perm: str) -> FlowVersion:
    return access.get_version(request.user, slug, number, perm)


def _refused(request: HttpRequest, flow: Flow, message: str, status: int = 409) -> HttpResponse:
    context = flow_context(request, flow)
    context["version_error"] = message
    return render(
        request, "orchestration/flow_detail.html", context, fragment="versions", status=status
    )


@require_POST
def version_retire(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _version_action(request, slug, number, access.PUBLISH)
    if version.status != VersionStatus.PUBLISHED:
        return _refused(
            request,
            version.flow,
            f"v{number} is {version.get_status_display().lower()}; "
            "only a published version can be retired.",
        )
    from orchestration import actions

    try:
        actions.retire_version(version, user=request.user)
    except actions.VersionLocked as exc:  # someone retired it a moment ago
        return _refused(request, version.flow, str(exc))
    now_current = live_version(version.flow_id)
    then = (
        f"New cases start on v{now_current.number}."
        if now_current is not None
        else "The flow starts no new cases until you publish a version."
    )
    messages.success(
        request, f"v{number} is retired: no new cases start on it; running ones finish. {then}"
    )
    return go(request, reverse("orchestration:flow_detail", args=[slug]))


@require_POST
def version_publish(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _version_action(request, slug, number, access.PUBLISH)
    if version.status != VersionStatus.DRAFT:
        return _refused(
            request, version.flow, f"v{number} is already {version.get_status_display().lower()}."
        )
    form = NoteForm({"note": request.POST.get("note") or (request.htmx.prompt or "")})
    note = form.cleaned_data["note"] if form.is_valid() else ""
    from orchestration import actions

    try:
        actions.publish_version(version, user=request.user, note=note)
    except actions.VersionLocked as exc:  # someone published it a moment ago
        return _refused(request, version.flow, str(exc))
    except Exception as exc:
        problems = problems_of(exc)
        if problems is None:
            raise
        return _refused(
            request, version.flow, "It cannot be published yet: " + "; ".join(problems), 422
        )
    messages.success(
        request, f"v{number} is published. New cases start on it." + _warnings_note(version)
    )
    return go(request, reverse("orchestration:flow_detail", args=[slug]))


@require_POST
def version_new_draft(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _version_action(request, slug, number, access.EDIT)
    if version.flow.versions.filter(status=VersionStatus.DRAFT).exists():
        return _refused(
            request, version.flow, "There is already a draft; edit or publish it first."
        )
    from orchestration import actions

    draft = actions.new_draft_from(version, user=request.user)
    messages.success(request, f"Draft v{draft.number} created from v{number}.")
    return go(request, reverse("orchestration:flow_detail", args=[slug]))


@require_POST
def flow_import_draft(request: HttpRequest, slug: str) -> HttpResponse:
    flow = access.get_flow(request.user, slug, access.EDIT)
    form = ImportYamlForm(request.POST, request.FILES)
    if not form.is_valid():
        return _refused(request, flow, " ".join(form.non_field_errors()), 422)
    from orchestration import actions

    try:
        version = actions.import_yaml(form.cleaned_data["yaml"], user=request.user, flow=flow)
    except Exception as exc:
        problems = problems_of(exc)
        if problems is None:
            raise
        context = flow_context(request, flow)
        context["import_problems"] = problems
        return render(
            request, "orchestration/flow_detail.html", context, fragment="versions", status=422
        )
    messages.success(request, f"Imported as {_draft_words(version)}." + _warnings_note(version))
    return go(request, reverse("orchestration:flow_detail", args=[slug]))


# --- Starting a case -------------------------------------------------------------------


def _start_form(version: FlowVersion, data: Any = None) -> StartForm:
    key = version.definition.get("business_key")
    form = StartForm(input_schema_of(version), data, key_expression=key or "")
    form.submission = (data or {}).get("_submission") or uuid.uuid4().hex
    return form


def flow_start(request: HttpRequest, slug: str) -> HttpResponse:
    flow = access.get_flow(request.user, slug, access.OPERATE)
    version = flow.versions.filter(status=VersionStatus.PUBLISHED).order_by("-number").first()
    by_hand = version is not None and triggers.accepts(version, triggers.BY_HAND)
    form = _start_form(version, _posted(request)) if by_hand else None
    context = {"flow": flow, "current": version, "start_form": form}
    if version is not None and not by_hand:
        context["start_error"] = triggers.refusal(triggers.BY_HAND)
    if request.method != "POST" or form is None:
        status = 409 if request.method == "POST" else 200
        return render(
            request, "orchestration/flow_start.html", context, fragment="start", status=status
        )
    if not form.is_valid():
        return render(
            request, "orchestration/flow_start.html", context, fragment="start", status=422
        )
    try:
        instance = engine.start_instance(
            version,
            form.input_data(),
            trigger="manual",
            actor=Actor.user(request.user),
            started_by=request.user,
            business_key=form.business_key,
            idempotency_key=f"form:{form.submission}"[:200],
        )
    except engine.InputInvalid as exc:
        form.add_engine_problems(exc.problems)
        return render(
            request, "orchestration/flow_start.html", context, fragment="start", status=422
        )
    except engine.NotAllowedNow as exc:
        context["start_error"] = str(exc)
        return render(
            request, "orchestration/flow_start.html", context, fragment="start", status=409
        )
    if getattr(instance, "replayed", False) and instance.input != form.input_data():
        # The same form sent again with other answers (Back, change, Start): a second
        # click must not start a second case, but the changes must not vanish either.
        again = request.POST.copy()
        again["_submission"] = uuid.uuid4().hex
        context["start_form"] = _start_form(version, again)
        context["start_error"] = (
            f"This form already started case #{instance.pk}, with other answers. "
            "To start another case with the answers below, press Start again."
        )
        return render(
            request, "orchestration/flow_start.html", context, fragment="start", status=409
        )
    return go(request, reverse("orchestration:instance_detail", args=[instance.pk]))


# --- Context for the access and token cards (their views: access_views.py) ---------


def access_context(flow: Flow, form: GrantForm | None = None) -> dict[str, Any]:
    return {
        "holders": access.holders(flow),
        "grant_form": form or GrantForm(),
        "permission_labels": access.PERMISSION_LABELS,
    }


def tokens_context(flow: Flow, form: TokenForm | None = None) -> dict[str, Any]:
    live = live_version(flow.pk)
    return {
        "webhook_refusal": (
            triggers.refusal(triggers.BY_WEBHOOK)
            if live is not None and not triggers.accepts(live, triggers.BY_WEBHOOK)
            else ""
        ),
        "tokens": flow.tokens.select_related("created_by").order_by("revoked_at", "-created_at"),
        "token_form": form or TokenForm(),
        "webhook_url": reverse("orchestration:api_start", args=[flow.slug]),
    }


def dashboards(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "orchestration/dashboards.html", {})
