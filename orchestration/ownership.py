"""Changing who is accountable for a flow: recorded with who made the change and why."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction

from audit import events as audit_events
from orchestration.access import grant_owner_permissions
from orchestration.models import Flow

OWNER_FIELDS = ("owner_team", "exception_owner_team")


def change_owners(
    flow: Flow,
    *,
    user: Any,
    owner_team: Group | None,
    exception_owner_team: Group | None,
    reason: str,
) -> list[str]:
    """Set the flow's owning teams; each change is an audit event. Returns what changed."""
    wanted = {"owner_team": owner_team, "exception_owner_team": exception_owner_team}
    changed = [name for name in OWNER_FIELDS if getattr(flow, name) != wanted[name]]
    if not changed:
        return []
    with transaction.atomic():
        for name in changed:
            audit_events.ownership_changed(
                flow, user, name, getattr(flow, name), wanted[name], reason
            )
            setattr(flow, name, wanted[name])
        flow.save(update_fields=changed)
        grant_owner_permissions(flow)  # the new owners' (those of before keep theirs)
    return changed
