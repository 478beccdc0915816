"""Showing case data readably and deadlines as countdowns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from approvals.sla import describe

register = template.Library()


@register.filter
def label(key: Any) -> str:
    text = str(key).replace("_", " ").replace(".", " / ").strip()
    return text[:1].upper() + text[1:]


EVENT_LABELS = {
    "task.opened": "Task opened",
    "task.claimed": "Task claimed",
    "task.released": "Task released to the team",
    "task.decided": "Decided by a person",
    "task.reminded": "Reminder sent",
    "task.reassigned": "Escalated to the next level",
    "task.expired": "Final deadline passed",
    "task.cancelled": "Task cancelled",
    "task.delegation_moved": "Handed to a stand-in",
    "task.delegation_returned": "Returned from a stand-in",
    "decision.proposed": "AI proposed an outcome",
    "decision.finalised": "Final call recorded",
    "decision.qa_reviewed": "Quality check recorded",
}


@register.filter
def event_label(action: str) -> str:
    return EVENT_LABELS.get(action) or label(action.replace(".", " "))


@register.filter
def readable(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        return intcomma(f"{value:.2f}") if value != int(value) else intcomma(int(value))
    if isinstance(value, int):
        return intcomma(value)
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
        moment = parse_datetime(value)
        if moment:
            local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
            return f"{local:%d %b %Y %H:%M}"
    return str(value)


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
