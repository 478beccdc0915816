"""Two approvers deciding the same task at the same moment (PostgreSQL, real threads)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from approvals.models import HumanTask
from audit.models import AuditEvent

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def _race(requests):
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def run(index, request):
        try:
            barrier.wait()
            results[index] = request()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.mark.parametrize("attempt", range(5))
def test_two_approvers_at_once_record_exactly_one_decision(task, alex, blake, engine, attempt):
    url = reverse("approvals:decide", args=[task.pk])

    def decide_as(user, outcome):
        def request():
            client = Client()
            client.force_login(user)
            reason = "" if outcome == "approve" else "too expensive"
            return client.post(url, {"outcome": outcome, "reason": reason}, HTTP_HX_REQUEST="true")

        return request

    first, second = _race([decide_as(alex, "approve"), decide_as(blake, "reject")])
    codes = sorted([first.status_code, second.status_code])
    assert codes == [200, 409]
    loser = first if first.status_code == 409 else second
    assert b"already decided by" in loser.content
    task.refresh_from_db()
    assert task.status == "done"
    assert len([c for c in engine.calls if c["finished"]]) == 1
    assert AuditEvent.objects.filter(stream=f"task:{task.pk}", action="task.decided").count() == 1


def test_two_people_claiming_at_once_one_wins(task, alex, blake):
    def claim_as(user):
        def request():
            client = Client()
            client.force_login(user)
            return client.post(reverse("approvals:claim", args=[task.pk]), HTTP_HX_REQUEST="true")

        return request

    results = _race([claim_as(alex), claim_as(blake)])
    assert sorted(r.status_code for r in results) == [200, 409]
    assert HumanTask.objects.get(pk=task.pk).claimed_by in (alex, blake)
