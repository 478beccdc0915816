"""Case data as people read it: one way on every screen (the case page, the inbox)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from orchestration.models import FlowInstance, FlowVersion


def step_labels(definition: Any) -> dict[str, str]:
    """Each step's label in a flow definition, by step id (the id where it has none)."""
    steps = definition.get("steps") if isinstance(definition, dict) else None
    return {
        str(step["id"]): str(step.get("label") or step.get("name") or step["id"])
        for step in steps or []
        if isinstance(step, dict) and step.get("id")
    }


def field_titles(definition: Any) -> dict[str, str]:
    """The titles a flow definition's input schema gives its fields, by field name."""
    schema = definition.get("input_schema") if isinstance(definition, dict) else None
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return {}
    return {
        name: spec["title"].strip()
        for name, spec in properties.items()
        if isinstance(spec, dict) and isinstance(spec.get("title"), str) and spec["title"].strip()
    }


def field_label(key: Any, titles: Mapping[str, str] | None = None) -> str:
    """A data key as a label: its title from `titles` (see field_titles) if it has one,
    else made from the key: "invoice_id" → "Invoice id", "steps.check" → "Steps / check".
    A word the titles write in capitals keeps them: with a title "PO number", "has_po"
    reads "Has PO"."""
    if titles and key in titles:
        return titles[key]
    capitals = _capitalised_words(titles or {})
    words = str(key).replace("_", " ").replace(".", " / ").split()
    text = " ".join(word.upper() if word.upper() in capitals else word for word in words)
    return text[:1].upper() + text[1:]


def _capitalised_words(titles: Mapping[str, str]) -> set[str]:
    return {
        word
        for title in titles.values()
        for word in title.split()
        if len(word) > 1 and word.isalpha() and word.isupper()
    }


def readable(value: Any) -> str:
    """One value: 2350.0 → "2,350", True → "Yes", an ISO timestamp → "21 Nov 2026 16:45"."""
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


def readable_history(events: Iterable[Any], definition: Any) -> list[Any]:
    """A case's audit events as its history shows them, each given `step_label` (the
    label of the step it is about, "" if none) and `who` (who acted: a person by full
    name, the engine or an AI by the label it was recorded with). One query."""
    events = list(events)
    labels = step_labels(definition)
    people = people_names(e.actor_label for e in events if e.actor_kind == "user")
    for event in events:
        event.step_label = _step_label(event, labels)
        event.who = people.get(event.actor_label, event.actor_label)
    return events


def label_steps(items: Iterable[Any]) -> None:
    """Give each of `items` (audit events or decision records, from any cases)
    `step_label`: the label of the step it is about in its case's flow version ("" if
    none). Two queries."""
    items = [item for item in items if _step_id(item)]
    cases = {item.instance_id for item in items if item.instance_id}
    version_of = dict(FlowInstance.objects.filter(pk__in=cases).values_list("pk", "version_id"))
    definitions = FlowVersion.objects.filter(pk__in=set(version_of.values()))
    labels = {pk: step_labels(d) for pk, d in definitions.values_list("pk", "definition")}
    for item in items:
        item.step_label = _step_label(item, labels.get(version_of.get(item.instance_id), {}))


def _step_id(item: Any) -> str:
    """The step an audit event (by its payload) or a decision record is about."""
    payload = getattr(item, "payload", None)
    payload = payload if isinstance(payload, dict) else {}
    step = getattr(item, "step_id", None) or payload.get("step_id") or payload.get("step")
    return str(step) if step else ""


def _step_label(item: Any, labels: Mapping[str, str]) -> str:
    step = _step_id(item)
    return labels.get(step, step)


def people_names(usernames: Iterable[str]) -> dict[str, str]:
    """The full name (or, without one, the user name) of each of `usernames` that is a
    person's; labels of the engine or an AI are left out. One query."""
    wanted = {name for name in usernames if name}
    if not wanted:
        return {}
    people = get_user_model().objects.filter(username__in=wanted)
    return {person.get_username(): person_name(person) for person in people}


def person_name(user: Any) -> str:
    """A person as screens name them: by full name, else by user name; "" for nobody."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()
