"""The engine through a real broker and real Celery workers."""

import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.chain import Actor
from audit.models import AuditEvent
from orchestration.engine import dispatch
from orchestration.engine.api import start_instance
from orchestration.engine.sweep import sweep
from orchestration.models import FlowInstance, InstanceStatus, StepRun, StepStatus
from tests.httpserver import Reply, scripted_server
from tests.orchestration.factories import definition, link, published, sequence_definition, step
from tests.workers import kill, wait_for, worker_process

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ACTOR = Actor.system("test")


def finished(instance_id: int) -> bool:
    return FlowInstance.objects.get(pk=instance_id).status != InstanceStatus.RUNNING


def test_a_worker_runs_a_ten_step_flow_to_the_end(celery_worker):
    instance = start_instance(published(sequence_definition(10)), {}, trigger="manual", actor=ACTOR)
    wait_for(lambda: finished(instance.pk), what="the case to finish")
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    assert StepRun.objects.filter(instance=instance, status="succeeded").count() == 12


def test_a_message_delivered_twice_to_a_worker_completes_once(celery_worker, settings):
    settings.PODIUM_INLINE_STEPS = 0
    defn = definition(
        [
            step("start", "start"),
            step("pause", "timer", config={"duration_seconds": 3600}),
            step("end", "end"),
        ],
        [link("start", "pause"), link("pause", "end")],
    )
    instance = start_instance(published(defn), {}, trigger="manual", actor=ACTOR)
    wait_for(
        lambda: StepRun.objects.filter(instance=instance, status="waiting").exists(),
        what="the timer to start",
    )
    pause = StepRun.objects.get(instance=instance, step_id="pause")
    StepRun.objects.filter(pk=pause.pk).update(due_at=timezone.now())
    dispatch.send([pause.pk, pause.pk, pause.pk])
    wait_for(lambda: finished(instance.pk), what="the case to finish")
    assert StepRun.objects.filter(instance=instance, step_id="end").count() == 1
    assert AuditEvent.objects.filter(action="step.succeeded", object_id=str(pause.pk)).count() == 1


def test_a_server_failing_twice_is_retried_by_the_worker(celery_worker, settings):
    settings.PODIUM_HTTP_ALLOWLIST = ["127.0.0.1"]
    with scripted_server(Reply(503), Reply(503), Reply(200, {"ok": 1})) as server:
        defn = definition(
            [
                step("start", "start"),
                step(
                    "call",
                    "http",
                    config={"url": server.url, "timeout_seconds": 2},
                    retry={"attempts": 3, "backoff_seconds": 0.05, "jitter": False},
                ),
                step("end", "end"),
            ],
            [link("start", "call"), link("call", "end")],
        )
        instance = start_instance(published(defn), {}, trigger="manual", actor=ACTOR)
        wait_for(lambda: finished(instance.pk), what="the case to finish")
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    assert len(server.requests) == 3


def test_a_worker_killed_mid_step_does_not_lose_the_case():
    with scripted_server(Reply(200, {"slow": True}, delay=60), Reply(200, {"ok": True})) as server:
        defn = definition(
            [
                step("start", "start"),
                step(
                    "call",
                    "http",
                    config={"url": server.url},
                    timeout_seconds=2,
                    retry={"attempts": 2, "backoff_seconds": 0.05, "jitter": False},
                ),
                step("end", "end"),
            ],
            [link("start", "call"), link("call", "end")],
        )
        version = published(defn)
        env = {"PODIUM_HTTP_ALLOWLIST": "127.0.0.1", "PODIUM_LEASE_MARGIN_SECONDS": "1"}
        with worker_process(**env) as first:
            instance = start_instance(version, {}, trigger="manual", actor=ACTOR)
            wait_for(lambda: len(server.requests) == 1, what="the first call to start")
            kill(first, signal.SIGKILL)
        run = StepRun.objects.get(instance=instance, step_id="call")
        assert run.status == StepStatus.RUNNING
        with worker_process(**env):
            wait_for(
                lambda: sweep(timezone.now()).due > 0 or finished(instance.pk),
                timeout=20,
                what="the lease to expire",
            )
            wait_for(lambda: finished(instance.pk), what="the case to finish")
            sweep(timezone.now() + timedelta(minutes=2))
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    runs = list(StepRun.objects.filter(instance=instance, step_id="call").order_by("attempt"))
    assert [r.error_kind for r in runs] == ["timeout", ""]
    assert [r.status for r in runs] == ["failed", "succeeded"]
