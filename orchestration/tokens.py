"""API tokens for the webhook: created once, stored as a SHA-256 hash, scoped to a flow."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.utils import timezone

from audit.chain import Actor, Entry, append
from audit.models import ActorKind
from orchestration.models import ApiToken, Flow

PREFIX_LENGTH = 8
SCHEME = "pod_"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(flow: Flow, name: str, *, by: Any) -> tuple[ApiToken, str]:
    """Create a token; return it and its secret, which is never shown again."""
    secret = SCHEME + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        flow=flow,
        name=name,
        prefix=secret[: len(SCHEME) + PREFIX_LENGTH],
        token_hash=hash_token(secret),
        created_by=by,
    )
    _event("flow.token_created", token, by)
    return token, secret


def revoke_token(token: ApiToken, *, by: Any) -> bool:
    if token.revoked_at is not None:
        return False
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    _event("flow.token_revoked", token, by)
    return True


def authenticate(flow_id: int | None, secret: str) -> ApiToken | None:
    """The live token (of this flow, when given) whose secret this is, or None.

    The look-up is by the non-secret prefix; the hash is compared in constant time.
    """
    if not secret.startswith(SCHEME) or len(secret) > 200:
        return None
    wanted = hash_token(secret)
    candidates = ApiToken.objects.filter(
        prefix=secret[: len(SCHEME) + PREFIX_LENGTH], revoked_at__isnull=True
    ).select_related("flow")
    if flow_id is not None:
        candidates = candidates.filter(flow_id=flow_id)
    match = None
    for token in candidates:
        if hmac.compare_digest(token.token_hash, wanted):
            match = token
    return match


def token_for_request(flow_id: int | None, authorization: str) -> ApiToken | None:
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return authenticate(flow_id, secret.strip())


def mark_used(token: ApiToken) -> None:
    now = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


def actor_for(token: ApiToken) -> Actor:
    return Actor(ActorKind.TOKEN, str(token.pk), f"API token {token.name} ({token.prefix}…)")


def _event(action: str, token: ApiToken, by: Any) -> None:
    entry = Entry(
        action,
        Actor.user(by),
        object_type="api_token",
        object_id=str(token.pk),
        flow_id=token.flow_id,
        payload={"name": token.name, "prefix": token.prefix},
    )
    append(f"flow:{token.flow_id}", [entry])
