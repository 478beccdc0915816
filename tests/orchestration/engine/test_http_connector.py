import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.chain import Actor
from orchestration.connectors import circuit
from orchestration.engine import runner
from orchestration.engine.api import start_instance
from orchestration.models import AllowedTarget, CircuitState, FlowInstance, InstanceStatus, StepRun
from orchestration.steps.base import PermanentError
from orchestration.steps.python_action import action
from tests.httpserver import Reply, scripted_server
from tests.orchestration.factories import definition, link, published, step

ACTOR = Actor.system("test")


@pytest.fixture
def allow_loopback(settings):
    settings.PODIUM_HTTP_ALLOWLIST = ["127.0.0.1"]


def http_flow(url: str, **extra) -> dict:
    config = {
        "method": "POST",
        "url": url + "/orders/{{ data.order }}",
        "body": {"amount": "data.amount"},
        "timeout_seconds": extra.pop("timeout", 2),
    }
    steps = [
        step("start", "start"),
        step("call", "http", config=config, **extra),
        step("end", "end"),
    ]
    connections = [link("start", "call"), link("call", "end")]
    if "on_error" in extra:
        steps.append(step("handle", "set", config={"assign": {"handled": "true"}}))
        connections.append(link("handle", "end"))
    return definition(steps, connections)


def run_flow(engine, defn, data=None):
    instance = start_instance(
        published(defn), data or {"order": "A1", "amount": 5}, trigger="manual", actor=ACTOR
    )
    engine.run()
    instance.refresh_from_db()
    return instance


def calls(instance):
    return list(StepRun.objects.filter(instance=instance, step_id="call").order_by("attempt"))


def test_it_posts_the_body_and_keeps_the_answer_as_output(engine, allow_loopback):
    with scripted_server(Reply(201, {"id": 9})) as server:
        instance = run_flow(engine, http_flow(server.url))
    assert instance.status == InstanceStatus.SUCCEEDED
    assert instance.outputs["call"] == {"status": 201, "body": {"id": 9}}
    request = server.requests[0]
    assert request["path"] == "/orders/A1"
    assert request["body"] == {"amount": 5}
    assert request["headers"]["Idempotency-Key"] == calls(instance)[0].idempotency_key


def test_header_placeholders_are_filled_in_from_the_case(engine, allow_loopback):
    defn = http_flow("http://127.0.0.1")
    with scripted_server(Reply(200, {})) as server:
        config = defn["steps"][1]["config"]
        config["url"] = server.url + "/orders/{{ data.order }}"
        config["headers"] = {"X-Invoice": "{{ data.order }}", "X-Source": "podium"}
        instance = run_flow(engine, defn)
    assert instance.status == InstanceStatus.SUCCEEDED
    headers = server.requests[0]["headers"]
    assert (headers["X-Invoice"], headers["X-Source"]) == ("A1", "podium")


def test_a_header_that_would_hold_a_line_break_fails_the_step(engine, allow_loopback):
    defn = http_flow("http://127.0.0.1", on_error="handle")
    defn["steps"][1]["config"]["headers"] = {"X-Invoice": "{{ data.order }}"}
    instance = run_flow(engine, defn, {"order": "A1\r\nX-Admin: yes", "amount": 5})
    (call,) = calls(instance)
    assert call.error == "Step 'call': the header 'X-Invoice' would hold a line break."
    assert instance.data["handled"] is True


def test_the_lease_lasts_as_long_as_the_call_may(engine, settings, monkeypatch):
    defn = http_flow("https://erp.example.com", timeout=120)
    defn["steps"][1]["timeout_seconds"] = 10  # the call's own limit (120 s) is longer
    instance = start_instance(published(defn), {"order": "A1"}, trigger="manual", actor=ACTOR)
    monkeypatch.setattr(runner, "_run_claimed", lambda claim, worker: [])  # still calling
    engine.run()
    (call,) = calls(instance)
    assert call.status == "running"
    lease = (call.due_at - call.started_at).total_seconds()
    assert lease == 120 + settings.PODIUM_LEASE_MARGIN_SECONDS


