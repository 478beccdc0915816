"""The flows list and flow page as a process owner works them: a new flow opens in the
editor, the team told about failures may open the cases, nobody locks the flow away,
and each card says only what applies."""

from __future__ import annotations

import pytest
from django.urls import reverse
from guardian.shortcuts import get_perms

from orchestration import access
from orchestration.models import Flow
from tests.factories import FlowInstanceFactory, TeamFactory
from tests.orchestration.screens_world import as_user, world  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_new_flow_has_a_first_draft_that_opens_in_the_editor(world, as_user):  # noqa: F811
    client = as_user(world.owner)
    client.post(
        reverse("orchestration:flow_create"),
        {"name": "Expense claims", "owner_team": world.owner_team.pk},
    )
    flow = Flow.objects.get(name="Expense claims")
    (draft,) = flow.versions.all()
    assert (draft.number, draft.status) == (1, "draft")
    assert [s["kind"] for s in draft.definition["steps"]] == ["start", "end"]
    opened = client.get(reverse("orchestration:editor", args=[flow.slug]))
    assert opened["Location"] == reverse("orchestration:editor_version", args=[flow.slug, 1])


def test_the_editor_gives_a_flow_without_versions_its_first_draft(world, as_user):  # noqa: F811
    flow = Flow.objects.create(name="Bare", slug="bare", owner_team=world.owner_team)
    access.grant_owner_permissions(flow)
    viewer = world.other
    access.grant(flow, viewer, access.VIEW, by=world.owner)
    as_user(viewer).get(reverse("orchestration:editor", args=["bare"]))
    assert not flow.versions.exists()  # someone who may not edit creates nothing
    response = as_user(world.owner).get(reverse("orchestration:editor", args=["bare"]))
    assert response["Location"] == reverse("orchestration:editor_version", args=["bare", 1])
    assert flow.versions.get().status == "draft"


def test_the_team_told_about_failures_may_open_and_put_right_the_cases(world, as_user):  # noqa: F811
    support = world.other.groups.get()
    client = as_user(world.owner)
    client.post(
        reverse("orchestration:flow_owners", args=[world.flow.slug]),
        {
            "owner_team": world.owner_team.pk,
            "exception_owner_team": support.pk,
            "reason": "Support handles failures",
        },
    )
    assert set(get_perms(support, world.flow)) == {"view_flow", "operate_flow"}
    page = as_user(world.other).get(
        reverse("orchestration:instance_detail", args=[world.instance.pk])
    )
    assert page.status_code == 200


def test_a_flow_keeps_someone_who_may_manage_it(world, as_user):  # noqa: F811
    client = as_user(world.owner)
    url = reverse("orchestration:access_revoke", args=[world.flow.slug])
    team = f"team:{world.owner_team.pk}"
    response = client.post(
        url, {"holder": team, "permission": access.PUBLISH}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 409
    assert "Nobody else could then manage this flow" in response.content.decode()
    assert "publish_flow" in get_perms(world.owner_team, world.flow)
    access.grant(world.flow, world.viewer, access.PUBLISH, by=world.owner)
    response = client.post(
        url, {"holder": team, "permission": access.PUBLISH}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "publish_flow" not in get_perms(world.owner_team, world.flow)


def test_taking_view_away_takes_the_rest_with_it(world, as_user):  # noqa: F811
    access.grant(world.flow, world.other, access.OPERATE, by=world.owner)
    assert access.revoke(world.flow, world.other, access.VIEW, by=world.owner)
    assert get_perms(world.other, world.flow) == []


def test_only_those_who_may_read_its_audit_data_get_the_accountability_button(world, as_user):  # noqa: F811
    url = reverse("orchestration:flow_detail", args=[world.flow.slug])
    register = reverse("audit:register", args=[world.flow.slug])
    assert register in as_user(world.owner).get(url).content.decode()
    assert register not in as_user(world.viewer).get(url).content.decode()


def test_the_flows_list_tells_an_empty_list_from_no_flows(world, as_user):  # noqa: F811
    body = as_user(world.outsider).get(reverse("orchestration:flow_list")).content.decode()
    assert "No flows you may see" in body
    assert 'data-testid="new-flow"' not in body  # in no team: cannot create one
    assert 'data-testid="import-yaml"' not in body
    member = TeamFactory(name="Sales")
    world.outsider.groups.add(member)
    body = as_user(world.outsider).get(reverse("orchestration:flow_list")).content.decode()
    assert 'data-testid="new-flow"' in body


def test_the_tokens_card_of_a_flow_no_system_starts_offers_no_start_address(world, as_user):  # noqa: F811
    start = {"id": "start", "kind": "start", "config": {"triggers": [{"type": "manual"}]}}
    world.version.definition = {**world.version.definition, "steps": [start]}
    world.version.save()
    body = (
        as_user(world.owner)
        .get(reverse("orchestration:flow_detail", args=[world.flow.slug]))
        .content.decode()
    )
    assert "does not start from other systems" in body
    assert "A token lets another system read this flow's cases." in body
    assert "Other systems start cases with" not in body


def test_a_refused_request_says_so_on_the_page(world, as_user):  # noqa: F811
    FlowInstanceFactory(version=world.version)
    body = as_user(world.owner).get(reverse("orchestration:flow_list")).content.decode()
    assert 'id="request-problem"' in body and "htmx:responseError" in body
