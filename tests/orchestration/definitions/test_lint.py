import pytest

from orchestration.definitions.lint import validate
from orchestration.definitions.problems import has_errors
from tests.orchestration.definitions.builders import assign, end, only, simple, start, the
from tests.orchestration.factories import definition, link, step


def test_a_simple_valid_flow_has_no_problems():
    assert validate(simple(assign("work"))) == []


def test_it_rejects_an_unknown_kind():
    problem = the(simple(step("work", "teleport")), "unknown_kind")
    assert (problem.severity, problem.step_id, problem.field) == ("error", "work", "kind")
    assert problem.message == "Step 'work' has the kind 'teleport', which Podium does not know."


def test_it_rejects_a_bad_step_id():
    problem = the(simple(assign("Work-1")), "bad_step_id")
    assert (problem.severity, problem.step_id, problem.field) == ("error", "Work-1", "id")
    assert "the id 'Work-1' is not valid" in problem.message


def test_it_rejects_a_duplicate_step_id():
    defn = simple(assign("work"), assign("work"))
    problem = the(defn, "duplicate_step_id")
    assert (problem.severity, problem.step_id) == ("error", "work")
    assert problem.message == "Two steps have the id 'work'. Each step needs its own id."


def test_it_rejects_a_connection_to_a_missing_step():
    defn = simple(assign("work"))
    defn["connections"].append(link("work", "nowhere"))
    problem = the(defn, "dangling_connection")
    assert (problem.severity, problem.connection, problem.field) == ("error", 2, "to")
    assert "leads to 'nowhere', but there is no step with that id" in problem.message


def test_it_rejects_a_duplicate_connection():
    defn = simple(assign("work"))
    defn["connections"].append(link("start", "work"))
    problem = the(defn, "duplicate_connection")
    assert (problem.severity, problem.step_id, problem.connection) == ("error", "start", 2)
    assert "repeats another connection from 'start' to 'work'" in problem.message


def test_it_rejects_a_connection_into_the_start_step():
    defn = simple(assign("work"))
    defn["connections"].append(link("work", "start"))
    problem = the(defn, "into_start")
    assert (problem.severity, problem.step_id) == ("error", "start")
    assert "leads into the start step" in problem.message


def test_it_rejects_a_connection_out_of_an_end_step():
    defn = simple(assign("work"))
    defn["connections"].append(link("end", "work"))
    problem = the(defn, "out_of_end")
    assert (problem.severity, problem.step_id) == ("error", "end")
    assert "leaves an End step" in problem.message


def test_it_rejects_a_flow_without_a_start():
    defn = definition([assign("work"), end()], [link("work", "end")])
    problem = the(defn, "no_start")
    assert (problem.severity, problem.step_id) == ("error", None)
    assert problem.message == "The flow has no Start step, so no case could begin."


def test_it_rejects_a_second_start():
    second = step("again", "start", config={"triggers": [{"type": "webhook"}]})
    defn = simple(assign("work"))
    defn["steps"].append(second)
    defn["connections"].append(link("again", "work"))
    problem = the(defn, "many_starts")
    assert (problem.severity, problem.step_id) == ("error", "again")
    assert "a flow has exactly one" in problem.message


def test_it_rejects_a_flow_without_an_end():
    defn = definition([start(), assign("work")], [link("start", "work")])
    problem = the(defn, "no_end")
    assert problem.message == "The flow has no End step, so no case could finish."


def test_it_rejects_a_step_that_leads_nowhere():
    defn = simple(assign("work"), links=[link("start", "work")])
    problem = the(defn, "dead_end")
    assert (problem.severity, problem.step_id) == ("error", "work")
    assert "has no outgoing connection" in problem.message


def test_a_step_that_only_undoes_another_needs_no_way_out():
    hold = {**assign("hold"), "compensation": "release"}
    defn = simple(hold, assign("release"), links=[link("start", "hold"), link("hold", "end")])
    assert validate(defn) == []
    # Reached by a connection too, it is an ordinary step again and must lead somewhere.
    defn["connections"].append(link("start", "release"))
    assert the(defn, "dead_end").step_id == "release"