def test_a_server_trickling_its_answer_is_cut_off_at_the_time_limit(engine, allow_loopback):
    body = {"note": "x" * 40}
    with scripted_server(Reply(200, body, trickle=0.05)) as server:
        defn = http_flow(server.url, timeout=1, on_error="handle", retry={"attempts": 1})
        instance = run_flow(engine, defn)
    (call,) = calls(instance)
    assert call.error_kind == "timeout"
    assert "did not answer within 1 s" in call.error
    assert instance.data["handled"] is True


@pytest.mark.parametrize(
    ("status", "header", "wait"),
    [(429, "120", 120.0), (503, "Wed, 21 Oct 2037 07:28:00 GMT", 3600.0), (503, "soon", None)],
)
def test_a_retry_waits_as_long_as_the_service_asks_within_an_hour(
    engine, allow_loopback, status, header, wait
):
    reply = Reply(status, {}, headers={"Retry-After": header})
    with scripted_server(reply) as server:
        instance = run_flow(engine, http_flow(server.url))
    first, second = calls(instance)[:2]
    pause = (second.due_at - first.finished_at).total_seconds()
    if wait is None:
        assert pause < 3 and first.error.endswith("Podium will try again.")
    else:
        assert abs(pause - wait) < 2
        assert first.error.endswith(f"Podium will try again in {wait:g} s, as it asked.")


@action("tests.http.book_fails", label="Books (the hotel refuses)")
def book_fails() -> dict:
    raise PermanentError("the hotel refused the booking")


def test_a_call_that_succeeds_after_the_case_failed_elsewhere_is_kept(
    engine, allow_loopback, monkeypatch
):
    from orchestration.connectors import http_client
    from orchestration.engine.api import skip_step

    real_exchange = http_client._exchange
    calls_made = []

    def in_flight(request, target, headers):
        calls_made.append(request.url)
        engine.run()  # meanwhile the other branch fails, and with it the case
        return real_exchange(request, target, headers)

    monkeypatch.setattr(http_client, "_exchange", in_flight)
    with scripted_server(Reply(201, {"payment": 1})) as server:
        config = {"method": "POST", "url": server.url + "/pay", "timeout_seconds": 5}
        defn = definition(
            [
                step("start", "start"),
                step("split", "parallel"),
                step("pay", "http", config=config, retry={"attempts": 3}),
                step("book", "action", config={"action": "tests.http.book_fails"}),
                step("join", "join"),
                step("end", "end"),
            ],
            [
                link("start", "split"),
                link("split", "pay"),
                link("split", "book"),
                link("pay", "join"),
                link("book", "join"),
                link("join", "end"),
            ],
        )
        instance = start_instance(published(defn), {}, trigger="manual", actor=ACTOR)
        engine.run()
        instance.refresh_from_db()
        (pay,) = StepRun.objects.filter(instance=instance, step_id="pay")
        assert instance.status == InstanceStatus.FAILED
        assert (pay.status, pay.output["body"]) == ("succeeded", {"payment": 1})
        book = StepRun.objects.get(instance=instance, step_id="book")
        skip_step(book.pk, actor=ACTOR, reason="Booked by phone")
        engine.run()
        engine.sweep(later=timedelta(minutes=5))
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    assert len(calls_made) == len(server.requests) == 1


def test_a_server_failing_twice_succeeds_on_the_third_attempt_with_one_idempotency_key(
    engine, allow_loopback
):
    retry = {"attempts": 3, "backoff_seconds": 0.01, "jitter": False}
    with scripted_server(Reply(503), Reply(502), Reply(200, {"ok": True})) as server:
        instance = run_flow(engine, http_flow(server.url, retry=retry))
    assert instance.status == InstanceStatus.SUCCEEDED
    assert [r.status for r in calls(instance)] == ["failed", "failed", "succeeded"]
    keys = {r["headers"]["Idempotency-Key"] for r in server.requests}
    assert len(server.requests) == 3 and len(keys) == 1


