"""The cases that wait for a person to put them right, among the flows a user may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from orchestration import access
from orchestration.engine.runner import LIVE_INSTANCE
from orchestration.models import FlowInstance, InstanceStatus

# Failed cases an operator can still put right (the others ended at a failure end).
AWAITING_OPERATOR = Q(status=InstanceStatus.FAILED, finished_at__isnull=True)
# Running or rolling-back cases the sweep found with nothing left to run.
STUCK = Q(status__in=LIVE_INSTANCE, stuck_since__isnull=False)


@dataclass(frozen=True)
class Attention:
    failed: int  # failed, waiting for an operator to retry, skip or cancel
    stuck: int  # running, with nothing left to run

    @property
    def any(self) -> bool:
        return bool(self.failed or self.stuck)


def needing_attention(user: Any) -> Attention:
    """Two counts, each from a small partial index (however many cases there are)."""
    flow_ids = list(access.flows_for(user).values_list("id", flat=True))
    cases = FlowInstance.objects.filter(flow_id__in=flow_ids)
    return Attention(
        failed=cases.filter(AWAITING_OPERATOR).count(), stuck=cases.filter(STUCK).count()
    )
