"""How a flow's cases start: its declared triggers, honoured by the start form and the API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orchestration import tokens, triggers
from orchestration.models import FlowInstance
from tests.factories import TeamFactory, UserFactory
from tests.orchestration.factories import published, sequence_definition

pytestmark = pytest.mark.django_db


def version_with(*declared: dict, team=None):
    defn = sequence_definition(1)
    defn["steps"][0]["config"] = {"triggers": list(declared)} if declared else {}
    return published(defn, **({"owner_team": team} if team else {}))


def test_a_start_step_without_triggers_starts_by_hand_and_through_the_api():
    version = version_with()
    assert triggers.accepts(version, triggers.BY_HAND)
    assert triggers.accepts(version, triggers.BY_WEBHOOK)
    assert triggers.described(version) == [
        "By hand, with the start form",
        "From another system, through the webhook API",
    ]


def test_declared_triggers_are_the_only_ways_in_and_read_in_plain_words():
    version = version_with(
        {"type": "event", "event": "supplier.delayed"},
        {"type": "schedule", "cron": "0 9 * * 1-5"},
    )
    assert not triggers.accepts(version, triggers.BY_HAND)
    assert not triggers.accepts(version, triggers.BY_WEBHOOK)
    assert triggers.described(version) == [
        "When the event “supplier.delayed” happens",
        "On a schedule: At 09:00, Monday through Friday (UTC)",
    ]


class TestScreensAndApi:
    @pytest.fixture
    def world(self):
        team = TeamFactory(name="Operations")
        owner = UserFactory(username="olivia", teams=[team])
        version = version_with({"type": "event", "event": "supplier.delayed"}, team=team)
        return version.flow, owner

    def test_the_flow_page_says_how_cases_start_and_offers_no_start_form(self, client, world):
        flow, owner = world
        client.force_login(owner)
        page = client.get(reverse("orchestration:flow_detail", args=[flow.slug]))
        content = page.content.decode()
        assert "When the event “supplier.delayed” happens" in content
        assert 'data-testid="start-form"' not in content
        assert "This flow is not started by hand: its start step has no manual trigger." in content
        assert 'data-testid="webhook-refusal"' in content

    def test_starting_by_hand_is_refused_and_nothing_starts(self, client, world):
        flow, owner = world
        client.force_login(owner)
        url = reverse("orchestration:flow_start", args=[flow.slug])
        response = client.post(url, {"_submission": "one"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 409
        assert "no manual trigger" in response.content.decode()
        assert not FlowInstance.objects.exists()

    def test_the_api_refuses_to_start_it_and_says_why(self, client, world):
        flow, owner = world
        _, secret = tokens.create_token(flow, "CRM", by=owner)
        response = client.post(
            reverse("orchestration:api_start", args=[flow.slug]),
            "{}",
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
        assert response.status_code == 403
        assert response.json()["error"] == (
            "This flow does not start from other systems: its start step has no webhook "
            "trigger. Add one in the editor to start cases through the API."
        )
        assert not FlowInstance.objects.exists()