def test_a_4xx_answer_is_permanent_and_takes_the_error_path(engine, allow_loopback):
    with scripted_server(Reply(422, {"error": "bad amount"})) as server:
        instance = run_flow(engine, http_flow(server.url, on_error="handle"))
    assert instance.status == InstanceStatus.SUCCEEDED
    assert instance.data["handled"] is True
    assert len(calls(instance)) == 1
    assert "422" in calls(instance)[0].error


def test_a_slow_server_times_out(engine, allow_loopback):
    with scripted_server(Reply(200, {}, delay=1.5)) as server:
        instance = run_flow(engine, http_flow(server.url, timeout=0.3, retry={"attempts": 1}))
    assert instance.status == InstanceStatus.FAILED
    assert calls(instance)[0].error_kind == "timeout"


def test_an_oversized_answer_is_refused(engine, allow_loopback):
    defn = http_flow("http://127.0.0.1:1")
    with scripted_server(Reply(200, {"blob": "x" * 5000})) as server:
        defn["steps"][1]["config"]["url"] = server.url
        defn["steps"][1]["config"]["max_response_bytes"] = 1000
        instance = run_flow(engine, defn)
    assert instance.status == InstanceStatus.FAILED
    assert "larger than 1000 bytes" in instance.error


def test_private_addresses_are_refused_unless_allow_listed(engine):
    with scripted_server(Reply(200, {})) as server:
        refused = run_flow(engine, http_flow(server.url))
        AllowedTarget.objects.create(host="127.0.0.1", note="test server")
        allowed = run_flow(engine, http_flow(server.url))
    assert refused.status == InstanceStatus.FAILED
    assert "private or local address" in refused.error
    assert len(calls(refused)) == 1  # permanent: not retried
    assert allowed.status == InstanceStatus.SUCCEEDED


def test_the_circuit_opens_after_repeated_failures_and_runs_wait_instead_of_calling(
    engine, allow_loopback
):
    with scripted_server(Reply(500)) as server:
        target = server.url.removeprefix("http://")
        for _ in range(5):  # PODIUM_CIRCUIT_FAILURES
            circuit.record_failure(target)
        assert CircuitState.objects.get(pk=target).open_until > timezone.now()
        instance = run_flow(engine, http_flow(server.url, retry={"attempts": 2}))
    assert server.requests == []
    runs = calls(instance)
    assert runs[0].error_kind == "circuit_open"
    assert runs[1].status == "retry_wait"


def test_after_the_cool_down_one_waiting_case_tries_the_target_and_the_others_keep_waiting(
    engine, allow_loopback
):
    with scripted_server(Reply(500)) as server:
        target = server.url.removeprefix("http://")
        for _ in range(5):
            circuit.record_failure(target)
        CircuitState.objects.filter(pk=target).update(
            open_until=timezone.now() - timedelta(seconds=1)
        )
        version = published(http_flow(server.url, retry={"attempts": 2}))
        cases = [
            start_instance(version, {"order": f"A{n}", "amount": 5}, trigger="manual", actor=ACTOR)
            for n in range(3)
        ]
        engine.run()
    assert len(server.requests) == 1, "only the trial call reaches the failing service"
    first_attempts = [calls(case)[0] for case in cases]
    assert sorted(run.error_kind for run in first_attempts) == [
        "circuit_open",
        "circuit_open",
        "retryable",
    ]
    assert CircuitState.objects.get(pk=target).open_until > timezone.now(), "the trial failed"


def test_a_target_that_answers_even_with_a_refusal_closes_its_circuit(engine, allow_loopback):
    with scripted_server(Reply(422, {"error": "bad order"})) as server:
        target = server.url.removeprefix("http://")
        for _ in range(5):
            circuit.record_failure(target)
        CircuitState.objects.filter(pk=target).update(
            open_until=timezone.now() - timedelta(seconds=1)
        )
        instance = run_flow(engine, http_flow(server.url))
    assert len(server.requests) == 1
    assert instance.status == InstanceStatus.FAILED and "answered 422" in instance.error
    assert CircuitState.objects.get(pk=target).open_until is None


