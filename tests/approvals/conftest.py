"""Shared set-up for the inbox tests: a team, its members, an outsider, a fake engine."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission

from approvals.actions import open_task
from approvals.models import HumanTask
from tests.factories import FlowInstanceFactory, StepRunFactory, TeamFactory, UserFactory


class FakeEngine:
    """Stands in for orchestration.engine.api.complete_waiting_step: finishes a waiting
    step run once, refuses on a cancelled instance, records every call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, step_run_id: int, output: dict, *, actor: Any, goto_step=None) -> bool:
        from orchestration.engine.api import NotAllowedNow
        from orchestration.models import FlowInstance, StepRun

        run = StepRun.objects.get(pk=step_run_id)
        status = FlowInstance.objects.filter(pk=run.instance_id).values_list("status", flat=True)[0]
        if status != "running":  # the engine's own words for it
            raise NotAllowedNow(
                "This case failed at another step, so it takes no decisions or events until "
                "an operator resumes it."
                if status == "failed"
                else f"This case is {status}, so it takes no more decisions or events."
            )
        done = StepRun.objects.filter(pk=step_run_id, status="waiting").update(
            status="succeeded", output=output
        )
        self.calls.append(
            {
                "step_run": step_run_id,
                "output": output,
                "actor": actor,
                "goto_step": goto_step,
                "finished": bool(done),
            }
        )
        return bool(done)


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    from orchestration.engine import api

    fake = FakeEngine()
    monkeypatch.setattr(api, "complete_waiting_step", fake)
    return fake


@pytest.fixture
def team(db: None):
    return TeamFactory(name="Finance")


@pytest.fixture
def leads(db: None):
    return TeamFactory(name="Finance leads")


@pytest.fixture
def alex(team):
    return UserFactory(username="alex", first_name="Alex", last_name="Approver", teams=[team])


@pytest.fixture
def blake(team):
    return UserFactory(username="blake", first_name="Blake", last_name="Teammate", teams=[team])


@pytest.fixture
def lee(leads):
    return UserFactory(username="lee", first_name="Lee", last_name="Lead", teams=[leads])


@pytest.fixture
def auditor(db: None):
    user = UserFactory(username="audrey")
    user.user_permissions.add(Permission.objects.get(codename="view_humantask"))
    return user


@pytest.fixture
def outsider(db: None):
    return UserFactory(username="oscar", teams=[TeamFactory(name="Marketing")])


def approval_step(**config: Any) -> dict[str, Any]:
    step = {
        "id": "approve_invoice",
        "kind": "approval",
        "label": "Approve invoice",
        "owner": "team:Finance",
        "sla": {"minutes": 240},
        "config": {"assignees": {"team": "Finance"}, "outcomes": ["approve", "reject"]},
    }
    sla = config.pop("sla", None)
    if sla is not None:
        step["sla"] = sla
    step["config"].update(config)
    return step


def make_task(step: dict[str, Any] | None = None, data: dict | None = None, **kw: Any) -> HumanTask:
    data = data if data is not None else {"supplier": "ACME", "amount": 1200, "currency": "EUR"}
    instance = FlowInstanceFactory(data=data, input=data, business_key=kw.pop("key", "INV-1"))
    run = StepRunFactory(
        instance=instance, step_id="approve_invoice", kind="approval", status="waiting"
    )
    return open_task(run, step or approval_step(), instance, **kw)


@pytest.fixture
def task(team, alex, blake):
    return make_task()
