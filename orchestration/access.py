"""Permission-checked look-ups of flows and their instances (django-guardian).

Every view fetches flows and instances through these functions. A user who may not
see an object gets a 404, never a 403, so ids cannot be probed. A user who may see a
flow but not act on it gets `PermissionDenied`, which Django turns into a 403 page
that shows its message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from guardian.shortcuts import (
    assign_perm,
    get_groups_with_perms,
    get_objects_for_user,
    get_users_with_perms,
    remove_perm,
)

from audit.chain import Actor, Entry, append
from orchestration.models import ApiToken, Flow, FlowInstance, FlowVersion, StepRun

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
SHORT_NAMES = {VIEW: "view", EDIT: "edit", PUBLISH: "publish", OPERATE: "operate"}
# Who may decide who can do what on a flow (and so grant themselves anything):
# the holders of its highest permission.
MANAGE = PUBLISH


class PermissionDenied(DjangoPermissionDenied):
    """The user may see the flow but not do this; Django renders a 403 with the message."""

    def __init__(self, perm: str):
        super().__init__(f"You need the permission to {PERMISSION_LABELS[perm].lower()}.")
        self.perm = perm


def flows_for(user: Any, perm: str = VIEW) -> QuerySet[Flow]:
    return get_objects_for_user(user, perm, klass=Flow, accept_global_perms=True)


def can(user: Any, perm: str, flow: Flow) -> bool:
    return bool(user.has_perm(perm, flow) or user.has_perm(perm))


def permissions_on(user: Any, flow: Flow) -> dict[str, bool]:
    """{"view": True, "edit": False, ...} for templates."""
    return {SHORT_NAMES[perm]: can(user, perm, flow) for perm in ALL_FLOW_PERMISSIONS}


def get_flow(user: Any, slug: str, perm: str = VIEW) -> Flow:
    try:
        flow = Flow.objects.select_related("owner_team", "owner_user").get(slug=slug)
    except Flow.DoesNotExist:
        raise Http404("No such flow") from None
    return check_flow(user, flow, perm)


def check_flow(user: Any, flow: Flow, perm: str = VIEW) -> Flow:
    if not can(user, perm, flow):
        if perm != VIEW and can(user, VIEW, flow):
            raise PermissionDenied(perm)
        raise Http404("No such flow")
    return flow


def get_version(user: Any, slug: str, number: int, perm: str = VIEW) -> FlowVersion:
    flow = get_flow(user, slug, perm)
    try:
        return flow.versions.select_related("published_by", "created_by").get(number=number)
    except FlowVersion.DoesNotExist:
        raise Http404("No such version") from None


def instances_for(user: Any, perm: str = VIEW) -> QuerySet[FlowInstance]:
    return FlowInstance.objects.filter(flow__in=flows_for(user, perm))


def get_instance(user: Any, instance_id: int, perm: str = VIEW) -> FlowInstance:
    try:
        instance = FlowInstance.objects.select_related("flow", "version", "started_by").get(
            pk=instance_id
        )
    except FlowInstance.DoesNotExist:
        raise Http404("No such case") from None
    check_flow(user, instance.flow, perm)
    return instance


def get_step_run(user: Any, step_run_id: int, perm: str = VIEW) -> StepRun:
    try:
        run = StepRun.objects.select_related("instance__flow").get(pk=step_run_id)
    except StepRun.DoesNotExist:
        raise Http404("No such step") from None
    check_flow(user, run.instance.flow, perm)
    return run


def get_token(user: Any, slug: str, token_id: int, perm: str = OPERATE) -> ApiToken:
    flow = get_flow(user, slug, perm)
    try:
        return flow.tokens.get(pk=token_id)
    except ApiToken.DoesNotExist:
        raise Http404("No such token") from None


# Who is told when a case fails must be able to open it and put it right.
EXCEPTION_OWNER_PERMISSIONS = (VIEW, OPERATE)


def may_create_flows(user: Any) -> bool:
    """People in a team create flows, owned by one of their teams (administrators too)."""
    return bool(user.is_superuser or user.groups.exists())


def grant_owner_permissions(flow: Flow) -> None:
    """The owning team (or owning user) gets every permission on a new flow; the team or
    person told about its failures may view and operate it."""
    for holder in (flow.owner_team, flow.owner_user):
        if holder is not None:
            for perm in ALL_FLOW_PERMISSIONS:
                assign_perm(perm, holder, flow)
    for holder in (flow.exception_owner_team, flow.exception_owner_user):
        if holder is not None:
            for perm in EXCEPTION_OWNER_PERMISSIONS:
                assign_perm(perm, holder, flow)


# --- Who can do what ------------------------------------------------------------------


@dataclass
class Holder:
    kind: str  # "team" or "user"
    id: int
    name: str
    perms: set[str] = field(default_factory=set)

    @property
    def codenames(self) -> list[str]:
        return [p for p in ALL_FLOW_PERMISSIONS if p in self.perms]


def holders(flow: Flow) -> list[Holder]:
    """Teams and people holding permissions on the flow, teams first."""
    result = []
    groups = get_groups_with_perms(flow, attach_perms=True)
    for group, perms in sorted(groups.items(), key=lambda item: item[0].name.lower()):
        result.append(Holder("team", group.pk, group.name, {f"orchestration.{p}" for p in perms}))
    users = get_users_with_perms(flow, attach_perms=True, with_group_users=False)
    for person, perms in sorted(users.items(), key=lambda item: item[0].username):
        name = person.get_full_name() or person.username
        result.append(Holder("user", person.pk, name, {f"orchestration.{p}" for p in perms}))
    return result


def _holder_label(holder: Group | User) -> str:
    return f"team {holder.name}" if isinstance(holder, Group) else f"user {holder.username}"


def _access_event(action: str, flow: Flow, by: Any, holder: Group | User, perm: str) -> None:
    entry = Entry(
        action,
        Actor.user(by),
        object_type="flow",
        object_id=str(flow.pk),
        flow_id=flow.pk,
        payload={
            "holder": _holder_label(holder),
            "holder_kind": "team" if isinstance(holder, Group) else "user",
            "holder_id": holder.pk,
            "permission": perm,
        },
    )
    append(f"flow:{flow.pk}", [entry])


def grant(flow: Flow, holder: Group | User, perm: str, *, by: Any) -> bool:
    """Give a team or person a permission on the flow, with view, which every other one
    needs (without it the flow is not found); False when they already had it."""
    if perm not in ALL_FLOW_PERMISSIONS:
        raise ValueError(f"Unknown permission {perm!r}")
    held = _direct_perms(flow, holder)
    if perm.split(".")[1] in held:
        return False
    for needed in dict.fromkeys((VIEW, perm)):
        if needed.split(".")[1] not in held:
            assign_perm(needed, holder, flow)
            _access_event("flow.access_granted", flow, by, holder, needed)
    return True


class LastManager(Exception):
    """Taking the permission away would leave nobody to manage the flow."""


def revoke(flow: Flow, holder: Group | User, perm: str, *, by: Any) -> bool:
    """Take a permission away (view takes all others with it, as they need it); False
    when the holder did not have it directly. LastManager when nobody else could then
    publish the flow and so manage who may do what (administrators aside)."""
    if perm not in ALL_FLOW_PERMISSIONS:
        raise ValueError(f"Unknown permission {perm!r}")
    held = _direct_perms(flow, holder)
    if perm.split(".")[1] not in held:
        return False
    taken = [p for p in ALL_FLOW_PERMISSIONS if p.split(".")[1] in held] if perm == VIEW else [perm]
    if MANAGE in taken and not _other_managers(flow, holder):
        raise LastManager(
            "Nobody else could then manage this flow or who may work on it. Give another "
            "team or person the publish permission first."
        )
    for gone in taken:
        remove_perm(gone, holder, flow)
        _access_event("flow.access_revoked", flow, by, holder, gone)
    return True


def _other_managers(flow: Flow, holder: Group | User) -> bool:
    codename = MANAGE.split(".")[1]
    teams = get_groups_with_perms(flow, attach_perms=True)
    users = get_users_with_perms(flow, attach_perms=True, with_group_users=False)
    return any(
        codename in perms and who != holder for who, perms in [*teams.items(), *users.items()]
    )


def _direct_perms(flow: Flow, holder: Group | User) -> set[str]:
    if isinstance(holder, Group):
        return set(get_groups_with_perms(flow, attach_perms=True).get(holder, []))
    users = get_users_with_perms(flow, attach_perms=True, with_group_users=False)
    return set(users.get(holder, []))
