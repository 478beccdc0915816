"""Migration 0005 ends the cases that reached a failure end before such cases ended."""

from __future__ import annotations

import datetime as dt
from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone

from orchestration.models import FlowInstance
from tests.factories import FlowInstanceFactory, StepRunFactory

pytestmark = pytest.mark.django_db
migration = import_module("orchestration.migrations.0005_failed_cases_awaiting_operator")
ENDED_AT = timezone.now() - dt.timedelta(days=3)


def failed_case(*runs: tuple[str, str, str]) -> FlowInstance:
    case = FlowInstanceFactory(status="failed")
    for step_id, kind, status in runs:
        StepRunFactory(
            instance=case, step_id=step_id, kind=kind, status=status, finished_at=ENDED_AT
        )
    return case


def test_a_case_whose_last_step_was_its_failure_end_ends_then():
    rejected = failed_case(("approve", "approval", "succeeded"), ("rejected", "end", "succeeded"))
    broken = failed_case(("pay", "http", "failed"))
    # Its failure end began a roll-back, and a compensation step failed: still to fix.
    rolling_back = failed_case(("no", "end", "succeeded"), ("refund", "http", "failed"))
    # A parallel branch still waits: an operator cancels it (with its tasks) instead.
    busy = failed_case(("approve", "approval", "waiting"), ("no", "end", "succeeded"))

    migration.end_cases_at_their_failure_end(apps, None)

    ends = dict(FlowInstance.objects.values_list("pk", "finished_at"))
    assert ends[rejected.pk] == ENDED_AT
    assert ends[broken.pk] is ends[rolling_back.pk] is ends[busy.pk] is None
