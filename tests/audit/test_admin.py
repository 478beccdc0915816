"""The Django admin shows audit records and changes none of them."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent, DecisionRecord, VerificationRun
from tests.factories import UserFactory


@pytest.fixture
def superuser_client(client, case):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", [AuditEvent, DecisionRecord, VerificationRun])
def test_audit_records_are_listed_but_cannot_be_added(superuser_client, model):
    name = f"admin:audit_{model._meta.model_name}"
    assert superuser_client.get(reverse(f"{name}_changelist")).status_code == 200
    assert superuser_client.get(reverse(f"{name}_add")).status_code == 403


def test_an_audit_event_cannot_be_changed_or_deleted_in_the_admin(superuser_client):
    event = AuditEvent.objects.first()
    assert event is not None
    change = reverse("admin:audit_auditevent_change", args=[event.pk])
    delete = reverse("admin:audit_auditevent_delete", args=[event.pk])
    assert superuser_client.post(change, {"action": "tampered"}).status_code == 403
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.action != "tampered"
