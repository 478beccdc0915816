"""Filters for showing case data readably on the flow and instance screens."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder

from orchestration.definitions.catalog import CATALOG
from orchestration.readable import field_label, readable

register = template.Library()
MASK = "•••••"


def mask(value: Any, fields: list[str] | tuple[str, ...]) -> Any:
    """Replace the values of masked field names, at any depth."""
    if not fields:
        return value
    if isinstance(value, dict):
        return {k: MASK if k in fields else mask(v, fields) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, fields) for v in value]
    return value


@register.filter
def masked(value: Any, fields: list[str] | None) -> Any:
    return mask(value, fields or [])


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, cls=DjangoJSONEncoder, sort_keys=True)


@register.filter
def flat_rows(value: Any, titles: Mapping[str, str] | None = None) -> list[tuple[str, str]] | None:
    """Key/value rows for a small flat mapping, else None (shown as JSON instead); keys
    are labelled with their `titles` where they have one."""
    if not isinstance(value, dict) or not value or len(value) > 20:
        return None
    rows = []
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            return None
        rows.append((field_label(key, titles), readable(item)))
    return rows


@register.filter
def duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None or end < start:
        return ""
    return human_duration(end - start)


def human_duration(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days {hours % 24} h"


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "")


@register.filter
def perm_short(perm: str) -> str:
    from orchestration.access import SHORT_NAMES

    return SHORT_NAMES.get(perm, perm)


STATUS_COLOURS = {
    "running": "blue",
    "queued": "azure",
    "waiting": "yellow",
    "retry_wait": "orange",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "secondary",
    "skipped": "secondary",
    "compensating": "purple",
    "compensated": "purple",
    "draft": "yellow",
    "published": "green",
    "retired": "secondary",
}


# What kind of failure a step had, as its badge says it.
ERROR_KINDS = {
    "permanent": "Will not work on retry",
    "retryable": "Worth retrying",
    "timeout": "Took too long",
    "circuit_open": "Calls paused",
}


@register.filter
def kind_label(kind: str) -> str:
    """A step kind as the editor's palette names it ("Run another flow"), not its code."""
    known = CATALOG.get(kind)
    return known.label if known is not None else kind


@register.filter
def error_kind_label(kind: str) -> str:
    return ERROR_KINDS.get(kind, kind.replace("_", " ").capitalize())


@register.filter
def quoted(text: str) -> str:
    """“text”, unless it quotes something itself (“Pay” failed: …), which would read
    as doubled quotes."""
    text = str(text)
    return text if "“" in text else f"“{text}”"


@register.filter
def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "secondary")
