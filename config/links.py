"""Links that leave the browser: in emails, a path alone leads nowhere."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse


def absolute_url(view: str, *args: object) -> str:
    """The full address of a view, under PODIUM_BASE_URL."""
    return settings.PODIUM_BASE_URL + reverse(view, args=args)
