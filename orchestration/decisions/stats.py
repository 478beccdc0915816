"""How often the AI agrees with people on a decision step: the evidence an owner needs
before switching a step from shadow mode to automatic."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from audit.models import DecisionRecord


@dataclass(frozen=True)
class Agreement:
    compared: int
    agreed: int

    @property
    def rate(self) -> float | None:
        return self.agreed / self.compared if self.compared else None


def agreement(flow_id: int, step_id: str, *, shadow_only: bool = False) -> Agreement:
    """People's final calls compared with the AI's proposals on one step."""
    records = DecisionRecord.objects.filter(
        flow_id=flow_id, step_id=step_id, decided_by_kind="user", finalised_at__isnull=False
    ).exclude(proposed_outcome="")
    if shadow_only:
        records = records.filter(mode="shadow")
    counts = records.aggregate(
        compared=Count("id"), agreed=Count("id", filter=Q(overrode_ai=False))
    )
    return Agreement(counts["compared"], counts["agreed"])
