"""Factories for flows and versions, shared by the orchestration tests."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import factory

from orchestration.access import grant_owner_permissions
from orchestration.models import Flow, FlowVersion, VersionStatus
from tests.factories import TeamFactory


class FlowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Flow
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Flow {n}")
    slug = factory.Sequence(lambda n: f"flow-{n}")
    owner_team = factory.SubFactory(TeamFactory)

    @factory.post_generation
    def permissions(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            grant_owner_permissions(self)


class FlowVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FlowVersion

    flow = factory.SubFactory(FlowFactory)
    number = factory.Sequence(lambda n: n + 1)
    status = VersionStatus.PUBLISHED
    definition = factory.LazyFunction(lambda: sequence_definition(2))


def step(step_id: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "kind": kind,
        "label": step_id.replace("_", " ").title(),
        "owner": "system:podium",
        **extra,
    }


def link(source: str, target: str, **extra: Any) -> dict[str, Any]:
    return {"from": source, "to": target, **extra}


def definition(steps: list[dict], connections: list[dict], **extra: Any) -> dict[str, Any]:
    return {
        "format": "podium/v1",
        "input_schema": extra.pop("input_schema", {"type": "object"}),
        "steps": steps,
        "connections": connections,
        **extra,
    }


def sequence_definition(n: int, kind: str = "set") -> dict[str, Any]:
    """start → n steps of `kind` → end."""
    ids = [f"s{i}" for i in range(1, n + 1)]
    config = {"assign": {}} if kind == "set" else {}
    steps = [step("start", "start", config={"triggers": [{"type": "manual"}]})]
    steps += [step(i, kind, config=dict(config)) for i in ids]
    steps.append(step("end", "end", config={"result": "success"}))
    chain = ["start", *ids, "end"]
    return definition(steps, [link(a, b) for a, b in pairwise(chain)])


def published(defn: dict[str, Any], **flow_fields: Any) -> FlowVersion:
    flow = FlowFactory(**flow_fields)
    return FlowVersionFactory(flow=flow, definition=defn, number=1)
