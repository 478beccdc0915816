"""`manage.py audit verify|export-heads` and the scheduled verification."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit import chain, sealing
from audit.models import AuditEvent, VerificationRun
from audit.tasks import verify_chains


def _append(stream: str, n: int) -> None:
    for i in range(n):
        chain.append(stream, [chain.Entry("test.event", chain.Actor.system(), payload={"i": i})])


@pytest.mark.django_db
def test_verify_reports_success_and_keeps_the_result(capsys):
    _append("flow:1", 3)
    call_command("audit", "verify")
    out = capsys.readouterr().out
    assert "All 3 events in 1 chain verified." in out
    run = VerificationRun.objects.get()
    assert run.ok and run.trigger == "command" and run.checked == 3
    assert AuditEvent.objects.filter(action="audit.verified").exists()


@pytest.mark.django_db
def test_verify_names_the_broken_event_and_exits_non_zero(capsys):
    _append("flow:1", 3)
    victim = AuditEvent.objects.get(stream="flow:1", seq=2)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [victim.pk])
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")
    with pytest.raises(CommandError) as failure:
        call_command("audit", "verify")
    assert failure.value.returncode == 1
    assert f"event {victim.pk}" in str(failure.value)
    assert f"event {victim.pk} in flow:1" in capsys.readouterr().out
    assert VerificationRun.objects.get().ok is False


@pytest.mark.django_db
def test_export_heads_writes_every_head_and_the_last_seal(tmp_path):
    _append("flow:1", 3)
    _append("flow:2", 1)
    target = tmp_path / "heads.json"
    call_command("audit", "export-heads", "-o", str(target), "--seal")
    document = json.loads(target.read_text())
    heads = {h["stream"]: h for h in document["heads"]}
    assert heads["flow:1"]["seq"] == 3
    assert heads["flow:1"]["hash"] == AuditEvent.objects.get(stream="flow:1", seq=3).hash
    assert "seal" in heads
    assert document["last_seal"]["digest"] == sealing.ChainSeal.objects.get().digest


@pytest.mark.django_db
def test_the_scheduled_task_records_its_run():
    _append("flow:1", 2)
    verify_chains()
    run = VerificationRun.objects.get()
    assert (run.trigger, run.ok) == ("schedule", True)
