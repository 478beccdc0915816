"""Who may see audit data, and which of it.

Auditors hold the model permission `audit.view_auditevent` (the demo gives it to the
Compliance team) and see everything. A flow's owner — anyone holding
`orchestration.change_flow` on it — sees the events, decisions and register of that
flow only. Everyone else gets a 404 for every audit page, as elsewhere in Podium.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from audit.models import AuditEvent, DecisionRecord

AUDITOR = "audit.view_auditevent"
OWNER = "orchestration.change_flow"


@dataclass(frozen=True)
class AuditScope:
    """What one user may see: everything, or the events of some flows."""

    everything: bool
    flow_ids: frozenset[int]

    @property
    def allowed(self) -> bool:
        return self.everything or bool(self.flow_ids)

    def sees_flow(self, flow_id: int | None) -> bool:
        return self.everything or (flow_id is not None and flow_id in self.flow_ids)

    def events(self) -> QuerySet[AuditEvent]:
        events = AuditEvent.objects.all()
        return events if self.everything else events.filter(flow_id__in=self.flow_ids)

    def decisions(self) -> QuerySet[DecisionRecord]:
        records = DecisionRecord.objects.all()
        return records if self.everything else records.filter(flow_id__in=self.flow_ids)

    def flows(self) -> QuerySet[Any]:
        from orchestration.models import Flow

        flows = Flow.objects.all()
        return flows if self.everything else flows.filter(pk__in=self.flow_ids)


def is_auditor(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.has_perm(AUDITOR))


def scope_for(user: Any) -> AuditScope:
    if is_auditor(user):
        return AuditScope(True, frozenset())
    if not user.is_authenticated:
        return AuditScope(False, frozenset())
    from orchestration.models import Flow

    owned = get_objects_for_user(user, OWNER, klass=Flow, accept_global_perms=False)
    return AuditScope(False, frozenset(owned.values_list("pk", flat=True)))


def require_scope(user: Any) -> AuditScope:
    scope = scope_for(user)
    if not scope.allowed:
        raise Http404("No audit data for you here")
    return scope


def get_decision(user: Any, record_id: int) -> tuple[DecisionRecord, AuditScope]:
    scope = require_scope(user)
    try:
        return scope.decisions().get(pk=record_id), scope
    except DecisionRecord.DoesNotExist:
        raise Http404("No such decision") from None


def get_instance(user: Any, instance_id: int) -> tuple[Any, AuditScope]:
    from orchestration.models import FlowInstance

    scope = require_scope(user)
    try:
        instance = FlowInstance.objects.select_related("flow", "version").get(pk=instance_id)
    except FlowInstance.DoesNotExist:
        raise Http404("No such case") from None
    if not scope.sees_flow(instance.flow_id):
        raise Http404("No such case")
    return instance, scope


def get_flow(user: Any, slug: str) -> tuple[Any, AuditScope]:
    scope = require_scope(user)
    flow = scope.flows().filter(slug=slug).first()
    if flow is None:
        raise Http404("No such flow")
    return flow, scope
