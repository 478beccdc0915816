"""The overview says how many cases, among the flows one may see, need a person."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    FlowFactory,
    FlowInstanceFactory,
    FlowVersionFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def cases_of(team, **fields):
    return FlowInstanceFactory(
        version=FlowVersionFactory(flow=FlowFactory(owner_team=team)), **fields
    )


def test_it_counts_failed_and_stuck_cases_of_visible_flows_and_links_to_them(client):
    finance = TeamFactory(name="Finance")
    olivia = UserFactory(username="olivia", teams=[finance])
    for _ in range(2):
        cases_of(finance, status="failed")
    cases_of(finance, status="failed", finished_at=timezone.now())  # ended at a failure end
    cases_of(finance, status="running", stuck_since=timezone.now())
    cases_of(TeamFactory(name="Support"), status="failed")  # a flow she may not see
    client.force_login(olivia)
    content = client.get(reverse("home")).content.decode()
    assert "2 failed cases wait for an operator" in content
    assert f"{reverse('orchestration:instance_list')}?status=needs_operator" in content
    assert "1 case is stuck" in content


def test_it_says_so_when_nothing_needs_a_person(client):
    client.force_login(UserFactory(username="olivia", teams=[TeamFactory(name="Finance")]))
    content = client.get(reverse("home")).content.decode()
    assert "No failed or stuck cases in the flows you can see." in content