def test_it_rejects_two_paths_out_of_a_plain_step():
    defn = simple(assign("work"), end("other"))
    defn["connections"] = [link("start", "work"), link("work", "end"), link("work", "other")]
    problem = the(defn, "too_many_outgoing")
    assert (problem.severity, problem.step_id) == ("error", "work")
    assert "can have only one outgoing connection; it has 2" in problem.message


def test_it_warns_about_an_unreachable_step():
    defn = simple(assign("work"), assign("orphan"))
    defn["connections"] = [link("start", "work"), link("work", "end"), link("orphan", "end")]
    problem = the(defn, "unreachable")
    assert (problem.severity, problem.step_id) == ("warning", "orphan")
    assert problem.message == "Step 'orphan' cannot be reached from the start: no path leads to it."


def test_it_rejects_a_loop_without_a_way_out():
    defn = simple(assign("a"), assign("b"))
    defn["connections"] = [link("start", "a"), link("a", "b"), link("b", "a")]
    problem = the(defn, "endless_cycle")
    assert (problem.severity, problem.step_id) == ("error", "a")
    assert "Steps a, b form a loop with no way out to an End step" in problem.message


def test_a_flow_that_starts_on_an_event_it_sends_is_warned_about():
    defn = simple(step("ping", "emit", config={"event": "ping", "key": "'k'"}))
    defn["steps"][0]["config"]["triggers"] = [{"type": "event", "event": "ping"}]
    problem = the(defn, "starts_itself")
    assert (problem.severity, problem.step_id) == ("warning", "ping")
    assert "every case would start another, without end" in problem.message
    defn["steps"][0]["config"]["triggers"] = [{"type": "event", "event": "pong"}]
    assert only(defn, "starts_itself") == []


def test_an_end_step_cannot_be_a_compensation_step():
    defn = simple(assign("book") | {"compensation": "end"})
    problem = the(defn, "compensation_end")
    assert (problem.severity, problem.step_id, problem.field) == ("error", "book", "compensation")
    assert "an end step finishes the case, it cannot undo what this step did" in problem.message


def test_a_compensation_step_is_no_way_out_of_a_loop():
    defn = simple(assign("a") | {"compensation": "undo"}, assign("b"), assign("undo"))
    defn["connections"] = [
        link("start", "a"),
        link("a", "b"),
        link("b", "a"),
        link("undo", "end"),
    ]
    problem = the(defn, "endless_cycle")
    assert "Steps a, b form a loop with no way out" in problem.message


def test_an_error_path_is_no_way_out_of_a_loop():
    defn = simple(assign("a") | {"on_error": "end"}, assign("b"))
    defn["connections"] = [link("start", "a"), link("a", "b"), link("b", "a")]
    problem = the(defn, "endless_cycle")
    assert "Steps a, b form a loop with no way out" in problem.message


def test_a_loop_left_when_a_wait_times_out_is_fine():
    wait = step("hear", "wait", config={"event": "x", "key": "'k'", "on_timeout": "end"})
    defn = simple(assign("a"), wait)
    defn["connections"] = [link("start", "a"), link("a", "hear"), link("hear", "a")]
    assert only(defn, "endless_cycle") == []


@pytest.mark.parametrize("feeder", ["orphan", "undo"])
def test_it_rejects_a_join_waiting_for_a_step_no_case_reaches(feeder):
    """'orphan' has no way in; 'undo' only undoes 'x' in a roll-back."""
    split = step("split", "parallel")
    meet = step("meet", "join")
    defn = simple(split, assign("x") | {"compensation": "undo"}, assign(feeder), meet)
    defn["steps"] = list({s["id"]: s for s in defn["steps"]}.values())
    defn["connections"] = [
        link("start", "split"),
        link("split", "x"),
        link("split", "end"),
        link("x", "meet"),
        link(feeder, "meet"),
        link("meet", "end"),
    ]
    problem = the(defn, "join_never_fires")
    assert (problem.severity, problem.step_id) == ("error", "meet")
    assert f"waits for paths from '{feeder}', but no case ever gets there" in problem.message
    assert ("only a roll-back runs a compensation step" in problem.message) is (feeder == "undo")