def test_a_step_told_not_to_wait_takes_its_error_path_at_once_while_calls_are_paused(
    engine, allow_loopback
):
    with scripted_server(Reply(200, {})) as server:
        target = server.url.removeprefix("http://")
        for _ in range(5):
            circuit.record_failure(target)
        defn = http_flow(server.url, on_error="handle", retry={"attempts": 3})
        defn["steps"][1]["config"]["when_paused"] = "take_error_path"
        instance = run_flow(engine, defn)
    assert server.requests == []
    assert [(r.status, r.error_kind) for r in calls(instance)] == [("failed", "circuit_open")]
    assert instance.status == InstanceStatus.SUCCEEDED
    assert instance.data["handled"] is True


def test_it_connects_to_the_address_it_checked_not_to_a_second_dns_answer(engine, monkeypatch):
    """DNS rebinding: the name resolves to an address that passes the check, then, when
    the call would look it up again, to a private one. The call goes to the first."""
    from orchestration.connectors import addresses

    real_lookup = socket.getaddrinfo
    lookups = []

    def rebinding_dns(host, *args, **kwargs):
        if host != "shop.example":
            return real_lookup(host, *args, **kwargs)
        lookups.append(host)
        if len(lookups) > 1:  # the second answer points inside
            raise socket.gaierror("a rebinding DNS server answered 10.0.0.1")
        return real_lookup("127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    # The test server's 127.0.0.1 stands in for a public address at the check.
    monkeypatch.setattr(addresses, "is_internal", lambda address: False)
    with scripted_server(Reply(200, {"ok": True})) as server:
        port = server.url.rsplit(":", 1)[1]
        instance = run_flow(engine, http_flow(f"http://shop.example:{port}"))
    assert instance.status == InstanceStatus.SUCCEEDED, instance.error
    assert lookups == ["shop.example"]
    assert server.requests[0]["headers"]["Host"] == f"shop.example:{port}"


def test_a_pinned_https_call_keeps_the_name_for_the_host_header_and_certificate():
    from orchestration.connectors.addresses import Target, pinned

    target = Target("bank.example:8443", "bank.example", "203.0.113.7")
    url, host, extensions = pinned("https://u:p@bank.example:8443/pay?x=1", target)
    assert url == "https://u:p@203.0.113.7:8443/pay?x=1"
    assert host == {"Host": "bank.example:8443"}
    assert extensions == {"sni_hostname": "bank.example"}
    v6 = Target("bank.example:443", "bank.example", "2001:db8::7")
    assert pinned("https://bank.example/pay", v6)[0] == "https://[2001:db8::7]/pay"
    by_name = Target("erp.internal:80", "erp.internal", None)  # allow-listed
    assert pinned("http://erp.internal/x", by_name) == ("http://erp.internal/x", {}, {})


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("169.254.169.254", True),  # cloud metadata
        ("100.100.100.200", True),  # the shared range: some clouds' metadata
        ("::ffff:127.0.0.1", True),
        ("::1", True),
        ("224.0.0.1", True),
        ("93.184.216.34", False),
        ("2606:4700::1111", False),
    ],
)
def test_internal_addresses_are_told_from_public_ones(address, internal):
    from orchestration.connectors.addresses import is_internal

    assert is_internal(address) is internal


def paying_flow(url: str, release: dict | None = None, refund: dict | None = None) -> dict:
    """Reserve (undone by release), then pay over HTTP (undone by refund), then pause:
    a case an operator rolls back."""
    pay = {"method": "POST", "url": url + "/pay", "timeout_seconds": 5}
    return definition(
        [
            step("start", "start"),
            step("reserve", "set", config={"assign": {"reserved": "true"}}, compensation="release"),
            step("pay", "http", config=pay, compensation="refund"),
            step("wait", "timer", config={"duration_seconds": 600}),
            step("end", "end"),
            release or step("release", "set", config={"assign": {"released": "true"}}),
            refund
            or step("refund", "set", config={"assign": {"refunded": "steps.pay.body.payment"}}),
        ],
        [
            link("start", "reserve"),
            link("reserve", "pay"),
            link("pay", "wait"),
            link("wait", "end"),
        ],
    )


