"""Events, joins in loops, recovery of lost event deliveries, skipped decisions and the
circuit breaker's trial call: what the third engine review found."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.chain import Actor
from audit.models import AuditEvent, DecisionRecord
from orchestration.connectors import circuit
from orchestration.engine import event_bus
from orchestration.engine import sweep as sweep_module
from orchestration.engine.api import NotAllowedNow, emit_event, start_instance
from orchestration.engine.operator import skip_step
from orchestration.models import CircuitState, InstanceStatus, StepRun, StepStatus
from tests.factories import TeamFactory, UserFactory
from tests.httpserver import Reply, scripted_server
from tests.orchestration.decisions.conftest import decision_step
from tests.orchestration.engine.test_http_connector import http_flow, run_flow
from tests.orchestration.factories import definition, link, published, step

A = Actor.system("test")
S, L = step, link


def go(defn, data=None):
    return start_instance(published(defn), data or {}, trigger="manual", actor=A)


def runs(case, sid):
    return list(StepRun.objects.filter(instance=case, step_id=sid).order_by("id"))


def on_event(name, **kw):
    return S("start", "start", config={"triggers": [{"type": "event", "event": name}]}), kw


def test_one_event_completes_one_wait_of_a_case(engine):
    w = {"event": "doc", "key": "'k'"}
    case = go(
        definition(
            [
                S("start", "start"),
                S("split", "parallel"),
                S("w1", "wait", config=w),
                S("w2", "wait", config=w),
                S("join", "join"),
                S("end", "end"),
            ],
            [
                L("start", "split"),
                L("split", "w1"),
                L("split", "w2"),
                L("w1", "join"),
                L("w2", "join"),
                L("join", "end"),
            ],
        )
    )
    engine.run()
    emit_event("doc", "k", {}, actor=A)
    engine.run()
    done = [r for r in runs(case, "w1") + runs(case, "w2") if r.status == StepStatus.SUCCEEDED]
    assert len(done) == 1


def test_an_any_join_in_a_loop_fires_once_per_round(engine):
    case = go(
        definition(
            [
                S("start", "start"),
                S("init", "set", config={"assign": {"n": "0"}}),
                S("split", "parallel"),
                S("a", "set", config={"assign": {"a": "1"}}),
                S("slow", "timer", config={"duration_seconds": 3600}),
                S("join", "join", config={"mode": "any"}),
                S("count", "set", config={"assign": {"n": "data.n + 1"}}),
                S("again", "branch"),
                S("hold", "wait", config={"event": "finish", "key": "'x'"}),
                S("end", "end"),
            ],
            [
                L("start", "init"),
                L("init", "split"),
                L("split", "a"),
                L("split", "slow"),
                L("a", "join"),
                L("slow", "join"),
                L("join", "count"),
                L("count", "again"),
                L("again", "split", condition="data.n < 2"),
                L("again", "hold", default=True),
                L("hold", "end"),
            ],
        )
    )
    engine.run()
    engine.sweep(later=timedelta(hours=2))  # both rounds' losers arrive
    case.refresh_from_db()
    assert case.data["n"] == 2  # actual: 3


def test_a_lost_delivery_still_starts_the_triggered_case(engine):
    start, _ = on_event("order.placed")
    version = published(definition([start, S("end", "end")], [L("start", "end")]))
    emit_event("order.placed", "o1", {}, actor=A)
    engine.queue.clear()  # the deliver_event message is lost
    engine.sweep(later=timedelta(minutes=2))
    assert version.instances.count() == 1
    engine.sweep(later=timedelta(minutes=3))
    assert version.instances.get().trigger == "event"  # once


def test_a_refused_event_start_is_recorded_and_told(engine, mailoutbox):
    start, _ = on_event("order.placed")
    version = published(
        definition(
            [start, S("end", "end")],
            [L("start", "end")],
            input_schema={"type": "object", "required": ["order_id"]},
        )
    )
    UserFactory(email="ops@example.com", teams=[version.flow.owner_team])
    for key in ("o1", "o2"):
        emit_event("order.placed", key, {"total": 5}, actor=A)
        engine.run()
    engine.sweep(later=timedelta(minutes=2))  # refused starts are not tried again
    refused = AuditEvent.objects.filter(stream=f"flow:{version.flow_id}").order_by("id")
    assert [(e.action, e.payload["key"]) for e in refused] == [
        ("event.start_refused", "o1"),
        ("event.start_refused", "o2"),
    ]
    assert "missing the required field 'order_id'" in refused[0].payload["problem"]
    ((mail,),) = [mailoutbox]  # once a day at most
    assert mail.to == ["ops@example.com"]
    assert "did not start from the event “order.placed”" in mail.subject
    assert not version.instances.exists()


def test_a_case_does_not_wait_for_the_event_that_started_it(engine):
    start, _ = on_event("order.updated")
    version = published(
        definition(
            [
                start,
                S("next", "wait", config={"event": "order.updated", "key": "data.id"}),
                S("end", "end"),
            ],
            [L("start", "next"), L("next", "end")],
        )
    )
    emit_event("order.updated", "o1", {"id": "o1"}, actor=A)
    engine.run()
    assert runs(version.instances.get(), "next")[0].status == StepStatus.WAITING


def test_skipping_a_waiting_decision_finalises_its_record(engine):
    TeamFactory(name="Credit review")
    case = go(
        definition(
            [S("start", "start"), decision_step(), S("ok", "end"), S("no", "end")],
            [
                L("start", "credit_check"),
                L("credit_check", "ok", condition='steps.credit_check.outcome == "approve"'),
                L("credit_check", "no", default=True),
            ],
        ),
        {"amount": 2000, "country": "FR"},
    )
    engine.run()
    (run,) = runs(case, "credit_check")
    with pytest.raises(NotAllowedNow, match="“banana” is not one of this step's outcomes"):
        skip_step(run.pk, actor=A, reason="decided by phone", output={"outcome": "banana"})
    assert not DecisionRecord.objects.get(step_run_id=run.pk).is_final
    operator = Actor.user(UserFactory(username="olga"))
    skip_step(run.pk, actor=operator, reason="decided by phone", output={"outcome": "approve"})
    record = DecisionRecord.objects.get(step_run_id=run.pk)
    assert (record.final_outcome, record.decided_by_kind, record.decided_by) == (
        "approve",
        "user",
        "olga",
    )
    assert record.reviewer_reason == "Skipped by an operator: decided by phone"


@pytest.fixture
def loopback(settings):
    settings.PODIUM_HTTP_ALLOWLIST = ["127.0.0.1"]


def test_a_trial_call_that_gets_an_oversized_answer_closes_the_circuit(engine, loopback):
    with scripted_server(Reply(200, {"blob": "x" * 5000})) as server:
        target = server.url.removeprefix("http://")
        for _ in range(5):
            circuit.record_failure(target)
        CircuitState.objects.filter(pk=target).update(
            open_until=timezone.now() - timedelta(seconds=1)
        )
        defn = http_flow(server.url)
        defn["steps"][1]["config"]["max_response_bytes"] = 1000
        run_flow(engine, defn)
    assert CircuitState.objects.get(pk=target).open_until is None


def test_waits_of_failed_cases_do_not_starve_the_catch_up(engine, monkeypatch):
    small_batch = lambda now: event_bus.catch_up_waits(now, limit=2)  # noqa: E731 (200 in production)
    monkeypatch.setattr(sweep_module, "catch_up_waits", small_batch)
    failing = published(
        definition(
            [
                S("start", "start"),
                S("split", "parallel"),
                S("w", "wait", config={"event": "paid", "key": "data.k"}),
                S("bad", "set", config={"assign": {"x": "1 / 0"}}),
                S("join", "join"),
                S("end", "end"),
            ],
            [
                L("start", "split"),
                L("split", "w"),
                L("split", "bad"),
                L("w", "join"),
                L("bad", "join"),
                L("join", "end"),
            ],
        )
    )
    for k in "ab":
        start_instance(failing, {"k": k}, trigger="manual", actor=A)
        engine.run()
        emit_event("paid", k, {}, actor=A)  # refused: that case has failed
        engine.run()
    healthy = go(
        definition(
            [
                S("start", "start"),
                S("w", "wait", config={"event": "paid", "key": "'z'"}),
                S("end", "end"),
            ],
            [L("start", "w"), L("w", "end")],
        )
    )
    engine.run()
    emit_event("paid", "z", {}, actor=A)
    engine.queue.clear()  # its delivery is lost
    engine.sweep(later=timedelta(minutes=1))
    healthy.refresh_from_db()
    assert healthy.status == InstanceStatus.SUCCEEDED


def test_a_whole_number_for_a_decimal_field_computes_as_a_decimal(engine):
    schema = {
        "type": "object",
        "properties": {
            "amount": {"type": "number"},
            "count": {"type": "integer"},
            "lines": {"type": "array", "items": {"type": "object", "properties": {
                "price": {"type": ["number", "null"]}}}},
        },
    }  # fmt: skip
    case = go(
        definition(
            [
                S("start", "start"),
                S("double", "set", config={"assign": {"twice": "data.amount * 2.0"}}),
                S("end", "end"),
            ],
            [L("start", "double"), L("double", "end")],
            input_schema=schema,
        ),
        {"amount": 100, "count": 3, "lines": [{"price": 5}, {"price": None}]},
    )
    engine.run()
    case.refresh_from_db()
    assert case.status == InstanceStatus.SUCCEEDED
    assert case.data["twice"] == 200.0
    assert type(case.input["amount"]) is float and type(case.input["count"]) is int
    assert (
        type(case.input["lines"][0]["price"]) is float and case.input["lines"][1]["price"] is None
    )


def test_the_recovery_starts_nothing_for_an_event_sent_before_the_flow_went_live(engine):
    from orchestration.models import StoredEvent

    start, _ = on_event("order.placed")
    version = published(definition([start, S("end", "end")], [L("start", "end")]))
    event = emit_event("order.placed", "o1", {}, actor=A)
    engine.queue.clear()
    StoredEvent.objects.filter(pk=event.pk).update(
        emitted_at=version.published_at - timedelta(minutes=2)
    )
    engine.sweep(later=timedelta(minutes=2))
    assert not version.instances.exists()
