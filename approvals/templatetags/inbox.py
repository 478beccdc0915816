"""Showing case data readably and deadlines as countdowns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template

from approvals.sla import describe
from orchestration.readable import field_label, readable

register = template.Library()


register.filter("label", field_label)
register.filter("readable", readable)


@register.filter
def kind_of(value: Any) -> str:
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, list):
        return "records" if value and all(isinstance(v, dict) for v in value) else "list"
    return "scalar"


@register.filter
def columns(records: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for record in records[:50]:
        for key in record:
            seen.setdefault(key, None)
    return list(seen)[:8]


@register.filter
def get(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.simple_tag
def countdown(due: datetime | None, now: datetime) -> str:
    if due is None:
        return "no deadline"
    seconds = (due - now).total_seconds()
    return f"{describe(seconds)} overdue" if seconds < 0 else f"in {describe(seconds)}"


@register.filter
def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"
    return describe(seconds)


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


@register.filter
def share(part: float, total: float) -> float:
    return round(100 * part / total, 1) if total else 0.0
