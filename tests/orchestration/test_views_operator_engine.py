"""Operator actions from the case page with the real engine (no worker needed)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.models import HumanTask, TaskStatus
from audit.chain import Actor
from audit.models import AuditEvent
from orchestration.engine.api import start_instance
from orchestration.models import InstanceStatus
from tests.factories import TeamFactory, UserFactory
from tests.orchestration.engine.driver import EngineDriver
from tests.orchestration.factories import definition, link, published, step

pytestmark = pytest.mark.django_db


def held_then_approved() -> dict:
    return definition(
        [
            step("start", "start"),
            step("hold", "set", config={"assign": {"held": "true"}}, compensation="release"),
            step(
                "approve",
                "approval",
                config={"assignees": ["team:Finance"], "outcomes": ["approve", "reject"]},
            ),
            step("done", "end"),
            step("release", "set", config={"assign": {"held": "false"}}),
        ],
        [link("start", "hold"), link("hold", "approve"), link("approve", "done")],
    )


def test_an_operator_rolls_a_case_back_from_its_page(client, monkeypatch):
    engine = EngineDriver(monkeypatch)
    team = TeamFactory(name="Finance")
    owner = UserFactory(username="olivia", first_name="Olivia", teams=[team])
    instance = start_instance(
        published(held_then_approved(), owner_team=team),
        {},
        trigger="manual",
        actor=Actor.user(owner),
    )
    engine.run()
    client.force_login(owner)
    page = reverse("orchestration:instance_detail", args=[instance.pk])
    assert 'value="rollback"' in client.get(page).content.decode()

    act = reverse("orchestration:instance_act", args=[instance.pk])
    response = client.post(
        act, {"action": "rollback", "reason": "The customer withdrew"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204
    engine.run()

    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPENSATED
    # Who did it is in the history, by full name; the reason reads as a sentence.
    assert instance.error == "Rolled back by an operator: The customer withdrew"
    assert instance.data["held"] is False
    assert HumanTask.objects.get(instance=instance).status == TaskStatus.CANCELLED
    (requested,) = AuditEvent.objects.filter(
        instance_id=instance.pk, action="instance.rollback_requested"
    )
    assert requested.payload["reason"] == "The customer withdrew"
    after = client.get(page).content.decode()
    assert 'value="rollback"' not in after
    # The timeline says which step the compensation undid, by its label.
    assert "undoes “Hold”" in after


def test_roll_back_is_offered_only_where_a_finished_step_has_a_compensation(client, monkeypatch):
    engine = EngineDriver(monkeypatch)
    team = TeamFactory(name="Finance")
    owner = UserFactory(username="olivia", teams=[team])
    defn = held_then_approved()
    del defn["steps"][1]["compensation"]
    instance = start_instance(
        published(defn, owner_team=team), {}, trigger="manual", actor=Actor.user(owner)
    )
    engine.run()
    client.force_login(owner)
    page = client.get(reverse("orchestration:instance_detail", args=[instance.pk]))
    assert page.context["can_roll_back"] is False
    assert 'value="rollback"' not in page.content.decode()
