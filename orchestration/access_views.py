"""A flow's "who can do what" and API token cards: grant, revoke, create, revoke."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from orchestration import access, tokens
from orchestration.forms import GrantForm, TokenForm
from orchestration.models import Flow
from orchestration.views import access_context, render, tokens_context


def _card(
    request: HttpRequest, flow: Flow, fragment: str, status: int = 200, **extra: Any
) -> HttpResponse:
    """Re-render one card of the flow page ("access" or "tokens") after an action."""
    context_for = {"access": access_context, "tokens": tokens_context}[fragment]
    context = {"flow": flow, "perms": access.permissions_on(request.user, flow)}
    context.update(context_for(flow, extra.pop("form", None)))
    context.update(extra)
    return render(
        request, "orchestration/flow_detail.html", context, fragment=fragment, status=status
    )


@require_POST
def access_grant(request: HttpRequest, slug: str) -> HttpResponse:
    return _change_access(
        request, slug, access.grant, "They already have that permission.", "Permission granted."
    )


@require_POST
def access_revoke(request: HttpRequest, slug: str) -> HttpResponse:
    return _change_access(
        request,
        slug,
        access.revoke,
        "That permission was already taken away.",
        "Permission taken away.",
    )


def _change_access(
    request: HttpRequest,
    slug: str,
    change: Callable[..., bool],
    unchanged_message: str,
    done_message: str,
) -> HttpResponse:
    flow = access.get_flow(request.user, slug, access.MANAGE)
    form = GrantForm(request.POST)
    if not form.is_valid():
        return _card(request, flow, "access", 422, form=form)
    holder, perm = form.cleaned_data["holder"], form.cleaned_data["permission"]
    try:
        changed = change(flow, holder, perm, by=request.user)
    except access.LastManager as refused:
        return _card(request, flow, "access", 409, access_message=str(refused))
    if not changed:
        return _card(request, flow, "access", 409, access_message=unchanged_message)
    if not request.htmx:
        return redirect(reverse("orchestration:flow_detail", args=[slug]) + "#access")
    return _card(request, flow, "access", access_message=done_message)


# --- API tokens ------------------------------------------------------------------------


@require_POST
def token_create(request: HttpRequest, slug: str) -> HttpResponse:
    flow = access.get_flow(request.user, slug, access.OPERATE)
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _card(request, flow, "tokens", 422, form=form)
    token, secret = tokens.create_token(flow, form.cleaned_data["name"], by=request.user)
    # The secret is in this one response only; it is stored as a hash.
    return _card(request, flow, "tokens", new_token=token, new_secret=secret)


@require_POST
def token_revoke(request: HttpRequest, slug: str, token_id: int) -> HttpResponse:
    token = access.get_token(request.user, slug, token_id, access.OPERATE)
    if not tokens.revoke_token(token, by=request.user):
        return _card(
            request, token.flow, "tokens", 409, token_message="That token was already revoked."
        )
    if not request.htmx:
        return redirect(reverse("orchestration:flow_detail", args=[slug]) + "#tokens")
    message = f"Token “{token.name}” revoked."
    return _card(request, token.flow, "tokens", token_message=message)
