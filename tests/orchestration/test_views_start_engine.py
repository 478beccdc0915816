"""Starting cases from the form and the webhook with the real engine (no worker needed)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from orchestration import tokens
from orchestration.models import FlowInstance
from tests.factories import TeamFactory, UserFactory
from tests.orchestration.factories import published, sequence_definition

pytestmark = pytest.mark.django_db

SCHEMA = {
    "type": "object",
    "required": ["supplier", "amount"],
    "properties": {
        "supplier": {"type": "string", "pattern": "^[A-Z]"},
        "amount": {"type": "number", "minimum": 0},
    },
}


@pytest.fixture
def flow_and_owner():
    team = TeamFactory(name="Finance")
    owner = UserFactory(username="olivia", teams=[team])
    defn = {**sequence_definition(2), "input_schema": SCHEMA}
    defn["steps"][0]["config"]["triggers"] = [{"type": "manual"}, {"type": "webhook"}]
    version = published(defn, owner_team=team)
    return version.flow, owner


def test_a_double_submitted_start_form_starts_one_case(client, flow_and_owner):
    flow, owner = flow_and_owner
    client.force_login(owner)
    url = reverse("orchestration:flow_start", args=[flow.slug])
    data = {"supplier": "ACME", "amount": "10", "_submission": "same-click"}
    first, second = client.post(url, data), client.post(url, data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    instance = FlowInstance.objects.get()
    assert instance.started_by == owner
    assert instance.trigger == "manual"


def test_the_same_form_sent_again_with_other_answers_says_so_and_keeps_them(client, flow_and_owner):
    flow, owner = flow_and_owner
    client.force_login(owner)
    url = reverse("orchestration:flow_start", args=[flow.slug])
    first = client.post(url, {"supplier": "ACME", "amount": "10", "_submission": "s1"})
    changed = client.post(url, {"supplier": "ACME", "amount": "1000", "_submission": "s1"})
    case = FlowInstance.objects.get()
    assert first.status_code == 302 and changed.status_code == 409
    assert f"This form already started case #{case.pk}, with other answers" in (
        changed.content.decode()
    )
    form = changed.context_data["start_form"]
    assert form.data["amount"] == "1000" and form.submission != "s1"
    again = client.post(url, {"supplier": "ACME", "amount": "1000", "_submission": form.submission})
    assert again.status_code == 302
    assert sorted(i.input["amount"] for i in FlowInstance.objects.all()) == [10, 1000]


def test_the_engines_schema_messages_reach_the_form(client, flow_and_owner):
    flow, owner = flow_and_owner
    client.force_login(owner)
    url = reverse("orchestration:flow_start", args=[flow.slug])
    response = client.post(url, {"supplier": "acme", "amount": "10"})
    assert response.status_code == 422
    assert response.context_data["start_form"].errors["supplier"] == [
        "'acme' is not in the expected form."
    ]
    assert not FlowInstance.objects.exists()


def test_the_webhook_starts_replays_and_refuses_with_the_real_engine(client, flow_and_owner):
    flow, owner = flow_and_owner
    _, secret = tokens.create_token(flow, "CRM", by=owner)
    url = reverse("orchestration:api_start", args=[flow.slug])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}", "HTTP_IDEMPOTENCY_KEY": "order-17"}
    body = json.dumps({"supplier": "ACME", "amount": 3})
    first = client.post(url, body, content_type="application/json", **headers)
    again = client.post(url, body, content_type="application/json", **headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    bad = client.post(
        url,
        json.dumps({"supplier": "x"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert bad.status_code == 400
    assert bad.json()["problems"] == [
        "The input is missing the required field 'amount'.",
        "supplier: 'x' is not in the expected form.",
    ]
    assert FlowInstance.objects.count() == 1
    status = client.get(
        reverse("orchestration:api_instance", args=[first.json()["id"]]),
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert status.json()["trigger"] == "webhook"


def test_an_operator_cancels_a_case_with_a_reason_and_a_second_cancel_is_refused(
    client, flow_and_owner
):
    flow, owner = flow_and_owner
    client.force_login(owner)
    client.post(
        reverse("orchestration:flow_start", args=[flow.slug]),
        {"supplier": "ACME", "amount": "10", "_submission": "one"},
    )
    instance = FlowInstance.objects.get()
    url = reverse("orchestration:instance_act", args=[instance.pk])
    response = client.post(url, {"action": "cancel", "reason": "Duplicate invoice"})
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.status == "cancelled"
    event = AuditEvent.objects.filter(instance_id=instance.pk).order_by("-id").first()
    assert "Duplicate invoice" in json.dumps(event.payload)
    again = client.post(url, {"action": "cancel", "reason": "Again"}, HTTP_HX_REQUEST="true")
    assert again.status_code == 409
    assert again.context_data["action_form"].non_field_errors()
