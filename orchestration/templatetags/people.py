"""`{{ user|person }}`: a person as every screen names them."""

from __future__ import annotations

from typing import Any

from django import template

from orchestration.readable import person_name

register = template.Library()


@register.filter
def person(user: Any) -> str:
    return person_name(user)
