import pytest
from django.urls import reverse

from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

AREAS = [
    "home",
    "orchestration:flow_list",
    "approvals:inbox",
    "approvals:escalations",
    "orchestration:dashboards",
    "audit:home",
    "console:home",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", AREAS)
def test_every_area_sends_anonymous_visitors_to_sign_in(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert f"next={url}" in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", AREAS)
def test_every_area_has_a_landing_page_for_a_signed_in_user(client_logged_in, name):
    response = client_logged_in.get(reverse(name))
    assert response.status_code == 200
    assert b'aria-label="Main navigation"' in response.content


@pytest.mark.django_db
def test_the_dashboards_page_says_it_is_not_built_yet_and_leads_to_the_cases(client_logged_in):
    page = client_logged_in.get(reverse("orchestration:dashboards")).content.decode()
    assert "Dashboards are not here yet" in page
    assert f'href="{reverse("orchestration:instance_list")}"' in page


@pytest.mark.django_db
def test_it_signs_in_with_the_right_password_and_records_it(client):
    UserFactory(username="olivia")
    response = client.post(reverse("login"), {"username": "olivia", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert AuditEvent.objects.filter(action="user.logged_in", actor_label="olivia").exists()


@pytest.mark.django_db
def test_a_wrong_password_gets_a_clear_message_and_is_recorded(client):
    UserFactory(username="olivia")
    response = client.post(reverse("login"), {"username": "olivia", "password": "nope"})
    assert response.status_code == 200
    assert b"do not match an active account" in response.content
    event = AuditEvent.objects.get(action="user.login_failed")
    assert event.payload["username"] == "olivia"


@pytest.mark.django_db
def test_signing_out_is_a_post_and_is_recorded(client_logged_in, user):
    response = client_logged_in.post(reverse("logout"))
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="user.logged_out", actor_id=str(user.pk)).exists()


@pytest.mark.django_db
def test_an_expired_csrf_token_gets_a_plain_message(client):
    client.handler.enforce_csrf_checks = True
    UserFactory(username="olivia")
    response = client.post(reverse("login"), {"username": "olivia", "password": PASSWORD})
    assert response.status_code == 403
    assert b"Your session has expired" in response.content


@pytest.mark.django_db
def test_htmx_requests_carry_the_csrf_header(client_logged_in):
    response = client_logged_in.get(reverse("home"))
    assert b'hx-headers=\'{"X-CSRFToken": "' in response.content


@pytest.mark.django_db
def test_admin_changes_are_recorded(client):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post(reverse("admin:auth_group_add"), {"name": "Treasury"})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.added")
    assert event.object_type == "auth.group"
    assert event.actor_label == "root"
