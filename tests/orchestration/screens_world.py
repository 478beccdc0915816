"""A small world for the screen tests: one flow and the people around it.

owner and teammate are in the owner team (every permission); viewer's team may only
see the flow; other is in a team with no grant; outsider is in no team; admin is staff.
"""

from __future__ import annotations

import importlib
import sys
import types
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from guardian.shortcuts import assign_perm

from orchestration import access
from orchestration.models import Flow, FlowInstance, FlowVersion, StepRun
from tests.factories import (
    FlowFactory,
    FlowInstanceFactory,
    FlowVersionFactory,
    StepRunFactory,
    TeamFactory,
    UserFactory,
)


@dataclass
class World:
    owner: User
    teammate: User
    viewer: User
    other: User
    outsider: User
    admin: User
    owner_team: Group
    flow: Flow
    version: FlowVersion
    instance: FlowInstance
    failed_run: StepRun


def build_world() -> World:
    finance, audit, support = (TeamFactory(name=n) for n in ("Finance", "Auditors", "Support"))
    flow = FlowFactory(name="Invoice approval", slug="invoice-approval", owner_team=finance)
    assign_perm(access.VIEW, audit, flow)
    version = FlowVersionFactory(flow=flow, number=1)
    instance = FlowInstanceFactory(version=version, status="failed", business_key="INV-1")
    StepRunFactory(instance=instance, step_id="start", kind="start")
    failed = StepRunFactory(
        instance=instance, step_id="post", kind="http", status="failed", error="Timed out"
    )
    return World(
        owner=UserFactory(username="olivia", teams=[finance]),
        teammate=UserFactory(username="alex", teams=[finance]),
        viewer=UserFactory(username="ada", teams=[audit]),
        other=UserFactory(username="sam", teams=[support]),
        outsider=UserFactory(username="nobody"),
        admin=UserFactory(username="root", is_staff=True, is_superuser=True),
        owner_team=finance,
        flow=flow,
        version=version,
        instance=instance,
        failed_run=failed,
    )


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def as_user(client):
    def sign_in(user: User):
        client.force_login(user)
        return client

    return sign_in


class FakeActions:
    """Stands in for orchestration.actions: records calls, returns what a test sets."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []
        self.raises: dict[str, Exception] = {}
        self.returns: dict[str, Any] = {}

    def make(self, name: str):
        def fn(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            if name in self.raises:
                raise self.raises[name]
            result = self.returns.get(name)
            return result(*args, **kwargs) if callable(result) else result

        return fn

    def called(self, name: str) -> list[tuple[tuple, dict]]:
        return [(a, k) for n, a, k in self.calls if n == name]


ACTION_NAMES = (
    "create_flow",
    "import_yaml",
    "publish_version",
    "new_draft_from",
    "retire_version",
    "export_yaml",
)


@pytest.fixture
def fake_actions(monkeypatch) -> FakeActions:
    try:
        module = importlib.import_module("orchestration.actions")
    except ImportError:
        module = types.ModuleType("orchestration.actions")
        monkeypatch.setitem(sys.modules, "orchestration.actions", module)
        import orchestration

        monkeypatch.setattr(orchestration, "actions", module, raising=False)
    fake = FakeActions()
    for name in ACTION_NAMES:
        monkeypatch.setattr(module, name, fake.make(name), raising=False)
    return fake


class Problem(Exception):
    def __init__(self, problems: list[Any]):
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems
