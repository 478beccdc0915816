"""The admin console: users and teams, permissions, tokens, the HTTP allow-list, workers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from console import queues
from orchestration import tokens
from orchestration.models import AllowedTarget, CircuitState
from tests.factories import FlowFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
SECTIONS = [
    "console:people",
    "console:permissions",
    "console:tokens",
    "console:allow_list",
    "console:workers",
]


@pytest.fixture
def admin(client):
    user = UserFactory(username="root", is_staff=True)
    client.force_login(user)
    return user


@pytest.fixture(autouse=True)
def no_broker_round_trips(monkeypatch):
    monkeypatch.setattr("console.views.worker_names", lambda: ["celery@host-1"])
    monkeypatch.setattr("console.views.queue_lengths", lambda: [queues.QueueLength("podium", 7)])


@pytest.mark.parametrize("name", SECTIONS)
def test_people_who_are_not_staff_are_refused_with_a_message(client, name):
    client.force_login(UserFactory(username="olivia"))
    response = client.get(reverse(name))
    assert response.status_code == 403
    assert b"The admin console is for administrators" in response.content


@pytest.mark.parametrize("name", SECTIONS)
def test_staff_see_every_section(client, admin, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert b'data-testid="console-nav"' in response.content


def test_it_shows_who_is_in_which_team_and_who_is_inactive(client, admin):
    finance = TeamFactory(name="Finance")
    UserFactory(username="olivia", teams=[finance])
    UserFactory(username="gone", teams=[finance], is_active=False)
    content = client.get(reverse("console:people")).content.decode()
    assert "Finance" in content and "olivia" in content
    assert "Inactive" in content
    assert (
        reverse("admin:auth_user_changelist").split("?")[0] in content
        or "/django-admin/" in content
    )


def test_it_shows_every_flows_permissions(client, admin):
    FlowFactory(name="Refunds", owner_team=TeamFactory(name="Support"))
    content = client.get(reverse("console:permissions")).content.decode()
    assert "Refunds" in content and "Support" in content and "publish" in content


def test_it_lists_tokens_across_flows_without_secrets(client, admin):
    flow = FlowFactory(name="Refunds")
    token, secret = tokens.create_token(flow, "Shop", by=admin)
    content = client.get(reverse("console:tokens")).content.decode()
    assert "Refunds" in content and "Shop" in content and token.prefix in content
    assert secret not in content


def test_it_adds_an_allowed_host_and_records_it(client, admin):
    response = client.post(reverse("console:allow_list"), {"host": "ERP.internal", "note": "ERP"})
    assert response.status_code == 302
    target = AllowedTarget.objects.get()
    assert target.host == "erp.internal"
    assert target.created_by == admin
    assert AuditEvent.objects.filter(
        action="admin.added", object_type="orchestration.allowedtarget"
    ).exists()


def test_a_host_with_a_scheme_is_refused(client, admin):
    response = client.post(reverse("console:allow_list"), {"host": "http://erp.internal/x"})
    assert response.status_code == 422
    assert b"without http://" in response.content
    assert not AllowedTarget.objects.exists()


def test_adding_a_host_twice_answers_conflict(client, admin):
    AllowedTarget.objects.create(host="erp.internal")
    response = client.post(reverse("console:allow_list"), {"host": "erp.internal"})
    assert response.status_code == 409
    assert b"already on the list" in response.content


def test_it_removes_an_allowed_host_and_records_it(client, admin):
    target = AllowedTarget.objects.create(host="10.0.0.5")
    response = client.post(reverse("console:allow_list_remove", args=[target.pk]))
    assert response.status_code == 302
    assert not AllowedTarget.objects.exists()
    event = AuditEvent.objects.get(action="admin.deleted")
    assert event.payload["object"] == "10.0.0.5"


def test_removing_needs_a_post(client, admin):
    target = AllowedTarget.objects.create(host="10.0.0.5")
    response = client.get(reverse("console:allow_list_remove", args=[target.pk]))
    assert response.status_code == 405


def test_it_shows_live_workers_and_queue_lengths(client, admin):
    content = client.get(reverse("console:workers")).content.decode()
    assert "celery@host-1" in content
    assert "podium" in content and "<strong>7</strong>" in content


def test_it_shows_which_services_fail_or_have_their_calls_paused(client, admin):
    now, states = timezone.now(), CircuitState.objects
    states.create(target="erp.example.com:443", open_until=now + timedelta(seconds=20))
    states.create(target="crm.example.com:443", failures=2)
    states.create(target="mail.example.com:443", open_until=now - timedelta(seconds=1))
    states.create(target="ok.example.com:443")
    page = client.get(reverse("console:workers")).content.decode()
    assert page.count('data-testid="target"') == 3, "a service that answers is not listed"
    erp, trying, crm = (page.index(t) for t in ("erp.example", "mail.example", "crm.example"))
    assert erp < trying < crm, "paused services come first"
    assert "Calls paused for 20 s more" in page or "Calls paused for 19 s more" in page
    assert "Trying one call again" in page
    assert "2 failures in a row" in page


def test_the_queue_length_is_read_from_the_embedded_broker():
    lengths = queues.queue_lengths()
    assert [q.name for q in lengths] == ["podium"]
    assert lengths[0].messages is None or lengths[0].messages >= 0


@pytest.mark.parametrize("host", ["erp internal", "x'y", "<b>"])
def test_a_host_that_is_not_a_name_or_address_is_refused(client, admin, host):
    response = client.post(reverse("console:allow_list"), {"host": host})
    assert response.status_code == 422
    assert not AllowedTarget.objects.exists()


def test_an_ipv6_address_is_stored_without_brackets(client, admin):
    client.post(reverse("console:allow_list"), {"host": "[::1]"})
    assert AllowedTarget.objects.get().host == "::1"


@pytest.mark.django_db
def test_the_console_links_to_the_ai_endpoint_settings(client):
    client.force_login(UserFactory(username="root2", is_staff=True, is_superuser=True))
    page = client.get(reverse("console:home"))
    assert page.status_code == 200
    assert reverse("admin:decisions_llmendpoint_changelist").encode() in page.content
    assert client.get(reverse("admin:decisions_llmendpoint_add")).status_code == 200
