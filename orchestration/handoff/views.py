"""The handoff map page, and what it shows when an edge or an actor is clicked."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from orchestration import access
from orchestration.handoff import canvas, compute
from orchestration.models import Flow, FlowVersion, VersionStatus
from orchestration.readable import step_labels

TEMPLATE = "orchestration/handoff.html"
PERIODS = [
    ("7", "Last 7 days"),
    ("30", "Last 30 days"),
    ("90", "Last 90 days"),
    ("365", "Last year"),
    ("all", "All time"),
]


def _version(flow: Flow, number: str | None) -> FlowVersion | None:
    versions = flow.versions.order_by("-number")
    if number and number.isascii() and number.isdigit() and len(number) < 10:
        return versions.filter(number=int(number)).first()
    return (
        versions.filter(status=VersionStatus.PUBLISHED).first()
        or versions.exclude(status=VersionStatus.DRAFT).first()
        or versions.first()
    )


def _map(request: HttpRequest, slug: str) -> tuple[compute.HandoffMap, dict[str, Any]]:
    flow = access.get_flow(request.user, slug)
    period = request.GET.get("period", "30")
    if period not in dict(PERIODS):
        period = "30"
    version = _version(flow, request.GET.get("version"))
    only_version = request.GET.get("only") == "1"
    handoff_map = compute.build(
        flow, version, compute.period_start(period), all_versions=not only_version
    )
    query = {
        "period": period,
        "version": version.number if version else "",
        "only": "1" if only_version else "",
    }
    return handoff_map, {
        "flow": flow,
        "version": version,
        "period": period,
        "query": query,
        "only_version": only_version,
    }


@require_GET
def handoff(request: HttpRequest, slug: str) -> HttpResponse:
    handoff_map, context = _map(request, slug)
    handoffs = sorted(handoff_map.handoffs.values(), key=lambda h: -(h.p90 or 0))
    context.update(
        {
            "map": handoff_map,
            "elements": canvas.elements(handoff_map),
            "periods": PERIODS,
            "versions": context["flow"]
            .versions.exclude(status=VersionStatus.DRAFT)
            .order_by("-number"),
            "handoffs": handoffs,
            "gaps": [h for h in handoff_map.highlights if h["kind"] == "gap"],
            "others": [h for h in handoff_map.highlights if h["kind"] != "gap"],
        }
    )
    return TemplateResponse(request, TEMPLATE, context)


def _rows(handoff: compute.Handoff, handoff_map: compute.HandoffMap) -> list[dict[str, Any]]:
    labels = step_labels(handoff_map.version.definition) if handoff_map.version else {}
    rows = []
    for passage in sorted(handoff.passages, key=lambda p: -p.waited)[:200]:
        rows.append(
            {
                "passage": passage,
                "waited": compute.format_wait(passage.waited),
                "source": labels.get(passage.source_step, passage.source_step),
                "target": labels.get(passage.target_step, passage.target_step),
            }
        )
    return rows


@require_GET
def handoff_edge(request: HttpRequest, slug: str) -> HttpResponse:
    """The cases that passed one handoff, slowest first."""
    handoff_map, context = _map(request, slug)
    handoff = handoff_map.handoffs.get(request.GET.get("edge", ""))
    context.update({"handoff": handoff, "map": handoff_map})
    if handoff is not None:
        context.update(
            {
                "source": handoff_map.actors[handoff.source],
                "target": handoff_map.actors[handoff.target],
                "rows": _rows(handoff, handoff_map),
                "median": compute.format_wait(handoff.median),
                "p90": compute.format_wait(handoff.p90),
            }
        )
    return TemplateResponse(request, f"{TEMPLATE}#edge-detail", context)


@require_GET
def handoff_actor(request: HttpRequest, slug: str) -> HttpResponse:
    """What one actor owns: its steps, their gaps, and its handoffs in and out."""
    handoff_map, context = _map(request, slug)
    actor = handoff_map.actors.get(request.GET.get("actor", ""))
    context.update({"actor": actor, "map": handoff_map})
    if actor is not None and handoff_map.version:
        steps = {s["id"]: s for s in handoff_map.version.definition.get("steps") or []}
        context["owned"] = [steps[i] for i in actor.steps if i in steps]
        context["incoming"] = [h for h in handoff_map.handoffs.values() if h.target == actor.key]
        context["outgoing"] = [h for h in handoff_map.handoffs.values() if h.source == actor.key]
    return TemplateResponse(request, f"{TEMPLATE}#actor-detail", context)