def test_a_join_of_any_with_one_live_path_is_fine():
    meet = step("meet", "join", config={"mode": "any"})
    defn = simple(assign("x"), assign("orphan"), meet)
    defn["connections"] = [
        link("start", "x"),
        link("x", "meet"),
        link("orphan", "meet"),
        link("meet", "end"),
    ]
    assert only(defn, "join_never_fires") == []


def test_a_loop_with_a_branch_out_to_the_end_is_fine():
    check = step("check", "branch")
    defn = simple(assign("a"), check)
    defn["connections"] = [
        link("start", "a"),
        link("a", "check"),
        link("check", "a", condition="data.amount > 1"),
        link("check", "end", default=True),
    ]
    assert only(defn, "endless_cycle") == []


def _branch_into_join(mode: dict) -> dict:
    steps = [step("choose", "branch"), assign("x"), assign("y"), step("meet", "join", config=mode)]
    return simple(
        *steps,
        links=[
            link("start", "choose"),
            link("choose", "x", condition="data.amount > 1"),
            link("choose", "y", default=True),
            link("x", "meet"),
            link("y", "meet"),
            link("meet", "end"),
        ],
    )


def test_it_rejects_a_join_of_all_fed_by_alternatives_of_one_branch():
    problem = the(_branch_into_join({"mode": "all"}), "join_never_fires")
    assert (problem.severity, problem.step_id, problem.field) == ("error", "meet", "config.mode")
    assert "alternatives chosen by step 'choose'" in problem.message


def test_a_join_of_any_after_a_branch_is_fine():
    assert only(_branch_into_join({"mode": "any"}), "join_never_fires") == []


def test_it_rejects_a_join_waiting_for_more_paths_than_lead_into_it():
    defn = _branch_into_join({"mode": "n", "n": 3})
    problem = the(defn, "join_never_fires")
    assert (problem.step_id, problem.field) == ("meet", "config.n")
    assert problem.message == "Step 'meet' waits for 3 paths, but only 2 lead into it."


def test_it_rejects_a_join_of_n_fed_only_by_alternatives():
    problem = the(_branch_into_join({"mode": "n", "n": 2}), "join_never_fires")
    assert problem.message.startswith(
        "Step 'meet' waits for more than one path, but they are alternatives chosen by step "
        "'choose'"
    )


def test_it_rejects_a_join_of_all_fed_by_a_step_and_its_own_error_path():
    steps = [
        step("split", "parallel"),
        step("call", "http", config={"url": "https://erp.example.com"}, on_error="fix"),
        assign("fix"),
        assign("other"),
        step("meet", "join", config={"mode": "all"}),
    ]
    links = [
        link("start", "split"),
        link("split", "call"),
        link("split", "other"),
        link("call", "meet"),
        link("fix", "meet"),
        link("other", "meet"),
        link("meet", "end"),
    ]
    problem = the(simple(*steps, links=links), "join_never_fires")
    assert "either step 'call' succeeded or it took its error path" in problem.message


def _loop_through_join(mode: str) -> dict:
    steps = [
        step("merge", "join", config={"mode": mode}),
        assign("count", n="has(data.n) ? data.n + 1 : 1"),
        step("again", "branch"),
    ]
    links = [
        link("start", "merge"),
        link("merge", "count"),
        link("count", "again"),
        link("again", "merge", condition="data.n < 3"),
        link("again", "end", default=True),
    ]
    return simple(*steps, links=links)


@pytest.mark.parametrize("mode", ["all", "any"])
def test_it_rejects_a_join_where_a_loop_comes_back(mode):
    problem = the(_loop_through_join(mode), "join_in_loop")
    assert (problem.severity, problem.step_id) == ("error", "merge")
    assert "where a loop comes back" in problem.message


