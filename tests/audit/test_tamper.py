"""Append-only tables, and verification naming the event that was altered or removed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import chain
from audit.models import AuditEvent, ChainSeal, DecisionRecord
from audit.verification import verify_all, verify_stream

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only"
)


def _append(stream: str, n: int) -> None:
    for i in range(n):
        chain.append(
            stream, [chain.Entry(f"test.event{i}", chain.Actor.system(), payload={"i": i})]
        )


def _raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")  # triggers off
        try:
            cursor.execute(sql, params)
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = DEFAULT")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=40),
    number=st.one_of(st.none(), st.integers(0, 2**62)),
    payload=st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    micro=st.integers(0, 999_999),
)
def test_the_fast_canonical_hash_equals_the_spelled_out_json_form(text, number, payload, micro):
    values = {
        "stream": f"s:{text}",
        "seq": 7,
        "occurred_at": datetime(2026, 1, 2, 3, 4, 5, micro, UTC),
        "actor_kind": "user",
        "actor_id": text,
        "actor_label": text,
        "actor_version": "",
        "action": "test.é",
        "object_type": "x",
        "object_id": text,
        "flow_id": number,
        "instance_id": number,
        "business_key": text,
        "payload": payload,
        "prev_hash": "0" * 64,
    }
    assert chain.compute_hash(values) == chain.reference_hash(values)


@pytest.mark.django_db
def test_an_edited_event_is_named_by_its_id():
    _append("flow:1", 3)
    victim = AuditEvent.objects.get(stream="flow:1", seq=2)
    _raw("UPDATE audit_auditevent SET actor_label = %s WHERE id = %s", ["mallory", victim.pk])
    result = verify_all()
    assert not result.ok
    assert result.problems[0].event_id == victim.pk
    assert "altered" in result.problems[0].message
    assert str(victim.pk) in result.summary()


@pytest.mark.django_db
def test_a_deleted_event_is_named_as_the_missing_link():
    _append("flow:1", 4)
    victim = AuditEvent.objects.get(stream="flow:1", seq=2)
    after = AuditEvent.objects.get(stream="flow:1", seq=3)
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [victim.pk])
    result = verify_all()
    assert not result.ok
    problem = result.problems[0]
    assert problem.event_id == after.pk
    assert "event #2 is missing" in problem.message


@pytest.mark.django_db
def test_a_deleted_tail_of_a_case_is_caught_by_the_head_kept_on_the_case(case):
    last = AuditEvent.objects.get(stream=case.audit_stream, seq=case.audit_seq)
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [last.pk])
    result = verify_all()
    assert not result.ok
    assert f"event #{last.seq}" in result.problems[0].message
    assert not verify_stream(case.audit_stream).ok


@pytest.mark.django_db
def test_other_chains_keep_verifying_after_one_breaks():
    _append("flow:1", 3)
    _append("flow:2", 3)
    victim = AuditEvent.objects.get(stream="flow:1", seq=1)
    _raw("UPDATE audit_auditevent SET payload = %s WHERE id = %s", ['{"i": 5}', victim.pk])
    result = verify_all()
    assert [p.stream for p in result.problems] == ["flow:1"]
    assert result.checked == 6


@pytest.mark.django_db
def test_a_clean_chain_of_100000_events_verifies():
    now = datetime(2026, 11, 1, tzinfo=UTC)
    events = []
    for n in range(100):
        entries = [
            chain.Entry(
                "step.succeeded",
                chain.Actor.system(),
                "step_run",
                str(i),
                1,
                n,
                f"K-{n}",
                {"step": f"s{i}", "attempt": 1},
            )
            for i in range(1000)
        ]
        events += chain.build_events(f"instance-like:{n}", (0, chain.GENESIS), entries, now)[0]
    AuditEvent.objects.bulk_create(events, batch_size=5000)
    result = verify_all()
    assert result.ok, result.summary()
    assert result.checked == 100_000
    assert result.streams == 100


@postgres_only
@pytest.mark.django_db
def test_postgres_refuses_updates_and_deletes_of_events_and_seals():
    _append("flow:1", 1)
    ChainSeal.objects.create(last_event_id=1, streams=1, digest="x")
    for sql in (
        "UPDATE audit_auditevent SET action = 'x'",
        "DELETE FROM audit_auditevent",
        "UPDATE audit_chainseal SET digest = 'y'",
        "DELETE FROM audit_chainseal",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            connection.cursor().execute(sql)
    assert AuditEvent.objects.get().action == "test.event0"


def _proposal(**extra) -> DecisionRecord:
    fields = {
        "instance_id": 1,
        "step_run_id": 1,
        "flow_id": 1,
        "flow_version_id": 1,
        "step_id": "classify",
        "proposed_outcome": "approve",
        "confidence": 0.5,
        "threshold": 0.8,
    }
    return DecisionRecord.objects.create(**{**fields, **extra})


@pytest.mark.django_db
def test_a_decision_is_finalised_once_and_then_never_changes():
    record = _proposal()
    record.finalise(
        final_outcome="reject",
        decided_by_kind="user",
        decided_by="lee",
        reviewer_reason="Bank details changed.",
    )
    record.refresh_from_db()
    assert (record.final_outcome, record.overrode_ai) == ("reject", True)
    with pytest.raises(PermissionError):
        record.finalise(final_outcome="approve", decided_by_kind="user", decided_by="mallory")
    assert (
        DecisionRecord.objects.filter(pk=record.pk).update(
            final_outcome="approve", finalised_at=record.finalised_at
        )
        == 0
    )
    with pytest.raises(PermissionError):
        DecisionRecord.objects.filter(pk=record.pk).update(proposed_outcome="reject")
    with pytest.raises(PermissionError):
        record.delete()
    record.refresh_from_db()
    assert record.final_outcome == "reject"


@pytest.mark.django_db
def test_the_inbox_style_conditional_update_finalises_a_proposal():
    record = _proposal()
    updated = DecisionRecord.objects.filter(pk=record.pk, finalised_at__isnull=True).update(
        final_outcome="approve",
        decided_by_kind="user",
        decided_by="alex",
        reviewer_reason="",
        overrode_ai=False,
        finalised_at=datetime.now(UTC),
    )
    assert updated == 1


@postgres_only
@pytest.mark.django_db
def test_postgres_allows_only_the_one_finalising_update_of_a_decision():
    record = _proposal()
    with pytest.raises(DatabaseError, match="finalised once"), transaction.atomic():
        connection.cursor().execute(
            "UPDATE audit_decisionrecord SET confidence = 0.99, finalised_at = now(), "
            "final_outcome = 'approve' WHERE id = %s",
            [record.pk],
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_decisionrecord SET final_outcome = 'approve', decided_by = 'alex', "
            "finalised_at = now() WHERE id = %s",
            [record.pk],
        )
    for sql in (
        "UPDATE audit_decisionrecord SET final_outcome = 'reject' WHERE id = %s",
        "UPDATE audit_decisionrecord SET finalised_at = now() WHERE id = %s",
        "DELETE FROM audit_decisionrecord WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="finalised once"), transaction.atomic():
            connection.cursor().execute(sql, [record.pk])
    record.refresh_from_db()
    assert record.final_outcome == "approve" and record.confidence == 0.5


@pytest.mark.django_db
def test_a_correction_is_a_new_event_that_names_the_record(decision, auditor):
    from audit import events

    events.record_corrected(auditor, decision, "Reviewer name was mistyped.", {"decided_by": "lee"})
    correction = AuditEvent.objects.get(action="decision.corrected")
    assert correction.payload["corrects"] == {"decision": decision.pk}
    assert correction.stream == f"decision:{decision.pk}"
    assert verify_all().ok


@pytest.mark.django_db
def test_a_stream_that_grew_since_its_seal_still_verifies_and_its_sealed_tail_is_guarded():
    from audit.sealing import seal

    _append("flow:1", 2)
    seal()
    _append("flow:1", 2)
    assert verify_all().ok
    # Rewrite history from the sealed event on (a forger who recomputes every hash):
    # the chain verifies on its own, the seal does not.
    sealed = AuditEvent.objects.get(stream="flow:1", seq=2)
    forged = chain.build_events(
        "flow:1",
        (1, AuditEvent.objects.get(stream="flow:1", seq=1).hash),
        [chain.Entry("test.forged", chain.Actor.system(), payload={"i": n}) for n in range(3)],
    )[0]
    _raw("DELETE FROM audit_auditevent WHERE stream = %s AND seq >= 2", ["flow:1"])
    AuditEvent.objects.bulk_create(forged)
    result = verify_all()
    assert not result.ok
    assert result.problems[0].message == "event #2 differs from the one seal #1 names"
    assert sealed.hash != forged[0].hash
