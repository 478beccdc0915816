"""Small form fields the properties panel shares: durations, expressions, owners."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse_lazy

from orchestration.definitions.durations import LONGEST_SECONDS
from orchestration.expressions import ExpressionError, compile_expression

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def format_duration(seconds: Any) -> str:
    if seconds in (None, ""):
        return ""
    seconds = float(seconds)
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds) if seconds == int(seconds) else seconds}s"


class DurationField(forms.CharField):
    """“90s”, “15m”, “4h”, “2d”, “1w” → seconds."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "For example 30s, 15m, 4h, 2d.")
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("placeholder", "e.g. 4h")

    def prepare_value(self, value: Any) -> Any:
        return format_duration(value) if isinstance(value, int | float) else value

    def clean(self, value: Any) -> int | float | None:
        value = super().clean(value)
        if not value:
            return None
        match = DURATION.match(value)
        if not match:
            raise forms.ValidationError(
                "Write a number and a unit: s (seconds), m (minutes), h (hours), d (days)."
            )
        seconds = float(match.group(1)) * UNIT_SECONDS[match.group(2).lower()]
        if seconds <= 0:
            raise forms.ValidationError("The time must be longer than zero.")
        if seconds > LONGEST_SECONDS:
            raise forms.ValidationError("The time must be at most ten years.")
        return int(seconds) if seconds.is_integer() else seconds


def check_expression(text: str) -> str:
    """'' when the expression compiles, else a message that says where the mistake is."""
    try:
        compile_expression(text)
    except ExpressionError as exc:
        if exc.position is not None and "character" not in exc.message:
            return f"{exc.message} (at character {exc.position + 1})"
        return exc.message
    return ""


class ExpressionField(forms.CharField):
    """A CEL expression, checked as you type (htmx) and again on save."""

    is_expression = True

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {
                "class": "form-control font-monospace",
                "spellcheck": "false",
                "autocomplete": "off",
                "hx-post": reverse_lazy("orchestration:editor_check_expression"),
                "hx-trigger": "input changed delay:300ms, load",
                "hx-target": "next .expression-check",
                "hx-include": "this",
                "hx-swap": "innerHTML",
            }
        )

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and (error := check_expression(value)):
            raise forms.ValidationError(error)


def owner_choices() -> list[tuple[str, Any]]:
    """[blank, ("Teams", [...]), ("People", [...])] as `team:<name>` / `user:<username>`."""
    teams = [
        (f"team:{name}", name)
        for name in Group.objects.order_by("name").values_list("name", flat=True)
    ]
    people = [
        (f"user:{u.username}", u.get_full_name() or u.username)
        for u in get_user_model().objects.filter(is_active=True).order_by("username")[:500]
    ]
    return [("", "— nobody yet —"), ("Teams", teams), ("People", people)]


def with_current(choices: list[Any], value: Any) -> list[Any]:
    """Keep a value the draft already holds (e.g. `system:podium`) choosable."""
    flat = {
        c
        for group in choices
        for c in ([group[0]] if not isinstance(group[1], list) else [v for v, _ in group[1]])
    }
    values = value if isinstance(value, list) else [value]
    extra = [(v, v) for v in values if v and v not in flat]
    return choices + ([("Other", extra)] if extra else [])