def roll_back_during_the_call(engine, monkeypatch, finish_roll_back: bool) -> None:
    """While the payment call is under way, an operator rolls the case back (and, with
    `finish_roll_back`, the roll-back ends before the call comes back)."""
    from orchestration.connectors import http_client
    from orchestration.engine.api import rollback_instance

    real_exchange = http_client._exchange

    def in_flight(request, target, headers):
        (case,) = StepRun.objects.filter(step_id="pay").values_list("instance_id", flat=True)
        rollback_instance(case, actor=ACTOR, reason="The customer cancelled the order")
        if finish_roll_back:
            engine.run()
        return real_exchange(request, target, headers)

    monkeypatch.setattr(http_client, "_exchange", in_flight)


@pytest.mark.parametrize("finish_roll_back", [False, True], ids=["rolling-back", "rolled-back"])
def test_a_call_that_goes_through_after_the_roll_back_began_is_undone_too(
    engine, allow_loopback, monkeypatch, finish_roll_back
):
    from audit.models import AuditEvent

    roll_back_during_the_call(engine, monkeypatch, finish_roll_back)
    with scripted_server(Reply(201, {"payment": 7})) as server:
        instance = start_instance(
            published(paying_flow(server.url)), {}, trigger="manual", actor=ACTOR
        )
        engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPENSATED
    assert instance.finished_at is not None
    assert instance.data == {"reserved": True, "released": True, "refunded": 7}
    runs = StepRun.objects.filter(instance=instance)
    assert {r.step_id: r.status for r in runs if r.step_id in ("reserve", "pay")} == {
        "reserve": "compensated",
        "pay": "compensated",
    }
    assert runs.get(step_id="pay").output["body"] == {"payment": 7}
    assert runs.filter(step_id="refund").count() == 1
    events = AuditEvent.objects.filter(instance_id=instance.pk).order_by("id")
    notes = [
        e.action
        for e in events
        if "under way" in e.payload.get("note", e.payload.get("reason", ""))
    ]
    assert notes == ["step.succeeded"] + (["instance.compensating"] if finish_roll_back else [])
    assert len(server.requests) == 1


def test_a_call_that_fails_after_the_roll_back_began_leaves_nothing_to_undo(
    engine, allow_loopback, monkeypatch
):
    roll_back_during_the_call(engine, monkeypatch, finish_roll_back=True)
    with scripted_server(Reply(422, {"error": "card declined"})) as server:
        instance = start_instance(
            published(paying_flow(server.url)), {}, trigger="manual", actor=ACTOR
        )
        engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.COMPENSATED
    assert instance.data == {"reserved": True, "released": True}
    assert StepRun.objects.get(instance=instance, step_id="pay").status == "cancelled"
    assert not StepRun.objects.filter(instance=instance, step_id="refund").exists()


def test_a_refused_connection_is_explained_in_words(engine, allow_loopback):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound but not listening: connections are refused
        instance = run_flow(engine, http_flow(f"http://127.0.0.1:{port}", retry={"attempts": 1}))
    (attempt,) = calls(instance)
    assert attempt.error == (
        f"Could not reach http://127.0.0.1:{port}/orders/A1: the server refused the "
        "connection (is the service running?)."
    )


RELEASES = {"n": 0}


@action("tests.http.release_once_broken", label="Release (fails the first time)")
def release_once_broken() -> dict:
    RELEASES["n"] += 1
    if RELEASES["n"] == 1:
        raise PermanentError("the warehouse is offline")
    return {"released": True}


