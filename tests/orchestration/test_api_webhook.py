"""The webhook API: start a case with a bearer token, read its status."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from orchestration import tokens
from orchestration.engine import api as engine
from orchestration.models import ApiToken, FlowInstance, StepRun
from tests.factories import (
    FlowFactory,
    FlowInstanceFactory,
    FlowVersionFactory,
    StepRunFactory,
    TeamFactory,
)
from tests.orchestration.screens_world import world  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(world, monkeypatch):  # noqa: F811
    token, secret = tokens.create_token(world.flow, "CRM", by=world.owner)
    started = []

    def start(version, data, **kwargs):
        key = kwargs.get("idempotency_key")
        if "amount" not in data:
            raise engine.InputInvalid(["input: 'amount' is a required property"])
        instance = FlowInstanceFactory(
            version=version, input=data, idempotency_key=key, trigger="webhook"
        )
        started.append((version, data, kwargs))
        return instance

    monkeypatch.setattr(engine, "start_instance", start)
    return {"token": token, "secret": secret, "started": started, "world": world}


def post(client, slug, body, secret=None, **headers):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    if secret:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    url = reverse("orchestration:api_start", args=[slug])
    return client.post(url, data, content_type="application/json", **extra)


def test_it_starts_a_case_with_a_valid_token(client, api):
    response = post(client, "invoice-approval", {"amount": 5, "supplier": "ACME"}, api["secret"])
    assert response.status_code == 201
    body = response.json()
    instance = FlowInstance.objects.get(pk=body["id"])
    assert body["status"] == instance.status
    assert body["status_url"] == reverse("orchestration:api_instance", args=[instance.pk])
    ((_, _, kwargs),) = api["started"]
    assert kwargs["trigger"] == "webhook"
    assert kwargs["actor"].kind == "token"
    api["token"].refresh_from_db()
    assert api["token"].last_used_at is not None


def test_a_replay_with_the_same_idempotency_key_returns_the_same_case(client, api):
    first = post(
        client, "invoice-approval", {"amount": 5}, api["secret"], **{"Idempotency-Key": "k-1"}
    )
    again = post(
        client, "invoice-approval", {"amount": 5}, api["secret"], **{"Idempotency-Key": "k-1"}
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert len(api["started"]) == 1


def test_a_used_idempotency_key_with_a_different_body_is_refused(client, api):
    first = post(
        client, "invoice-approval", {"amount": 5}, api["secret"], **{"Idempotency-Key": "k-1"}
    )
    other = post(
        client, "invoice-approval", {"amount": 50}, api["secret"], **{"Idempotency-Key": "k-1"}
    )
    assert other.status_code == 422
    assert f"already used to start case #{first.json()['id']}" in other.json()["error"]
    assert len(api["started"]) == 1, "nothing new started"


@pytest.mark.parametrize("authorization", ["", "Bearer ", "Bearer pod_wrong", "Basic abc"])
def test_a_missing_or_wrong_token_is_refused(client, api, authorization):
    url = reverse("orchestration:api_start", args=["invoice-approval"])
    response = client.post(
        url, "{}", content_type="application/json", HTTP_AUTHORIZATION=authorization
    )
    assert response.status_code == 401
    assert "API token" in response.json()["error"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert api["started"] == []


def test_a_token_of_another_flow_is_refused(client, api):
    other = FlowFactory(slug="payroll", owner_team=TeamFactory())
    FlowVersionFactory(flow=other)
    response = post(client, "payroll", {"amount": 1}, api["secret"])
    assert response.status_code == 401


def test_a_revoked_token_is_refused(client, api):
    tokens.revoke_token(api["token"], by=None)
    assert post(client, "invoice-approval", {"amount": 1}, api["secret"]).status_code == 401


def test_an_unknown_flow_answers_like_a_wrong_token(client, api):
    assert post(client, "no-such-flow", {"amount": 1}, api["secret"]).status_code == 401


def test_malformed_json_names_the_problem(client, api):
    response = post(client, "invoice-approval", '{"amount": 5,', api["secret"])
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    assert "line 1" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('{"amount": 1e999}', "the number 1e999 is too large"),
        ('{"amount": NaN}', "NaN is not a number JSON allows"),
        ('{"amount": -Infinity}', "-Infinity is not a number JSON allows"),
        ('{"amount": ' + "9" * 5000 + "}", "a number has over 100 digits"),
        (
            '{"meta": ' + "[" * 100_000 + "]" * 100_000 + "}",
            "the data is nested more than 100 levels deep",
        ),
        ('{"supplier": "\\ud800"}', "it holds text that is not valid Unicode (at supplier)"),
        # PostgreSQL keeps no NUL, in text or in jsonb.
        ('{"invoice_id": "a\\u0000b"}', "it holds text with a null character (at invoice_id)"),
    ],
)
def test_numbers_json_does_not_allow_are_refused_and_nothing_is_stored(client, api, body, problem):
    response = post(client, "invoice-approval", body, api["secret"])
    assert response.status_code == 400
    assert response.json()["error"] == f"The body is not valid JSON: {problem}."
    assert api["started"] == []


def test_a_wrong_method_is_refused_with_what_to_use(client, api):
    response = client.get(reverse("orchestration:api_start", args=["invoice-approval"]))
    assert (response.status_code, response["Allow"]) == (405, "POST")
    assert response.json()["error"] == "Use POST here, not GET."
    status_url = reverse("orchestration:api_instance", args=[api["world"].instance.pk])
    response = client.post(status_url, "{}", content_type="application/json")
    assert (response.status_code, response["Allow"]) == (405, "GET")
    assert response.json()["error"] == "Use GET here, not POST."


def test_a_body_that_is_not_an_object_is_refused(client, api):
    response = post(client, "invoice-approval", "[1, 2]", api["secret"])
    assert response.status_code == 400
    assert "JSON object" in response.json()["error"]


def test_schema_problems_are_all_listed(client, api):
    response = post(client, "invoice-approval", {"supplier": "ACME"}, api["secret"])
    assert response.status_code == 400
    assert response.json()["problems"] == ["input: 'amount' is a required property"]


def test_an_oversize_body_is_refused_before_it_is_read(client, api, settings):
    settings.PODIUM_WEBHOOK_MAX_BYTES = 1024
    response = post(client, "invoice-approval", {"note": "x" * 2000}, api["secret"])
    assert response.status_code == 413
    assert "1024 bytes" in response.json()["error"]
    assert api["started"] == []


def test_a_flow_without_a_published_version_answers_conflict(client, api):
    api["world"].version.status = "retired"
    api["world"].version.save()
    response = post(client, "invoice-approval", {"amount": 1}, api["secret"])
    assert response.status_code == 409
    assert "no published version" in response.json()["error"]


@pytest.mark.parametrize("header", ["Idempotency-Key", "X-Business-Key"])
def test_an_overlong_key_is_refused_not_cut_short(client, api, header):
    response = post(client, "invoice-approval", {"amount": 1}, api["secret"], **{header: "k" * 201})
    assert response.status_code == 400
    assert response.json()["error"] == f"The {header} header is longer than 200 characters."
    assert api["started"] == []


def test_a_business_key_in_utf8_is_kept_as_sent(client, api):
    # The test client, like a WSGI server, hands header bytes on as Latin-1 text.
    sent = "Müller-17".encode().decode("latin-1")
    response = post(
        client, "invoice-approval", {"amount": 1}, api["secret"], **{"X-Business-Key": sent}
    )
    assert response.status_code == 201
    assert api["started"][0][2]["business_key"] == "Müller-17"


def test_a_key_that_is_not_utf8_is_refused(client, api):
    sent = "M\xfcller".encode("latin-1").decode("latin-1")  # Latin-1 bytes, not UTF-8
    response = post(
        client, "invoice-approval", {"amount": 1}, api["secret"], **{"X-Business-Key": sent}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "The X-Business-Key header is not UTF-8 text."
    assert api["started"] == []


def test_a_replay_whose_body_differs_only_in_true_for_1_is_refused(client, api):
    key = {"Idempotency-Key": "k-2"}
    post(client, "invoice-approval", {"amount": 5, "meta": {"flag": 1}}, api["secret"], **key)
    other = post(
        client, "invoice-approval", {"amount": 5, "meta": {"flag": True}}, api["secret"], **key
    )
    assert other.status_code == 422


def test_the_api_needs_no_session_or_csrf(api):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert post(strict, "invoice-approval", {"amount": 1}, api["secret"]).status_code == 201


class TestStatus:
    def get(self, client, instance_id, secret=None):
        url = reverse("orchestration:api_instance", args=[instance_id])
        headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}
        return client.get(url, **headers)

    def test_it_returns_the_status_of_a_case_of_the_tokens_flow(self, client, api):
        instance = api["world"].instance
        response = self.get(client, instance.pk, api["secret"])
        assert response.status_code == 200
        body = response.json()
        assert (body["id"], body["status"], body["flow"]) == (
            instance.pk,
            "failed",
            "invoice-approval",
        )
        assert [s["step"] for s in body["steps"]] == ["start", "post"]
        assert body["stuck_since"] is None

    def test_it_says_since_when_a_case_is_stuck(self, client, api):
        stuck = FlowInstanceFactory(
            version=api["world"].version, stuck_since=timezone.now() - timedelta(minutes=7)
        )
        body = self.get(client, stuck.pk, api["secret"]).json()
        assert (body["status"], body["stuck_since"][:16]) == (
            "running",
            stuck.stuck_since.isoformat()[:16],
        )

    def test_it_says_whether_a_failed_case_has_ended_or_waits_for_an_operator(self, client, api):
        waiting = self.get(client, api["world"].instance.pk, api["secret"]).json()
        assert (waiting["status"], waiting["ended"], waiting["finished_at"]) == (
            "failed",
            False,
            None,
        )
        rejected = FlowInstanceFactory(
            version=api["world"].version, status="failed", finished_at=timezone.now()
        )
        body = self.get(client, rejected.pk, api["secret"]).json()
        assert (body["status"], body["ended"]) == ("failed", True)

    def test_it_links_a_sub_flow_step_and_its_child_case_by_id(self, client, api):
        parent = FlowInstanceFactory(version=api["world"].version)
        step = StepRunFactory(instance=parent, step_id="check", kind="subflow", status="waiting")
        child = FlowInstanceFactory(version=api["world"].version, parent_step_run=step)
        StepRun.objects.filter(pk=step.pk).update(state={"child_instance": child.pk})
        parent_body = self.get(client, parent.pk, api["secret"]).json()
        assert parent_body["steps"][0]["child_case"] == child.pk
        assert parent_body["parent_case"] is None
        assert self.get(client, child.pk, api["secret"]).json()["parent_case"] == parent.pk

    def test_a_case_of_another_flow_is_not_found(self, client, api):
        hidden = FlowInstanceFactory(
            version=FlowVersionFactory(flow=FlowFactory(owner_team=TeamFactory()))
        )
        response = self.get(client, hidden.pk, api["secret"])
        assert response.status_code == 404
        assert self.get(client, 999999, api["secret"]).status_code == 404

    def test_it_needs_a_token(self, client, api):
        assert self.get(client, api["world"].instance.pk).status_code == 401

    def test_a_signed_in_user_without_a_token_is_still_refused(self, client, api):
        client.force_login(api["world"].owner)
        assert self.get(client, api["world"].instance.pk).status_code == 401

    def test_masked_fields_are_hidden(self, client, api):
        instance = api["world"].instance
        instance.flow.masked_fields = ["iban"]
        instance.flow.save()
        FlowInstance.objects.filter(pk=instance.pk).update(data={"iban": "DE00", "amount": 1})
        body = self.get(client, instance.pk, api["secret"]).json()
        assert body["data"]["iban"] != "DE00"


def test_tokens_are_stored_only_as_hashes(api):
    stored = ApiToken.objects.get()
    assert api["secret"] not in (stored.token_hash, stored.prefix)
    assert stored.token_hash == tokens.hash_token(api["secret"])


def test_a_replay_sending_a_whole_number_for_a_decimal_is_the_same_call(client):
    from tests.factories import UserFactory
    from tests.orchestration.factories import definition, link, published, step

    schema = {"type": "object", "properties": {"amount": {"type": "number"}}}
    version = published(
        definition(
            [step("start", "start"), step("end", "end")],
            [link("start", "end")],
            input_schema=schema,
        ),
        slug="refunds",
    )
    _, secret = tokens.create_token(version.flow, "CRM", by=UserFactory())
    first = post(client, "refunds", {"amount": 100}, secret, **{"Idempotency-Key": "r-1"})
    again = post(client, "refunds", {"amount": 100}, secret, **{"Idempotency-Key": "r-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert FlowInstance.objects.get().input == {"amount": 100.0}


@pytest.mark.parametrize("path", ["/api/instances/1/", "/api/flows/x/start/", "/api/nothing"])
def test_an_address_the_api_does_not_have_answers_json(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "without a trailing slash" in response.json()["error"]
