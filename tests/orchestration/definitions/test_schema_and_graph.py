import pytest

from orchestration.definitions import checksum
from orchestration.definitions.graph import FlowGraph
from orchestration.definitions.lint import validate
from orchestration.definitions.schema import schema_problems
from tests.orchestration.definitions.builders import assign, only, simple, the
from tests.orchestration.factories import link, step


def test_it_rejects_a_definition_that_is_not_a_mapping():
    (problem,) = validate(["steps"])
    assert (problem.severity, problem.code) == ("error", "schema")
    assert problem.message == "A flow definition must be a mapping of fields to values."


def test_several_missing_fields_are_one_problem_naming_them_all():
    defn = simple(assign("work"))
    del defn["connections"], defn["format"]
    messages = [p.message for p in schema_problems(defn)]
    assert messages == ["The flow is missing the required fields 'format', 'connections'."]


def test_it_names_the_missing_top_level_field():
    defn = simple(assign("work"))
    del defn["connections"]
    problem = the(defn, "schema")
    assert problem.message == "The flow is missing the required field 'connections'."


def test_it_names_the_step_and_field_of_a_wrong_type():
    work = assign("work") | {"retry": {"attempts": "three"}}
    problem = the(simple(work), "schema")
    assert (problem.step_id, problem.field) == ("work", "retry.attempts")
    assert problem.message == "Step 'work': 'retry.attempts' must be a whole number."


def test_it_rejects_an_unknown_step_field():
    problem = the(simple(assign("work") | {"colour": "red"}), "schema")
    assert (
        problem.message == "Step 'work' has the unknown field 'colour' that Podium does not know."
    )


def test_it_allows_extension_fields_starting_with_x():
    assert schema_problems(simple(assign("work") | {"x-team-note": "ours"})) == []


def test_extension_fields_are_allowed_in_the_flow_block_and_a_steps_config_too():
    work = assign("work")
    work["config"]["x-ticket"] = "OPS-17"
    work["retry"] = {"attempts": 2, "x-why": "the ledger is slow"}
    work["sla"] = {"minutes": 30, "x-why": "agreed with Finance"}
    defn = simple(work, flow={"name": "Ours", "x-ticket": "OPS-1"})
    defn["baseline"] = {"hourly_cost": 40, "x-source": "2025 budget"}
    assert [p for p in validate(defn) if p.severity == "error"] == []


def test_it_rejects_a_malformed_owner():
    problem = the(simple(assign("work") | {"owner": "Finance"}), "schema")
    assert (problem.step_id, problem.field) == ("work", "owner")
    assert "must look like 'team:<team name>'" in problem.message


def test_the_graph_gives_steps_and_connections_in_order():
    defn = simple(step("choose", "branch"), assign("x"))
    defn["connections"] = [
        link("start", "choose"),
        link("choose", "x", condition="data.amount > 1"),
        link("choose", "end", default=True),
        link("x", "end"),
    ]
    graph = FlowGraph(defn)
    assert graph.start_step_id == "start"
    assert graph.step("x")["kind"] == "set"
    assert graph.step("missing") is None
    assert [c["to"] for c in graph.outgoing("choose")] == ["x", "end"]
    assert [c["from"] for c in graph.incoming("end")] == ["choose", "x"]


def test_the_checksum_ignores_key_order():
    assert checksum({"a": 1, "b": [1, {"c": 2, "d": 3}]}) == checksum(
        {"b": [1, {"d": 3, "c": 2}], "a": 1}
    )


def test_waits_longer_than_ten_years_are_refused():
    work = assign("work") | {"retry": {"backoff_seconds": 1e12}}
    problem = the(simple(work), "schema")
    assert (problem.step_id, problem.field) == ("work", "retry.backoff_seconds")
    assert problem.message == (
        "Step 'work': 'retry.backoff_seconds' must be at most 316224000 (ten years)."
    )
    timer = step("wait", "timer", config={"duration_seconds": 1e12})
    assert the(simple(timer), "config_invalid").field == "config.duration_seconds"


def test_an_escalation_stage_counts_whole_minutes_and_a_reassignment_says_to_whom():
    approval = step(
        "ok",
        "approval",
        config={
            "assignees": "team:Finance",
            "escalation": [
                {"after_minutes": 0.5, "action": "notify"},
                {"after_minutes": 60, "action": "reassign"},
            ],
        },
    )
    messages = [p.message for p in only(simple(approval), "config_invalid")]
    assert "Step 'ok': 'config.escalation[0].after_minutes' must be a whole number." in messages
    assert any("config.escalation[1]" in m and "'to'" in m for m in messages), messages


@pytest.mark.parametrize(
    "changed, message",
    [
        (
            {"config": {"triggers": [{"type": "schedule", "cron": "every day"}]}},
            "Step 'start': the schedule 'every day' must have five parts, minute hour day "
            "month weekday (for example '0 9 * * 1-5': at 09:00 Monday to Friday).",
        ),
    ],
)
def test_a_malformed_value_is_explained_with_an_example(changed, message):
    defn = simple(assign("work"))
    defn["steps"][0] |= changed
    assert [p.message for p in validate(defn) if p.severity == "error"] == [message]


@pytest.mark.parametrize(
    "work, message",
    [
        (
            assign("work", **{"1st": "1"}),
            "Step 'work': '1st' cannot be the name of a data field: use letters, digits and "
            "underscores, starting with a letter.",
        ),
        (
            step("work", "http", config={"url": "ftp://x"}, on_error="end"),
            "Step 'work': the address 'ftp://x' must start with https:// or http:// (or be a "
            "{{ }} placeholder that gives one).",
        ),
        (
            step(
                "work",
                "approval",
                config={
                    "assignees": ["Finance"],
                    "escalation": [{"after_minutes": 5, "action": "reassign", "to": "Ops"}],
                },
            ),
            "Step 'work': 'Finance' must look like 'team:<team name>' or 'user:<username>'.",
        ),
    ],
)
def test_a_malformed_step_setting_is_explained(work, message):
    messages = [p.message for p in validate(simple(work)) if p.severity == "error"]
    assert messages[0] == message
