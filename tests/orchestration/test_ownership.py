import pytest
from django.urls import reverse

from audit.models import AuditEvent
from tests.factories import FlowFactory, TeamFactory, UserFactory


@pytest.fixture
def world(db):
    finance, treasury = TeamFactory(name="Finance"), TeamFactory(name="Treasury")
    flow = FlowFactory(slug="invoices", owner_team=finance)
    owner = UserFactory(username="olivia", teams=[finance])
    return flow, owner, finance, treasury


def post(client, flow, **data):
    return client.post(reverse("orchestration:flow_owners", args=[flow.slug]), data)


def test_an_owner_changes_the_accountable_team_and_the_change_is_recorded(client, world):
    flow, owner, finance, treasury = world
    client.force_login(owner)
    response = post(
        client,
        flow,
        owner_team=treasury.pk,
        exception_owner_team=finance.pk,
        reason="Payables moved to Treasury",
    )
    assert response.status_code == 302
    flow.refresh_from_db()
    assert (flow.owner_team, flow.exception_owner_team) == (treasury, finance)
    events = {e.payload["field"]: e for e in AuditEvent.objects.filter(action="flow.owner_changed")}
    assert events["owner_team"].payload["old"] == "team:Finance"
    assert events["owner_team"].payload["new"] == "team:Treasury"
    assert events["owner_team"].payload["reason"] == "Payables moved to Treasury"
    assert events["owner_team"].actor_label == "olivia"
    member = UserFactory(teams=[treasury])
    assert member.has_perm("orchestration.publish_flow", flow)


def test_a_change_without_a_reason_is_refused_and_nothing_changes(client, world):
    flow, owner, finance, treasury = world
    client.force_login(owner)
    response = post(client, flow, owner_team=treasury.pk, reason="")
    assert response.status_code == 422
    assert b"Say why the owners change" in response.content
    flow.refresh_from_db()
    assert flow.owner_team == finance
    assert not AuditEvent.objects.filter(action="flow.owner_changed").exists()


def test_an_outsider_gets_404_and_a_viewer_gets_403(client, world):
    flow, _owner, _finance, treasury = world
    client.force_login(UserFactory(username="outsider"))
    assert post(client, flow, owner_team=treasury.pk, reason="x").status_code == 404
    viewer_team = TeamFactory(name="Viewers")
    from guardian.shortcuts import assign_perm

    assign_perm("orchestration.view_flow", viewer_team, flow)
    client.force_login(UserFactory(username="viewer", teams=[viewer_team]))
    assert post(client, flow, owner_team=treasury.pk, reason="x").status_code == 403
