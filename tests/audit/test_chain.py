import pytest
from django.db import connection

from audit import chain
from audit.models import AuditEvent
from audit.sealing import seal
from audit.verification import verify_events


def _append(stream: str, n: int = 1) -> None:
    for i in range(n):
        chain.append(
            stream, [chain.Entry(f"test.event{i}", chain.Actor.system(), payload={"i": i})]
        )


@pytest.mark.django_db
def test_it_links_each_event_to_the_one_before_in_its_stream():
    _append("flow:1", 3)
    _append("flow:2", 1)
    events = list(AuditEvent.objects.filter(stream="flow:1").order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == chain.GENESIS
    assert events[1].prev_hash == events[0].hash
    assert AuditEvent.objects.get(stream="flow:2").seq == 1


@pytest.mark.django_db
def test_a_clean_chain_verifies():
    _append("flow:1", 5)
    result = verify_events()
    assert result.ok, result.summary()
    assert result.checked == 5


@pytest.mark.django_db
def test_it_refuses_to_update_or_delete_through_the_orm():
    _append("flow:1")
    event = AuditEvent.objects.get()
    event.action = "tampered"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().update(action="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


def _raw_sql(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")  # disables triggers
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


@pytest.mark.django_db
def test_verify_names_an_event_edited_behind_its_back():
    _append("flow:1", 3)
    victim = AuditEvent.objects.get(stream="flow:1", seq=2)
    _raw_sql("UPDATE audit_auditevent SET payload = %s WHERE id = %s", ['{"i": 99}', victim.id])
    result = verify_events()
    assert not result.ok
    assert result.problems[0].event_id == victim.id
    assert "altered" in result.problems[0].message


@pytest.mark.django_db
def test_verify_names_a_gap_left_by_a_deleted_event():
    _append("flow:1", 3)
    victim = AuditEvent.objects.get(stream="flow:1", seq=2)
    _raw_sql("DELETE FROM audit_auditevent WHERE id = %s", [victim.id])
    result = verify_events()
    assert not result.ok
    assert "sequence gap" in result.problems[0].message


@pytest.mark.django_db
def test_a_seal_reveals_a_deleted_tail():
    _append("flow:1", 3)
    seal()
    last = AuditEvent.objects.get(stream="flow:1", seq=3)
    _raw_sql("DELETE FROM audit_auditevent WHERE id = %s", [last.id])
    result = verify_events()
    assert not result.ok
    assert any("missing" in p.message for p in result.problems)


@pytest.mark.django_db
def test_sealing_twice_without_news_writes_nothing():
    _append("flow:1")
    assert seal() is not None
    assert seal() is None