def test_a_loop_around_a_whole_parallel_block_is_fine():
    steps = [
        step("split", "parallel"),
        assign("a"),
        assign("b"),
        step("meet", "join"),
        step("again", "branch"),
    ]
    links = [
        link("start", "split"),
        link("split", "a"),
        link("split", "b"),
        link("a", "meet"),
        link("b", "meet"),
        link("meet", "again"),
        link("again", "split", condition="data.amount > 1"),
        link("again", "end", default=True),
    ]
    assert not has_errors(validate(simple(*steps, links=links)))


def test_a_parallel_split_into_a_join_of_all_is_fine():
    defn = _branch_into_join({"mode": "all"})
    defn["steps"][1] = step("choose", "parallel")
    for connection in defn["connections"]:
        connection.pop("condition", None)
        connection.pop("default", None)
    assert validate(defn) == []


def test_it_rejects_a_branch_without_a_default_path():
    defn = _branch_into_join({"mode": "any"})
    del defn["connections"][2]["default"]
    problem = the(defn, "no_default_path")
    assert (problem.severity, problem.step_id) == ("error", "choose")
    assert "has no default path" in problem.message


def test_it_rejects_an_approval_with_conditions_but_no_default_path():
    approve = step("ask", "approval", config={"assignees": ["team:Finance"]})
    defn = simple(
        approve,
        end("no"),
        links=[
            link("start", "ask"),
            link("ask", "end", condition='steps.ask.outcome == "approve"'),
            link("ask", "no", condition='steps.ask.outcome == "reject"'),
        ],
    )
    problem = the(defn, "no_default_path")
    assert (problem.severity, problem.step_id) == ("error", "ask")


def test_it_rejects_a_task_step_without_an_owner():
    work = assign("work")
    del work["owner"]
    problem = the(simple(work), "missing_owner")
    assert (problem.severity, problem.step_id, problem.field) == ("error", "work", "owner")
    assert problem.message.startswith("Step 'work' has no owner.")


def test_it_warns_about_a_timer_without_an_owner():
    timer = step("pause", "timer", config={"duration_seconds": 60})
    del timer["owner"]
    problem = the(simple(timer), "missing_owner")
    assert (problem.severity, problem.step_id) == ("warning", "pause")


def test_it_warns_about_an_external_call_without_an_error_path():
    call = step("call", "http", config={"method": "GET", "url": "https://example.com"})
    problem = the(simple(call), "no_error_path")
    assert (problem.severity, problem.step_id, problem.field) == ("warning", "call", "on_error")
    assert "calls outside Podium but has no error path" in problem.message
    assert not has_errors(validate(simple(call)))


def test_it_rejects_taking_the_error_path_when_paused_without_an_error_path():
    config = {"url": "https://example.com", "when_paused": "take_error_path"}
    problem = the(simple(step("call", "http", config=config)), "no_error_path_when_paused")
    assert (problem.severity, problem.step_id, problem.field) == ("error", "call", "on_error")
    assert "when calls to the service are paused" in problem.message
    config["when_paused"] = "give_up"
    problem = the(simple(step("call", "http", config=config)), "config_invalid")
    assert problem.field == "config.when_paused"


def test_it_rejects_a_decision_without_a_review_team():
    decide = step(
        "decide",
        "decision",
        config={"outcomes": ["approve"], "providers": [{"type": "learned"}]},
    )
    problem = the(simple(decide), "no_human_fallback")
    assert (problem.severity, problem.step_id) == ("error", "decide")
    assert problem.field == "config.review_team"
    assert "without a review team" in problem.message


@pytest.mark.parametrize(
    "outcomes",
    [{"outcomes": ["approve", "reject"]}, {}, {"outcomes": [{"id": "approve"}, "reject"]}],
    ids=["named", "default", "with-labels"],
)
def test_it_rejects_a_decision_naming_an_outcome_it_cannot_give(outcomes):
    rules = {"type": "rules", "table": [{"when": "true", "outcome": "aprove"}]}
    decide = step(
        "decide",
        "decision",
        config={
            **outcomes,
            "providers": [rules],
            "never_automatic": ["rejct"],
            "review_team": "team:Finance",
        },
    )
    problems = only(simple(decide), "unknown_outcome")
    assert [(p.field, p.message) for p in problems] == [
        (
            "config.never_automatic",
            "Step 'decide' names the outcome 'rejct', which is not one of its outcomes "
            "('approve', 'reject').",
        ),
        (
            "config.providers[0].table[0].outcome",
            "Step 'decide' names the outcome 'aprove', which is not one of its outcomes "
            "('approve', 'reject').",
        ),
    ]


