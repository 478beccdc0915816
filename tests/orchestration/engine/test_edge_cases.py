"""Cases a process owner builds that once went wrong: a compensation retried, a sub-flow
step skipped or rolled back, a failure already handled by its error path, an action's
answer that JSON cannot hold, an empty event key, and a step that chooses a path."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest

from audit.chain import Actor
from orchestration.definitions.lint import validate
from orchestration.engine.api import (
    InputInvalid,
    NotAllowedNow,
    emit_event,
    retry_step,
    skip_step,
    start_instance,
)
from orchestration.models import FlowInstance, InstanceStatus, StepRun, StepStatus
from orchestration.steps.base import PermanentError, RetryableError
from orchestration.steps.python_action import action
from tests.orchestration.factories import definition, link, published, step

ACTOR = Actor.system("test")
CALLS: dict[str, int] = {}


@pytest.fixture(autouse=True)
def _no_calls_yet():
    CALLS.clear()


def count(name: str) -> int:
    CALLS[name] = CALLS.get(name, 0) + 1
    return CALLS[name]


@action("tests.edge.refund_fails_once", label="Refund, busy the first time")
def refund_fails_once() -> dict:
    if count("refund") < 2:
        raise RetryableError("the refund service is busy")
    return {"refunded": True}


@action("tests.edge.ok", label="Works")
def ok() -> dict:
    return {"ok": True}


@action("tests.edge.declined_once", label="Declined the first time")
def declined_once() -> dict:
    if count("pay") < 2:
        raise PermanentError("card declined")
    return {"paid": True}


@action("tests.edge.booked_at", label="Books and says when, as a Python date")
def booked_at() -> dict:
    count("booked_at")
    return {"booked_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}


@action("tests.edge.nothing", label="Does something and answers nothing")
def nothing() -> None:
    count("nothing")


def start(version, data=None):
    return start_instance(version, data or {}, trigger="manual", actor=ACTOR)


def runs(instance, step_id: str) -> list[StepRun]:
    return list(StepRun.objects.filter(instance=instance, step_id=step_id).order_by("id"))


def errors(defn: dict) -> list:
    return [p for p in validate(defn) if p.severity == "error"]


def test_a_retried_compensation_goes_on_rolling_back(engine):
    defn = definition(
        [
            step("start", "start"),
            step("book", "action", config={"action": "tests.edge.ok"}, compensation="unbook"),
            step("charge", "action", config={"action": "tests.edge.ok"}, compensation="refund"),
            step(
                "refund",
                "action",
                config={"action": "tests.edge.refund_fails_once"},
                retry={"attempts": 3, "backoff_seconds": 0.01, "jitter": False},
            ),
            step("unbook", "set", config={"assign": {"unbooked": "true"}}),
            step("no_stock", "end", config={"result": "failure", "reason": "No stock"}),
        ],
        [link("start", "book"), link("book", "charge"), link("charge", "no_stock")],
    )
    version = published(defn)
    instance = start(version)
    engine.run()
    engine.sweep(later=timedelta(seconds=5))
    instance.refresh_from_db()
    refunds = runs(instance, "refund")
    assert [r.status for r in refunds] == [StepStatus.FAILED, StepStatus.SUCCEEDED]
    assert refunds[1].state["compensates"] == "charge"
    assert [r.status for r in runs(instance, "unbook")] == [StepStatus.SUCCEEDED]
    assert instance.status == InstanceStatus.COMPENSATED
    assert CALLS["refund"] == 2


def child_flow(slug: str = "child", rolls_back: bool = False) -> None:
    if rolls_back:
        steps = [
            step("start", "start"),
            step("do", "set", config={"assign": {"done": "true"}}, compensation="undo"),
            step("undo", "set", config={"assign": {"undone": "true"}}),
            step("no", "end", config={"result": "failure", "reason": "Rolled back"}),
        ]
        connections = [link("start", "do"), link("do", "no")]
    else:
        steps = [
            step("start", "start"),
            step("hold", "wait", config={"event": "tests.go", "key": "'k'"}),
            step("end", "end"),
        ]
        connections = [link("start", "hold"), link("hold", "end")]
    published(definition(steps, connections), slug=slug)


def parent_flow(**call: object):
    return published(
        definition(
            [
                step("start", "start"),
                step("call", "subflow", config={"flow": "child"}, **call),
                step("end", "end"),
                step("fallback", "end", config={"result": "failure", "reason": "Child failed"}),
            ],
            [link("start", "call"), link("call", "end")],
        ),
        slug="parent",
    )


def test_skipping_a_waiting_sub_flow_step_cancels_its_child_case(engine):
    child_flow()
    parent = start(parent_flow())
    engine.run()
    (call,) = runs(parent, "call")
    assert call.status == StepStatus.WAITING
    skip_step(call.pk, actor=ACTOR, reason="Done by hand")
    engine.run()
    parent.refresh_from_db()
    child = FlowInstance.objects.get(parent_step_run=call)
    assert parent.status == InstanceStatus.SUCCEEDED
    assert child.status == InstanceStatus.CANCELLED


def test_a_child_case_that_rolls_back_tells_its_parent_at_once(engine):
    child_flow(rolls_back=True)
    parent = start(parent_flow(on_error="fallback"))
    engine.run()
    child = FlowInstance.objects.get(parent_step_run__instance=parent)
    parent.refresh_from_db()
    assert child.status == InstanceStatus.COMPENSATED
    assert runs(parent, "call")[0].status == StepStatus.FAILED
    assert parent.status == InstanceStatus.FAILED
    assert parent.error == "Child failed"


def test_a_failure_its_error_path_handles_can_no_longer_be_retried_or_skipped(engine):
    defn = definition(
        [
            step("start", "start"),
            step(
                "pay",
                "action",
                label="Charge the card",
                config={"action": "tests.edge.declined_once"},
                on_error="ask",
            ),
            step("ask", "wait", label="Ask the customer", config={"event": "t.a", "key": "'x'"}),
            step("ship", "set", config={"assign": {"shipped": "true"}}),
            step("paid", "end"),
            step("refused", "end", config={"result": "failure", "reason": "Declined"}),
        ],
        [link("start", "pay"), link("pay", "ship"), link("ship", "paid"), link("ask", "refused")],
    )
    instance = start(published(defn))
    engine.run()
    (pay,) = runs(instance, "pay")
    assert pay.status == StepStatus.FAILED
    for act in (retry_step, skip_step):
        with pytest.raises(NotAllowedNow, match="error path \\(“Ask the customer”\\)"):
            act(pay.pk, actor=ACTOR, reason="Try again")
    engine.run()
    instance.refresh_from_db()
    assert "shipped" not in instance.data
    assert runs(instance, "ask")[0].status == StepStatus.WAITING


def action_flow(name: str) -> dict:
    return definition(
        [
            step("start", "start"),
            step("act", "action", config={"action": name}, on_error="handle"),
            step("handle", "set", config={"assign": {"handled": "true"}}),
            step("end", "end"),
        ],
        [link("start", "act"), link("act", "end"), link("handle", "end")],
    )


def test_an_answer_json_cannot_hold_fails_the_step_once_and_takes_its_error_path(engine):
    instance = start(published(action_flow("tests.edge.booked_at")))
    engine.run()
    engine.sweep(later=timedelta(hours=2))
    instance.refresh_from_db()
    (act,) = runs(instance, "act")
    assert act.status == StepStatus.FAILED
    assert (
        act.error == "The step gave a date and time, which JSON cannot hold (at output.booked_at)."
    )
    assert instance.data["handled"] is True
    assert instance.status == InstanceStatus.SUCCEEDED
    assert CALLS["booked_at"] == 1


def test_an_action_that_answers_nothing_succeeds_with_an_empty_output(engine):
    instance = start(published(action_flow("tests.edge.nothing")))
    engine.run()
    instance.refresh_from_db()
    (act,) = runs(instance, "act")
    assert act.status == StepStatus.SUCCEEDED and act.output == {}
    assert instance.status == InstanceStatus.SUCCEEDED


def wait_flow() -> dict:
    return definition(
        [
            step("start", "start"),
            step("hold", "wait", config={"event": "tests.paid", "key": "data.ref"}),
            step("end", "end"),
        ],
        [link("start", "hold"), link("hold", "end")],
    )


def test_a_wait_whose_key_is_empty_fails_instead_of_waiting_for_none(engine):
    instance = start(published(wait_flow()), {"ref": None})
    engine.run()
    (hold,) = runs(instance, "hold")
    assert hold.status == StepStatus.FAILED
    assert "The event key (data.ref) is empty in this case" in hold.error


@pytest.mark.parametrize("ref, key", [(True, "true"), (17, "17"), (17.0, "17"), ("o-1", "o-1")])
def test_event_keys_are_written_as_the_flow_writes_them(engine, ref, key):
    instance = start(published(wait_flow()), {"ref": ref})
    engine.run()
    (hold,) = runs(instance, "hold")
    assert hold.state["key"] == key
    emit_event("tests.paid", key, {}, actor=ACTOR)
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED


def test_a_condition_on_a_step_that_chooses_no_path_is_ignored_as_the_lint_says(engine):
    defn = definition(
        [
            step("start", "start"),
            step("prep", "set", config={"assign": {"x": "1"}}),
            step("end", "end"),
        ],
        [link("start", "prep"), link("prep", "end", condition="data.x > 5")],
    )
    assert [p.code for p in validate(defn)] == ["condition_ignored"]
    instance = start(published(defn))
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED


def branch_flow(*route_links: dict) -> dict:
    return definition(
        [
            step("start", "start"),
            step("route", "branch"),
            *[step(name, "set", config={"assign": {name: "true"}}) for name in "abc"],
            step("end", "end"),
        ],
        [
            link("start", "route"),
            *route_links,
            *[link(name, "end") for name in "abc"],
        ],
    )


def test_a_branch_with_several_paths_without_a_condition_is_refused():
    defn = branch_flow(link("route", "a"), link("route", "b"), link("route", "c", default=True))
    (problem,) = errors(defn)
    assert problem.code == "several_open_paths" and problem.step_id == "route"
    assert "the connections to 'a' and 'b' have no condition" in problem.message


def test_a_branch_takes_one_path_the_default_when_no_condition_holds(engine):
    defn = branch_flow(
        link("route", "a", condition="data.n > 10"),
        link("route", "b", condition="data.n > 5"),
        link("route", "c", default=True),
    )
    assert errors(defn) == []
    instance = start(published(defn), {"n": 1})
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    assert [k for k in "abc" if instance.data.get(k)] == ["c"]


def test_a_case_whose_join_waits_for_paths_nobody_takes_is_flagged_stuck(engine):
    # What the lint refuses ("join_never_fires"), as a version published before it did.
    defn = definition(
        [
            step("start", "start"),
            step("route", "branch"),
            step("a", "set", config={"assign": {"a": "true"}}),
            step("b", "set", config={"assign": {"b": "true"}}),
            step("meet", "join", config={"mode": "all"}),
            step("end", "end"),
        ],
        [
            link("start", "route"),
            link("route", "a", condition="true"),
            link("route", "b", default=True),
            link("a", "meet"),
            link("b", "meet"),
            link("meet", "end"),
        ],
    )
    instance = start(published(defn))
    engine.run()
    assert runs(instance, "meet")[0].status == StepStatus.WAITING
    engine.sweep(later=timedelta(minutes=10))
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING
    assert instance.stuck_since is not None


def test_a_join_still_waiting_for_a_branch_at_work_is_not_stuck(engine):
    defn = definition(
        [
            step("start", "start"),
            step("split", "parallel"),
            step("a", "set", config={"assign": {"a": "true"}}),
            step("hold", "wait", config={"event": "tests.later", "key": "'k'"}),
            step("meet", "join", config={"mode": "all"}),
            step("end", "end"),
        ],
        [
            link("start", "split"),
            link("split", "a"),
            link("split", "hold"),
            link("a", "meet"),
            link("hold", "meet"),
            link("meet", "end"),
        ],
    )
    instance = start(published(defn))
    engine.run()
    engine.sweep(later=timedelta(minutes=10))
    instance.refresh_from_db()
    assert instance.stuck_since is None


def test_two_waits_in_turn_for_the_same_event_need_two_events(engine):
    defn = definition(
        [
            step("start", "start"),
            step("first", "wait", config={"event": "tests.doc", "key": "'k'"}),
            step("second", "wait", config={"event": "tests.doc", "key": "'k'"}),
            step("end", "end"),
        ],
        [link("start", "first"), link("first", "second"), link("second", "end")],
    )
    instance = start(published(defn))
    engine.run()
    emit_event("tests.doc", "k", {"n": 1}, actor=ACTOR)
    engine.run()
    engine.sweep(later=timedelta(seconds=30))
    assert runs(instance, "first")[0].status == StepStatus.SUCCEEDED
    assert runs(instance, "second")[0].status == StepStatus.WAITING
    emit_event("tests.doc", "k", {"n": 2}, actor=ACTOR)
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    assert runs(instance, "second")[0].output["payload"] == {"n": 2}


def test_a_database_error_while_a_wait_looks_for_its_event_fails_only_the_step(engine, monkeypatch):
    from django.db import connection

    from orchestration.steps import events

    def broken(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")

    monkeypatch.setattr(events, "newest_event", broken)
    defn = definition(
        [
            step("start", "start"),
            step("hold", "wait", config={"event": "tests.x", "key": "'k'"}, on_error="handle"),
            step("handle", "set", config={"assign": {"handled": "true"}}),
            step("end", "end"),
        ],
        [link("start", "hold"), link("hold", "end"), link("handle", "end")],
    )
    instance = start(published(defn))
    engine.run()
    instance.refresh_from_db()
    assert runs(instance, "hold")[0].status == StepStatus.FAILED
    assert instance.data["handled"] is True and instance.status == InstanceStatus.SUCCEEDED


@action("tests.edge.slow", label="Runs into the worker's time limit")
def slow() -> dict:
    from celery.exceptions import SoftTimeLimitExceeded

    count("slow")
    raise SoftTimeLimitExceeded()


def test_a_step_stopped_by_the_workers_time_limit_times_out_and_is_retried(engine):
    defn = action_flow("tests.edge.slow")
    defn["steps"][1]["retry"] = {"attempts": 2, "backoff_seconds": 0, "jitter": False}
    instance = start(published(defn))
    engine.run()
    engine.sweep(later=timedelta(seconds=5))
    first = runs(instance, "act")[0]
    assert first.error_kind == "timeout"
    assert "did not finish within the worker's time limit" in first.error
    assert CALLS["slow"] == 2


def test_a_flow_that_starts_itself_stops_ten_sub_flows_deep(engine):
    defn = definition(
        [
            step("start", "start"),
            step("call", "subflow", config={"flow": "loop"}),
            step("end", "end"),
        ],
        [link("start", "call"), link("call", "end")],
    )
    root = start(published(defn, slug="loop"))
    engine.run()
    cases = FlowInstance.objects.order_by("id")
    assert cases.count() == 11  # the root and ten below it
    deepest = cases.last()
    (call,) = runs(deepest, "call")
    assert call.status == StepStatus.FAILED
    assert "would be started 11 sub-flows deep" in call.error
    root.refresh_from_db()
    assert root.status == InstanceStatus.FAILED


def timer_flow() -> dict:
    return definition(
        [
            step("start", "start"),
            step("pause", "timer", config={"until": "data.when"}, on_error="handle"),
            step("handle", "set", config={"assign": {"handled": "true"}}),
            step("end", "end"),
        ],
        [link("start", "pause"), link("pause", "end"), link("handle", "end")],
    )


@pytest.mark.parametrize(
    "when, due",
    [
        ("2030-06-01T09:00:00", dt.datetime(2030, 6, 1, 7, 0, tzinfo=dt.UTC)),
        ("2030-06-01", dt.datetime(2030, 5, 31, 22, 0, tzinfo=dt.UTC)),
        ("2030-06-01T09:00:00+00:00", dt.datetime(2030, 6, 1, 9, 0, tzinfo=dt.UTC)),
    ],
)
def test_a_timer_reads_a_time_without_a_zone_in_the_organisations_zone(engine, settings, when, due):
    settings.TIME_ZONE = "Europe/Amsterdam"  # summer time: UTC+2
    instance = start(published(timer_flow()), {"when": when})
    engine.run()
    (pause,) = runs(instance, "pause")
    assert pause.status == StepStatus.WAITING and pause.due_at == due


def test_a_timer_more_than_ten_years_away_fails_and_takes_its_error_path(engine):
    instance = start(published(timer_flow()), {"when": "9999-12-31T23:00:00-05:00"})
    engine.run()
    instance.refresh_from_db()
    (pause,) = runs(instance, "pause")
    assert pause.status == StepStatus.FAILED
    assert "is more than ten years away" in pause.error
    assert instance.data["handled"] is True


@pytest.mark.parametrize(
    "output, refusal",
    [
        (["a list"], "A skipped step's output must be a set of named fields."),
        ({"rate": float("nan")}, "an infinite or undefined number at output.rate"),
        ({"at": dt.date(2026, 1, 1)}, "The output holds a date, which JSON cannot hold"),
        ({"total": "many"}, "does not match its output schema"),
    ],
)
def test_an_output_given_for_a_skipped_step_must_be_one_the_step_could_give(
    engine, output, refusal
):
    defn = definition(
        [
            step("start", "start"),
            step(
                "hold",
                "wait",
                config={"event": "tests.never", "key": "'k'"},
                output_schema={"type": "object", "properties": {"total": {"type": "number"}}},
            ),
            step("end", "end"),
        ],
        [link("start", "hold"), link("hold", "end")],
    )
    instance = start(published(defn))
    engine.run()
    (hold,) = runs(instance, "hold")
    with pytest.raises(NotAllowedNow, match=refusal.replace("(", "\\(")):
        skip_step(hold.pk, actor=ACTOR, reason="Done by hand", output=output)
    skip_step(hold.pk, actor=ACTOR, reason="Done by hand", output={"total": 12})
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED and instance.outputs["hold"] == {"total": 12}


def test_a_step_of_a_kind_podium_does_not_know_fails_the_case_not_the_worker(engine):
    # A version stored without the lint (by hand, or before a kind was removed).
    defn = definition(
        [
            step("start", "start"),
            step("prepare", "set", config={"assign": {"ready": "true"}}),
            step("beam", "teleport"),
            step("end", "end"),
        ],
        [link("start", "prepare"), link("prepare", "beam"), link("beam", "end")],
    )
    instance = start(published(defn))
    engine.run()
    instance.refresh_from_db()
    assert runs(instance, "prepare")[0].status == StepStatus.SUCCEEDED
    (beam,) = runs(instance, "beam")
    assert beam.status == StepStatus.FAILED
    assert instance.status == InstanceStatus.FAILED
    assert "Podium does not know the step kind 'teleport'" in instance.error


LOOPING_SCHEMA = {"$ref": "#"}


def test_an_output_schema_that_loops_takes_the_error_path_in_words(engine):
    # A version stored without the lint, which refuses this schema.
    defn = definition(
        [
            step("start", "start"),
            step("make", "set", config={"assign": {"v": "7"}}, output_schema=LOOPING_SCHEMA),
            step("mend", "set", config={"assign": {"handled": "true"}}),
            step("end", "end"),
        ],
        [link("start", "make"), link("make", "end"), link("mend", "end")],
    )
    defn["steps"][1]["on_error"] = "mend"
    assert any("refers to itself without end" in p.message for p in validate(defn))
    instance = start(published(defn))
    engine.run()
    instance.refresh_from_db()
    (make,) = runs(instance, "make")
    assert make.status == StepStatus.FAILED
    assert make.error == (
        "The output schema of step 'make' cannot check its result: it refers to itself "
        "without end (a $ref loop)."
    )
    assert instance.status == InstanceStatus.SUCCEEDED and instance.data["handled"] is True


def test_an_input_schema_that_loops_refuses_the_start_in_words(engine):
    defn = definition([step("start", "start"), step("end", "end")], [link("start", "end")])
    defn["input_schema"] = {"type": "object", "allOf": [LOOPING_SCHEMA]}
    with pytest.raises(InputInvalid) as refused:
        start(published(defn))
    assert refused.value.problems == [
        "The flow's input schema cannot check the input: it refers to itself without end "
        "(a $ref loop)."
    ]
    assert not FlowInstance.objects.exists()


@pytest.mark.parametrize("way_round", ["on_error", "connection"])
def test_a_case_going_round_for_ever_fails_instead(engine, monkeypatch, way_round):
    monkeypatch.setattr("orchestration.engine.outcomes.MAX_EVENTS_PER_INSTANCE", 60)
    again = {"on_error": "again"} if way_round == "on_error" else {}
    defn = definition(
        [
            step("start", "start"),
            step("again", "set", config={"assign": {"x": "1 / 0" if again else "1"}}, **again),
            step("end", "end"),
        ],
        [link("start", "again"), link("again", "again" if not again else "end")],
    )
    instance = start(published(defn))
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.FAILED
    assert "the flow may be looping forever" in instance.error
    # The cap, give or take the steps one task runs in a chain before it counts them.
    assert len(runs(instance, "again")) < 60 + 50
