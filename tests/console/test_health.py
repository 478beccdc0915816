import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_healthz_reports_database_broker_and_workers_without_signing_in(client):
    response = client.get(reverse("healthz"))
    body = response.json()
    assert response.status_code == 200
    assert body["database"] is True
    assert body["broker"] is True
    assert isinstance(body["workers"], int)


@pytest.mark.django_db
def test_healthz_says_503_and_why_when_the_broker_is_down(client, monkeypatch):
    monkeypatch.setattr(
        "console.health.check_broker", lambda timeout=2.0: "The message broker cannot be reached"
    )
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["errors"]["broker"].startswith("The message broker")


def test_system_check_refuses_settings_that_lose_work(settings):
    from console.checks import celery_settings_keep_work_safe

    settings.CELERY_TASK_ACKS_LATE = False
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 10}
    settings.CELERY_TASK_TIME_LIMIT = 300
    ids = {e.id for e in celery_settings_keep_work_safe()}
    assert ids == {"podium.E001", "podium.E002"}
