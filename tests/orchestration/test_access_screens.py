"""Every flow and case screen, as owner, teammate, read-only team, other team and outsider.

Objects the user may not see answer 404 (ids cannot be probed); objects they may see
but not act on answer 403 with a message.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from orchestration import tokens
from orchestration.engine import api as engine
from tests.factories import FlowFactory, FlowInstanceFactory, FlowVersionFactory, TeamFactory
from tests.orchestration.screens_world import as_user, fake_actions, world  # noqa: F401

# (method, url name, kwargs from the world, least permission needed)
ENDPOINTS = [
    ("get", "orchestration:flow_detail", lambda w: {"slug": w.flow.slug}, "view"),
    ("get", "orchestration:version_yaml", lambda w: {"slug": w.flow.slug, "number": 1}, "view"),
    ("get", "orchestration:instance_detail", lambda w: {"instance_id": w.instance.pk}, "view"),
    ("get", "orchestration:instance_live", lambda w: {"instance_id": w.instance.pk}, "view"),
    ("get", "orchestration:flow_start", lambda w: {"slug": w.flow.slug}, "operate"),
    ("post", "orchestration:flow_start", lambda w: {"slug": w.flow.slug}, "operate"),
    ("post", "orchestration:flow_import_draft", lambda w: {"slug": w.flow.slug}, "edit"),
    (
        "post",
        "orchestration:version_publish",
        lambda w: {"slug": w.flow.slug, "number": 1},
        "publish",
    ),
    (
        "post",
        "orchestration:version_retire",
        lambda w: {"slug": w.flow.slug, "number": 1},
        "publish",
    ),
    (
        "post",
        "orchestration:version_new_draft",
        lambda w: {"slug": w.flow.slug, "number": 1},
        "edit",
    ),
    ("post", "orchestration:access_grant", lambda w: {"slug": w.flow.slug}, "publish"),
    ("post", "orchestration:access_revoke", lambda w: {"slug": w.flow.slug}, "publish"),
    ("post", "orchestration:token_create", lambda w: {"slug": w.flow.slug}, "operate"),
    (
        "post",
        "orchestration:token_revoke",
        lambda w: {"slug": w.flow.slug, "token_id": w.token.pk},
        "operate",
    ),
    ("post", "orchestration:instance_act", lambda w: {"instance_id": w.instance.pk}, "operate"),
]
IDS = [f"{method}-{name.split(':')[1]}" for method, name, _, _ in ENDPOINTS]


@pytest.fixture
def quiet_engine(monkeypatch):
    """The engine's operations succeed without doing anything."""
    for name in ("cancel_instance", "resume_instance", "retry_step", "skip_step"):
        monkeypatch.setattr(engine, name, lambda *a, **k: None)
    monkeypatch.setattr(engine, "start_instance", lambda *a, **k: a[0].flow.instances.first())


@pytest.fixture
def scene(world, fake_actions, quiet_engine):  # noqa: F811
    world.token, _ = tokens.create_token(world.flow, "CRM", by=world.owner)
    fake_actions.returns["export_yaml"] = "name: Invoice approval\n"
    fake_actions.returns["new_draft_from"] = lambda v, **k: FlowVersionFactory(
        flow=v.flow, number=9, status="draft"
    )
    return world


def call(client, method, name, kwargs):
    url = reverse(name, kwargs=kwargs)
    return client.get(url) if method == "get" else client.post(url, {"reason": "checked"})


@pytest.mark.parametrize(("method", "name", "kwargs", "perm"), ENDPOINTS, ids=IDS)
@pytest.mark.parametrize("who", ["owner", "teammate"])
def test_the_owner_team_reaches_every_screen(scene, as_user, method, name, kwargs, perm, who):  # noqa: F811
    response = call(as_user(getattr(scene, who)), method, name, kwargs(scene))
    assert response.status_code not in (403, 404, 500), response.content[:500]


@pytest.mark.parametrize(("method", "name", "kwargs", "perm"), ENDPOINTS, ids=IDS)
def test_a_read_only_team_sees_but_cannot_act(scene, as_user, method, name, kwargs, perm):  # noqa: F811
    response = call(as_user(scene.viewer), method, name, kwargs(scene))
    if perm == "view":
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert b"You need the permission to" in response.content


@pytest.mark.parametrize(("method", "name", "kwargs", "perm"), ENDPOINTS, ids=IDS)
@pytest.mark.parametrize("who", ["other", "outsider"])
def test_other_teams_and_outsiders_get_not_found(scene, as_user, method, name, kwargs, perm, who):  # noqa: F811
    response = call(as_user(getattr(scene, who)), method, name, kwargs(scene))
    assert response.status_code == 404


@pytest.mark.parametrize(("method", "name", "kwargs", "perm"), ENDPOINTS, ids=IDS)
def test_anonymous_visitors_are_sent_to_sign_in(scene, client, method, name, kwargs, perm):
    response = call(client, method, name, kwargs(scene))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_case_of_another_flow_is_not_found_by_guessing_its_id(scene, as_user):  # noqa: F811
    hidden = FlowInstanceFactory(
        version=FlowVersionFactory(flow=FlowFactory(owner_team=TeamFactory()))
    )
    client = as_user(scene.owner)
    for name in ("orchestration:instance_detail", "orchestration:instance_live"):
        assert client.get(reverse(name, args=[hidden.pk])).status_code == 404
    response = client.post(reverse("orchestration:instance_act", args=[hidden.pk]), {"reason": "x"})
    assert response.status_code == 404


def test_a_token_of_another_flow_cannot_be_revoked_through_this_flow(scene, as_user):  # noqa: F811
    elsewhere = FlowFactory(owner_team=scene.owner_team)
    foreign, _ = tokens.create_token(elsewhere, "Other", by=scene.owner)
    url = reverse("orchestration:token_revoke", args=[scene.flow.slug, foreign.pk])
    assert as_user(scene.owner).post(url).status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


def test_a_step_of_another_case_cannot_be_retried_through_this_case(scene, as_user, monkeypatch):  # noqa: F811
    other_case = FlowInstanceFactory(version=scene.version)
    calls = []
    monkeypatch.setattr(engine, "retry_step", lambda *a, **k: calls.append(a))
    url = reverse("orchestration:instance_act", args=[other_case.pk])
    response = as_user(scene.owner).post(
        url, {"action": "retry", "step_run": scene.failed_run.pk, "reason": "try again"}
    )
    assert response.status_code == 422
    assert calls == []


def test_an_administrator_sees_every_flow(scene, as_user):  # noqa: F811
    response = as_user(scene.admin).get(
        reverse("orchestration:flow_detail", args=[scene.flow.slug])
    )
    assert response.status_code == 200
    assert b"Who can do what" in response.content
