"""Permission-checked look-ups of flows and their instances (django-guardian).

Every view fetches flows and instances through these functions. A user who may not
see an object gets a 404, never a 403, so ids cannot be probed.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from guardian.shortcuts import assign_perm, get_objects_for_user

from orchestration.models import Flow, FlowInstance, StepRun

VIEW = "orchestration.view_flow"
EDIT = "orchestration.change_flow"
PUBLISH = "orchestration.publish_flow"
OPERATE = "orchestration.operate_flow"
ALL_FLOW_PERMISSIONS = (VIEW, EDIT, PUBLISH, OPERATE)
PERMISSION_LABELS = {
    VIEW: "See the flow and its cases",
    EDIT: "Edit drafts",
    PUBLISH: "Publish versions",
    OPERATE: "Start, cancel, retry and skip",
}


def flows_for(user: Any, perm: str = VIEW) -> QuerySet[Flow]:
    return get_objects_for_user(user, perm, klass=Flow, accept_global_perms=True)


def get_flow(user: Any, slug: str, perm: str = VIEW) -> Flow:
    try:
        flow = Flow.objects.get(slug=slug)
    except Flow.DoesNotExist:
        raise Http404("No such flow") from None
    if not user.has_perm(perm, flow) and not user.has_perm(perm):
        if perm != VIEW and (user.has_perm(VIEW, flow) or user.has_perm(VIEW)):
            raise PermissionDenied(perm)
        raise Http404("No such flow")
    return flow


def instances_for(user: Any, perm: str = VIEW) -> QuerySet[FlowInstance]:
    return FlowInstance.objects.filter(flow__in=flows_for(user, perm))


def get_instance(user: Any, instance_id: int, perm: str = VIEW) -> FlowInstance:
    try:
        instance = FlowInstance.objects.select_related("flow", "version").get(pk=instance_id)
    except FlowInstance.DoesNotExist:
        raise Http404("No such case") from None
    get_flow(user, instance.flow.slug, perm)
    return instance


def get_step_run(user: Any, step_run_id: int, perm: str = VIEW) -> StepRun:
    try:
        run = StepRun.objects.select_related("instance__flow").get(pk=step_run_id)
    except StepRun.DoesNotExist:
        raise Http404("No such step") from None
    get_flow(user, run.instance.flow.slug, perm)
    return run


def grant_owner_permissions(flow: Flow) -> None:
    """The owning team (or owning user) gets every permission on a new flow."""
    for holder in (flow.owner_team, flow.owner_user):
        if holder is not None:
            for perm in ALL_FLOW_PERMISSIONS:
                assign_perm(perm, holder, flow)


class PermissionDenied(Exception):
    """The user may see the flow but not do this; views turn it into a 403 with a message."""

    def __init__(self, perm: str):
        super().__init__(f"You need the permission to {PERMISSION_LABELS[perm].lower()}.")
        self.perm = perm
