"""The audit area: front page, explorer, exports, decisions, evidence packs, register.

Every view fetches through audit.access (auditors see everything, flow owners their
flows, everyone else a 404) and writes an `audit.viewed` event: looking at audit data
is itself audited.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from audit import access, accountability, events, exports, sealing, search, verification
from audit.deciders import name_deciders
from audit.decisions import reconstruct
from audit.masking import Masker
from audit.models import ActorKind, AuditEvent, ChainSeal


def home(request: HttpRequest) -> HttpResponse:
    scope = access.scope_for(request.user)
    if not scope.allowed:
        # A landing page like every area's, explaining who may see audit data; no data.
        return TemplateResponse(request, "audit/home.html", {"denied": True})
    events.audit_area_viewed(request.user, "home", {})
    form = search.SearchForm(scope=scope)
    flows = scope.flows().select_related(
        "owner_team", "owner_user", "exception_owner_team", "exception_owner_user"
    )
    recent = search.page(search.filtered(scope, {}), size=10).events
    masker = Masker.for_flows(e.flow_id for e in recent)
    _mask_events(recent, masker)
    _make_readable(recent)
    context = {
        "scope": scope,
        "form": form,
        "flows": flows,
        "gaps": accountability.ownership_gaps(flows),
        "run": verification.last_run(),
        "seal": ChainSeal.objects.first(),
        "recent": recent,
    }
    return TemplateResponse(request, "audit/home.html", context)


@require_POST
def verify_now(request: HttpRequest) -> HttpResponse:
    scope = access.require_scope(request.user)
    if not scope.everything:
        return HttpResponse("Only auditors may run a full verification.", status=403)
    run = verification.record_run("page", request.user.get_username())
    if request.htmx:
        return TemplateResponse(request, "audit/home.html#verification", {"run": run})
    return redirect("audit:home")


def heads_download(request: HttpRequest) -> HttpResponse:
    """Every chain head and the latest seal, to keep outside Podium (or sign)."""
    scope = access.require_scope(request.user)
    if not scope.everything:
        return HttpResponse("Only auditors may export the chain heads.", status=403)
    document = sealing.heads_document()
    events.audit_exported(request.user, "chain heads", {"streams": document["streams"]}, {})
    response = JsonResponse(document, json_dumps_params={"indent": 2})
    stamp = document["exported_at"][:19].replace(":", "")
    response["Content-Disposition"] = f'attachment; filename="podium-audit-heads-{stamp}.json"'
    return response


def _make_readable(found: list[AuditEvent], decisions: list | None = None) -> None:
    """Each event's `who`, a person by full name as the other screens name them (the
    event keeps the user name it was written with), and each event's and decision's
    `step_label`, the step it is about by its label."""
    from orchestration.readable import label_steps, people_names

    label_steps([*found, *(decisions or [])])
    people = [e for e in found if e.actor_kind == ActorKind.USER]
    names = people_names(e.actor_label for e in people)
    for event in people:
        event.who = names.get(event.actor_label, event.actor_label)


def event_search(request: HttpRequest) -> HttpResponse:
    scope = access.require_scope(request.user)
    form = search.SearchForm(request.GET or None, scope=scope)
    filters = form.params()
    found = None
    if not form.is_bound or form.is_valid():
        found = search.page(search.filtered(scope, filters), request.GET.get("after", ""))
    masker = Masker.for_flows(e.flow_id for e in (found.events if found else []))
    _mask_events(found.events if found else [], masker)
    events.audit_area_viewed(
        request.user, "search", {**filters, "masked_fields": sorted(masker.applied)}
    )
    decisions = list(search.decisions_matching(scope, filters)[:20])
    name_deciders(decisions)
    _make_readable(found.events if found else [], decisions)
    context = {
        "form": form,
        "filters": filters,
        "page": found,
        "decisions": decisions,
        "query": request.GET.urlencode(),
        "export_query": _without(request, "after"),
    }
    template = "audit/search.html#results" if request.htmx else "audit/search.html"
    return TemplateResponse(request, template, context)


def _mask_events(found: list, masker: Masker) -> None:
    """What the screen shows of each event: masked fields replaced."""
    for event in found:
        event.shown_payload = masker.mask(event.flow_id, event.payload)
        event.shown_key = masker.mask_text(event.flow_id, "business_key", event.business_key)


def _without(request: HttpRequest, name: str) -> str:
    query = request.GET.copy()
    query.pop(name, None)
    return query.urlencode()


def event_export(request: HttpRequest, fmt: str) -> HttpResponse:
    scope = access.require_scope(request.user)
    form = search.SearchForm(request.GET or None, scope=scope)
    if form.is_bound and not form.is_valid():
        return HttpResponse("The search has errors; fix them before exporting.", status=400)
    filters = form.params()
    found = search.filtered(scope, filters)
    flow_id = search.flow_id_for(scope, filters["flow"]) if filters.get("flow") else None
    masker = exports.masker_for(found, flow_id, None if scope.everything else scope.flow_ids)
    masked = {
        str(pk): fields
        for pk, (names, paths) in masker.rules.items()
        for fields in [sorted(names | paths)]
    }
    events.audit_exported(request.user, fmt, filters, masked)
    if fmt == "csv":
        body, content_type = exports.csv_lines(found, masker), "text/csv; charset=utf-8"
    else:
        body, content_type = exports.json_lines(found, masker), "application/x-ndjson"
    response = StreamingHttpResponse(body, content_type=content_type)
    name = f"podium-audit-{filters.get('business_key') or filters.get('flow') or 'events'}"
    response["Content-Disposition"] = f'attachment; filename="{_safe(name)}.{fmt}"'
    return response


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:80]


def decision(request: HttpRequest, record_id: int) -> HttpResponse:
    record, _scope = access.get_decision(request.user, record_id)
    found = reconstruct(record)
    events.audit_area_viewed(
        request.user, "decision", {"decision": record.pk, "masked_fields": found.masked}
    )
    return TemplateResponse(request, "audit/decision.html", {"r": found, "record": record})


def evidence_pack(request: HttpRequest, instance_id: int) -> HttpResponse:
    instance, _scope = access.get_instance(request.user, instance_id)
    body, masked, ok = exports.evidence_pack(instance, request.user)
    events.evidence_pack_downloaded(request.user, instance, masked, ok)
    response = HttpResponse(body, content_type="application/zip")
    name = _safe(f"evidence-{instance.flow.slug}-{instance.business_key or instance.pk}")
    response["Content-Disposition"] = f'attachment; filename="{name}.zip"'
    return response


def flow_register(request: HttpRequest, slug: str) -> HttpResponse:
    flow, _scope = access.get_flow(request.user, slug)
    events.audit_area_viewed(request.user, "register", {"flow": flow.slug})
    return TemplateResponse(
        request, "audit/register.html", {"register": accountability.register(flow)}
    )
