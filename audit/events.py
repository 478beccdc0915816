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
    append(AUTH_STREAM, [Entry("user.logged_in", Actor.user(user), "user", str(user.pk),
                               payload=_client(request))])


def user_logged_out(user: Any, request: Any) -> None:
    if user is None:
        return
    append(AUTH_STREAM, [Entry("user.logged_out", Actor.user(user), "user", str(user.pk),
                               payload=_client(request))])


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