def scheduled(cron: str, **trigger: object) -> dict:
    defn = simple(assign("work"))
    defn["steps"][0]["config"] = {"triggers": [{"type": "schedule", "cron": cron, **trigger}]}
    return defn


@pytest.mark.parametrize(
    "cron, problem",
    [
        ("0 9 * * 7", "Invalid end range: 7 > 6"),
        ("0 25 * * *", "Invalid end range: 25 > 23"),
        ("0 9 31 2 *", "day_of_month '31' never occurs in month_of_year '2'"),
    ],
)
def test_it_rejects_a_schedule_beat_could_not_run(cron, problem):
    found = the(scheduled(cron), "schedule_invalid")
    assert (found.step_id, found.field) == ("start", "config.triggers[0].cron")
    assert found.message.startswith(f"The schedule '{cron}' cannot run: ")
    assert problem in found.message


def test_a_schedule_must_start_cases_with_the_input_the_flow_requires():
    defn = scheduled("0 9 * * 1-5")
    defn["input_schema"] = {"type": "object", "required": ["region"], "properties": {"region": {}}}
    found = the(defn, "schedule_input")
    assert "The input is missing the required field 'region'." in found.message
    defn["steps"][0]["config"]["triggers"][0]["input"] = {"region": "EU"}
    assert only(defn, "schedule_input") == []


def test_it_rejects_an_error_path_to_a_missing_step():
    problem = the(
        simple(assign("work", done="true") | {"on_error": "ghost"}), "unknown_step_reference"
    )
    assert (problem.severity, problem.step_id, problem.field) == ("error", "work", "on_error")
    assert problem.message == (
        "Step 'work' names 'ghost' as its error path, but there is no step with that id."
    )


def test_it_rejects_an_error_path_back_to_the_start():
    problem = the(simple(assign("work") | {"on_error": "start"}), "into_start")
    assert (problem.step_id, problem.field) == ("work", "on_error")
    assert problem.message == (
        "Step 'work' names the start step as its error path; nothing may lead back to the start."
    )


def test_it_names_the_step_whose_output_schema_is_not_a_json_schema():
    problem = the(simple(assign("work") | {"output_schema": {"type": 5}}), "output_schema_invalid")
    assert problem.message.startswith("The output schema of step 'work' is not a valid JSON Schema")


def test_it_rejects_an_expiry_path_to_a_missing_step():
    ask = step("ask", "approval", config={"assignees": ["team:Finance"], "expiry_path": "gone"})
    problem = the(simple(ask), "unknown_step_reference")
    assert (problem.step_id, problem.field) == ("ask", "config.expiry_path")
    assert "as its expiry path" in problem.message


def test_it_rejects_a_condition_that_does_not_parse_and_says_where():
    defn = _branch_into_join({"mode": "any"})
    defn["connections"][1]["condition"] = "data.amount >"
    problem = the(defn, "expression_invalid")
    assert (problem.severity, problem.step_id, problem.connection) == ("error", "choose", 1)
    assert problem.field == "condition"
    assert "could not be read at character 14" in problem.message


def test_it_rejects_a_template_placeholder_that_does_not_parse():
    note = step("tell", "notify", config={"to": ["team:Finance"], "subject": "Hi {{ data. }}"})
    problem = the(simple(note), "expression_invalid")
    assert (problem.step_id, problem.field) == ("tell", "config.subject")


def test_it_rejects_a_placeholder_that_is_never_closed():
    note = step("tell", "notify", config={"to": ["team:Finance"], "subject": "Invoice {{ data.id"})
    problem = the(simple(note), "expression_invalid")
    assert problem.message == (
        "Step 'tell', field 'config.subject': the placeholder at character 9 of the text is not "
        "closed with }}, so it would be sent as it is."
    )


