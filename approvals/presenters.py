"""What a task row shows, computed once in Python rather than in template logic: the
inbox renders 50 rows per page and template branching is the slow part."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from django.urls import reverse

from approvals.sla import describe
from orchestration.models import InstanceStatus

KIND_LABELS = {"approval": "Approval", "review": "Decision review", "qa": "Quality check"}
PRIORITIES = {
    1: ("Low", "bg-secondary-lt"),
    2: ("Normal", "bg-blue-lt"),
    3: ("High", "bg-orange-lt"),
    4: ("Urgent", "bg-red-lt"),
}


def describe_row(row: dict[str, Any], now: datetime) -> None:
    proposal = row.get("proposal") or {}
    row["url"] = _task_url().format(row["id"])
    line = KIND_LABELS.get(row["kind"], row["kind"])
    if proposal.get("outcome"):
        confidence = proposal.get("confidence")
        shown = "" if confidence is None else f" ({confidence * 100:.0f}%)"
        line += f" · AI proposes {proposal['outcome']}{shown}"
    elif proposal.get("route_label") and not proposal.get("blind"):
        line += f" · {proposal['route_label']}"
    row["line"] = line
    row["priority_label"], row["priority_class"] = PRIORITIES.get(row["priority"], PRIORITIES[2])
    due = row["due_at"]
    row["overdue"] = due is not None and due < now
    if due is None:
        row["due_text"] = "no deadline"
    else:
        seconds = (due - now).total_seconds()
        row["due_text"] = (
            f"{describe(seconds)} overdue" if seconds < 0 else f"in {describe(seconds)}"
        )
    if row["status"] == "escalated" or row["escalation_level"]:
        row["state_label"], row["state_class"] = (
            f"Escalated · level {row['escalation_level']}",
            "bg-orange-lt",
        )
    elif row["status"] == "claimed":
        row["state_label"], row["state_class"] = "Claimed", "bg-green-lt"
    else:
        row["state_label"], row["state_class"] = "Open", "bg-blue-lt"
    # An unclaimed task's claimer fields are None (a left join), not "".
    names = (row["claimed_by__first_name"], row["claimed_by__last_name"])
    full_name = " ".join(n for n in names if n)
    row["claimed_by_name"] = full_name or row["claimed_by__username"] or ""
    # The engine takes no decision until an operator resumes a failed case.
    case_failed = row["instance__status"] == InstanceStatus.FAILED
    row["case_failed"] = case_failed
    row["bulk"] = (
        not case_failed
        and bool((row["config"] or {}).get("allow_bulk"))
        and "approve" in row["outcomes"]
    )


@cache
def _task_url() -> str:
    return reverse("approvals:task", args=[0]).replace("/0/", "/{}/")
