"""The foreign keys whose own indexes migration 0003 dropped are still served by an
index: the composite one that starts with them."""

from __future__ import annotations

import pytest
from django.db import connection

from audit.chain import Actor
from orchestration.engine.api import start_instance
from orchestration.models import FlowInstance, StepRun
from tests.orchestration.factories import published, sequence_definition

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's plans"),
    pytest.mark.django_db,
]


@pytest.mark.parametrize(
    ("queryset", "index"),
    [
        (lambda instance: StepRun.objects.filter(instance_id=instance.pk), "steprun_instance"),
        (lambda instance: FlowInstance.objects.filter(flow_id=instance.flow_id), "instance_flow"),
    ],
)
def test_a_foreign_key_lookup_uses_the_composite_index(queryset, index):
    instance = start_instance(
        published(sequence_definition(2)), {}, trigger="manual", actor=Actor.system()
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be scanned
    plan = queryset(instance).explain()
    assert index in plan, plan
