"""Named writers for audit events outside the engine (sign-in, administration)."""

from __future__ import annotations

from typing import Any

from audit.chain import Actor, Entry, append

AUTH_STREAM = "auth"
ADMIN_STREAM = "admin"


def _client(request: Any) -> dict[str, str]:
    if request is None:
        return {}
    return {
        "ip": request.META.get("REMOTE_ADDR", ""),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200],
    }


def user_logged_in(user: Any, request: Any) -> None:
    append(
        AUTH_STREAM,
        [Entry("user.logged_in", Actor.user(user), "user", str(user.pk), payload=_client(request))],
    )


def user_logged_out(user: Any, request: Any) -> None:
    if user is None:
        return
    append(
        AUTH_STREAM,
        [
            Entry(
                "user.logged_out", Actor.user(user), "user", str(user.pk), payload=_client(request)
            )
        ],
    )


def login_failed(username: str, request: Any) -> None:
    payload = {"username": username[:150], **_client(request)}
    append(AUTH_STREAM, [Entry("user.login_failed", Actor.system(), "user", "", payload=payload)])


def admin_changed(user: Any, verb: str, obj: Any, change_message: str = "") -> None:
    entry = Entry(
        f"admin.{verb}",
        Actor.user(user),
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        payload={"object": str(obj)[:200], "change": change_message[:1000]},
    )
    append(ADMIN_STREAM, [entry])


def audit_area_viewed(user: Any, what: str, params: dict[str, Any]) -> None:
    append(AUTH_STREAM, [Entry("audit.viewed", Actor.user(user), "audit", what, payload=params)])


# --- Audit area, ownership and corrections ------------------------------------------
AUDIT_STREAM = "audit"
OWNERSHIP_FIELDS = {
    "owner_team": "accountable owner (team)",
    "owner_user": "accountable owner (person)",
    "exception_owner_team": "exception owner (team)",
    "exception_owner_user": "exception owner (person)",
}


def _name(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "get_username"):
        return f"user:{value.get_username()}"
    if hasattr(value, "name") and value.__class__.__name__ == "Group":
        return f"team:{value.name}"
    return str(value)


def ownership_changed(flow: Any, user: Any, field: str, old: Any, new: Any, reason: str) -> None:
    """A flow's accountable or exception owner changed (call it from the action that
    saves the flow). `field` is the Flow field name; old/new a Group, User, str or None."""
    entry = Entry(
        "flow.owner_changed",
        Actor.user(user),
        "flow",
        str(flow.pk),
        flow_id=flow.pk,
        payload={
            "field": field,
            "role": OWNERSHIP_FIELDS.get(field, field),
            "old": _name(old),
            "new": _name(new),
            "reason": reason[:1000],
        },
    )
    append(f"flow:{flow.pk}", [entry])


def audit_exported(
    user: Any, kind: str, params: dict[str, Any], masked_fields: dict[str, list[str]]
) -> None:
    """An export left the audit area: what, which search, and which fields were masked."""
    payload = {"format": kind, "search": params, "masked_fields": masked_fields}
    append(
        AUDIT_STREAM, [Entry("audit.exported", Actor.user(user), "audit", kind, payload=payload)]
    )


def evidence_pack_downloaded(user: Any, instance: Any, masked: list[str], ok: bool) -> None:
    entry = Entry(
        "audit.evidence_pack",
        Actor.user(user),
        "instance",
        str(instance.pk),
        flow_id=instance.flow_id,
        instance_id=instance.pk,
        business_key=instance.business_key,
        payload={"masked_fields": masked, "chain_verified": ok},
    )
    append(AUDIT_STREAM, [entry])


def chains_verified(run: Any) -> None:
    payload = {
        "ok": run.ok,
        "checked": run.checked,
        "summary": run.summary[:500],
        "trigger": run.trigger,
    }
    append(
        AUDIT_STREAM,
        [Entry("audit.verified", Actor.system(), "verification", str(run.pk), payload=payload)],
    )


def record_corrected(user: Any, original: Any, reason: str, correction: dict[str, Any]) -> None:
    """Audit records never change: a correction is a new event that names the original
    (an AuditEvent or a DecisionRecord) and says what should be read instead, and why."""
    kind = "decision" if original.__class__.__name__ == "DecisionRecord" else "event"
    entry = Entry(
        f"{kind}.corrected",
        Actor.user(user),
        kind,
        str(original.pk),
        flow_id=original.flow_id,
        instance_id=original.instance_id,
        business_key=original.business_key,
        payload={
            "corrects": {kind: original.pk},
            "reason": reason[:1000],
            "correction": correction,
        },
    )
    stream = f"decision:{original.pk}" if kind == "decision" else AUDIT_STREAM
    append(stream, [entry])