def test_a_call_that_goes_through_after_the_roll_back_failed_is_undone_when_it_goes_on(
    engine, allow_loopback, monkeypatch
):
    """The roll-back fails at 'release' while 'pay' is under way, and the payment goes
    through; once the operator retries 'release', the payment is refunded too."""
    from orchestration.connectors import http_client
    from orchestration.engine.api import retry_step, rollback_instance

    RELEASES["n"] = 0
    real = http_client._exchange

    def in_flight(request, target, headers):
        if request.url.endswith("/pay"):
            (case,) = StepRun.objects.filter(step_id="pay").values_list("instance_id", flat=True)
            rollback_instance(case, actor=ACTOR, reason="customer cancelled")
            engine.run()  # release fails: the case fails during its roll-back
            assert FlowInstance.objects.get(pk=case).status == InstanceStatus.FAILED
        return real(request, target, headers)

    monkeypatch.setattr(http_client, "_exchange", in_flight)
    release = step("release", "action", config={"action": "tests.http.release_once_broken"})
    refund = step("refund", "set", config={"assign": {"refunded": "true"}})
    with scripted_server(Reply(201, {"payment": 7})) as server:
        instance = start_instance(
            published(paying_flow(server.url, release, refund)), {}, trigger="manual", actor=ACTOR
        )
        engine.run()
    assert len(server.requests) == 1  # the payment was taken
    failed = StepRun.objects.get(instance=instance, step_id="release", status="failed")
    retry_step(failed.pk, actor=ACTOR, reason="warehouse back")
    engine.run()
    instance.refresh_from_db()
    runs = {r.step_id: r.status for r in StepRun.objects.filter(instance=instance).order_by("id")}
    assert instance.status == InstanceStatus.COMPENSATED
    # the payment that went through must have been refunded
    assert runs["pay"] == "compensated", runs
    assert StepRun.objects.filter(instance=instance, step_id="refund").exists()


def test_a_sub_flow_rolling_back_again_for_a_late_call_is_not_cancelled_as_an_orphan(
    engine, allow_loopback, monkeypatch
):
    """A child case is rolled back while its payment call is under way and the roll-back
    ends (its parent's sub-flow step fails); then the payment goes through and the child
    rolls back again. The recovery must not cancel it as a child nobody waits for."""
    from orchestration.connectors import http_client
    from orchestration.engine.api import rollback_instance

    real = http_client._exchange

    def in_flight(request, target, headers):
        if request.url.endswith("/pay"):
            (case,) = StepRun.objects.filter(step_id="pay").values_list("instance_id", flat=True)
            rollback_instance(case, actor=ACTOR, reason="customer cancelled")
            engine.run()
            assert FlowInstance.objects.get(pk=case).status == InstanceStatus.COMPENSATED
        return real(request, target, headers)

    monkeypatch.setattr(http_client, "_exchange", in_flight)
    with scripted_server(Reply(201, {"payment": 7}), Reply(503, {}), Reply(200, {})) as server:
        release = step("release", "set", config={"assign": {"released": "true"}})
        refund = step(
            "refund",
            "http",
            config={"method": "POST", "url": server.url + "/refund", "timeout_seconds": 5},
            retry={"attempts": 3, "backoff_seconds": 60, "jitter": False},
        )
        child_def = paying_flow(server.url, release, refund)
        child_version = published(child_def)
        parent = definition(
            [
                step("start", "start"),
                step("sub", "subflow", config={"flow": child_version.flow.slug}),
                step("end", "end"),
            ],
            [link("start", "sub"), link("sub", "end")],
        )
        pv = published(parent)
        start_instance(pv, {}, trigger="manual", actor=ACTOR)
        engine.run()
        child = FlowInstance.objects.get(flow=child_version.flow)
        assert child.status == InstanceStatus.COMPENSATING  # reopened for the refund
        engine.sweep(later=timedelta(minutes=2))
        child.refresh_from_db()
        paths = [r["path"] for r in server.requests]
    assert child.status == InstanceStatus.COMPENSATED, (child.status, paths)
    assert paths.count("/refund") == 2
