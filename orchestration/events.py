"""Named writers for audit events about flows and their versions (stream "flow:<id>")."""

from __future__ import annotations

from typing import Any

from audit.chain import Actor, Entry, append
from orchestration.models import Flow, FlowVersion


def _append(
    flow: Flow, action: str, user: Any, version: FlowVersion | None, **payload: Any
) -> None:
    entry = Entry(
        action,
        Actor.user(user),
        object_type="flow_version" if version else "flow",
        object_id=str(version.pk if version else flow.pk),
        flow_id=flow.pk,
        payload={"flow": flow.slug, **({"version": version.number} if version else {}), **payload},
    )
    append(f"flow:{flow.pk}", [entry])


def flow_created(flow: Flow, user: Any) -> None:
    owner = flow.owner_team or flow.owner_user
    _append(flow, "flow.created", user, None, name=flow.name, owner=str(owner or ""))


def version_imported(version: FlowVersion, user: Any, warnings: int) -> None:
    _append(
        version.flow,
        "version.imported",
        user,
        version,
        revision=version.revision,
        warnings=warnings,
    )


def draft_saved(version: FlowVersion, user: Any) -> None:
    _append(version.flow, "version.draft_saved", user, version, revision=version.revision)


def draft_created(version: FlowVersion, user: Any) -> None:
    based_on = version.based_on.number if version.based_on else None
    _append(version.flow, "version.draft_created", user, version, based_on=based_on)


def version_published(version: FlowVersion, user: Any, warnings: int) -> None:
    _append(
        version.flow,
        "version.published",
        user,
        version,
        checksum=version.checksum,
        note=version.change_note[:1000],
        warnings=warnings,
    )


def version_retired(version: FlowVersion, user: Any) -> None:
    _append(version.flow, "version.retired", user, version)