def test_it_warns_about_data_no_input_or_step_provides():
    defn = simple(assign("work", total="data.amount + data.tax"))
    problem = the(defn, "unknown_data_field")
    assert (problem.severity, problem.step_id, problem.field) == (
        "warning",
        "work",
        "config.assign.total",
    )
    assert "reads 'data.tax', but no input field or step provides 'tax'" in problem.message


def test_data_written_by_an_earlier_step_is_known():
    defn = simple(assign("first", tax="1"), assign("second", total="data.tax * 2"))
    assert only(defn, "unknown_data_field") == []


def test_it_rejects_config_that_fails_the_kinds_schema_naming_the_field():
    call = step("call", "http", config={"method": "FETCH"}, on_error="end")
    found = only(simple(call), "config_invalid")
    fields = {p.field for p in found}
    assert fields == {"config.url", "config.method"}
    assert all(p.step_id == "call" and p.severity == "error" for p in found)
    assert any("'config.method' must be one of: GET, POST" in p.message for p in found)


def test_it_rejects_an_input_schema_that_is_not_a_json_schema():
    problem = the(simple(assign("work"), input_schema={"type": "thing"}), "input_schema_invalid")
    assert (problem.severity, problem.field) == ("error", "input_schema")
    assert "The input schema is not a valid JSON Schema" in problem.message


def test_warnings_alone_do_not_count_as_errors():
    defn = simple(assign("work", total="data.unknown"))
    assert validate(defn) and not has_errors(validate(defn))


def _one(extra: dict) -> dict:
    return definition(
        [step("start", "start"), extra, step("end", "end")],
        [link("start", extra["id"]), link(extra["id"], "end")],
    )


@pytest.mark.parametrize(
    "config, field, message",
    [
        (
            {"to": ["Finance"], "subject": "s", "body": "b"},
            "config.to[0]",
            "'Finance' must look like 'team:<team name>', 'user:<username>' or an email address.",
        ),
    ],
)
def test_a_notify_step_names_whom_it_writes_to_in_a_form_podium_can_deliver(config, field, message):
    problem = the(_one(step("tell", "notify", owner="team:Ops", config=config)), "config_invalid")
    assert (problem.field, problem.message) == (field, f"Step 'tell': {message}")
    ok = {"to": ["ops@example.com", "podium@localhost", "team:Ops", "user:bob"]}
    ok |= {"subject": "s", "body": "b"}
    assert validate(_one(step("tell", "notify", owner="team:Ops", config=ok))) == []


@pytest.mark.parametrize(
    "config, field, message",
    [
        (
            {"assignees": ["user:bob", "user:carol"]},
            "config.assignees",
            "'config.assignees' must name one team or one person (a team shares the task).",
        ),
        (
            {"escalation": [{"after_minutes": 5, "action": "notify", "to": ["boss"]}]},
            "config.escalation[0].to",
            "'boss' must look like 'team:<team name>' or 'user:<username>'.",
        ),
        (
            {"escalation": [{"after_minutes": 5, "action": "notify", "to": ["team:A", "user:b"]}]},
            "config.escalation[0].to",
            "'config.escalation[0].to' must name one team or one person (a team shares the task).",
        ),
        (
            {"escalation": [{"after_minutes": 5, "action": "reassign", "to": 5}]},
            "config.escalation[0].to",
            "'config.escalation[0].to' must be text or a list.",
        ),
    ],
)
def test_an_approvals_people_are_checked_in_plain_words(config, field, message):
    problem = the(_one(step("ok", "approval", owner="team:Ops", config=config)), "config_invalid")
    assert (problem.field, problem.message) == (field, f"Step 'ok': {message}")


def test_a_step_with_no_kind_does_not_hide_the_other_problems():
    defn = simple(step("work", "set") | {"kind": None}, assign("other") | {"owner": None})
    defn["steps"][-1].pop("owner")
    defn["connections"].append(link("other", "nowhere"))
    codes = {p.code for p in validate(defn)}
    assert {"schema", "dangling_connection"} <= codes
    assert "unknown_kind" not in codes
