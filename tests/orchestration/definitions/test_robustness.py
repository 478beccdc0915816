import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.definitions.lint import validate
from orchestration.definitions.yaml_io import parse_yaml, to_yaml
from orchestration.expressions import ExpressionError, compile_expression, referenced_paths
from tests.orchestration.definitions.builders import EXAMPLES, assign, end, simple, start
from tests.orchestration.factories import link, step

BASE = parse_yaml(EXAMPLES[0].read_text())
# Text as the database keeps it: valid Unicode without NUL (json_values refuses both).
TEXT = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(TEXT, max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(TEXT, max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = ["id", "kind", "config", "owner", "on_error", "writes", "output_schema", "retry"]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    where=st.sampled_from(["step", "connection", "top"]),
    field=st.sampled_from([*FIELDS, "from", "to", "condition", "steps", "input_schema"]),
    value=JSON,
)
def test_validate_never_crashes_on_malformed_definitions(where, field, value):
    definition = copy.deepcopy(BASE)
    target = {"step": definition["steps"][1], "connection": definition["connections"][0]}
    target.get(where, definition)[field] = value
    problems = validate(definition)
    assert all(p.message for p in problems)


def _starting_with(triggers, schema: dict | None = None) -> dict:
    definition = simple(assign("work"), **({"input_schema": schema} if schema else {}))
    definition["steps"][0]["config"]["triggers"] = triggers
    return definition


def _scheduled(schema: dict, given: dict | None = None, cron: str = "0 9 * * *") -> dict:
    trigger = {"type": "schedule", "cron": cron, **({"input": given} if given else {})}
    return _starting_with([trigger], schema)


def _decision(**config) -> dict:
    decide = step(
        "decide", "decision", config={"review_team": "team:Finance", "providers": [], **config}
    )
    return simple(decide)


def _join_path_with(number) -> dict:
    steps = [start(), step("split", "parallel"), step("both", "join"), end()]
    links = [
        link("start", "split"),
        link("split", "both"),
        link("split", "both"),
        link("both", "end"),
    ]
    links[1]["number"] = number
    return simple(links=links) | {"steps": steps}


OBJECT = {"type": "object"}


@pytest.mark.parametrize(
    ("definition", "words"),
    [
        (_starting_with(5), "'config.triggers' must be a list"),
        (_decision(never_automatic=5), "'config.never_automatic' must be a list"),
        (_decision(providers=5), "'config.providers' must be a list"),
        (_join_path_with([]), "unknown field 'number'"),
        (_scheduled(OBJECT, cron="-1 * * * *"), "cannot run: negative numbers not supported"),
        (_scheduled({**OBJECT, "$ref": "#/$defs/missing"}), "refers to '#/$defs/missing'"),
        (_scheduled({**OBJECT, "$ref": "https://example.com/s.json"}), "refers to 'https://"),
        (_scheduled({**OBJECT, "properties": {"a": {"anyOf": [False]}}}, {"a": 1}), "input"),
        (_scheduled({**OBJECT, "oneOf": [{"required": []}, {"required": []}]}), "input"),
        (
            _scheduled(
                {**OBJECT, "properties": {"a": {"anyOf": [{"type": ["string", "null"]}]}}},
                {"a": 1},
            ),
            "a must be text or empty",
        ),
    ],
)
def test_values_of_odd_shapes_are_problems_not_crashes(definition, words):
    messages = " ".join(p.message for p in validate(definition))
    assert messages and words in messages


@settings(max_examples=100, deadline=None)
@given(value=JSON)
def test_any_json_value_round_trips_through_yaml(value):
    definition = {**BASE, "x-extra": value}
    assert parse_yaml(to_yaml(definition)) == definition


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("data.x()[]{}'\"\\ 1+<>=!&|,?:rb\n")), max_size=40)
)
def test_any_text_either_compiles_or_raises_an_expression_error(text):
    try:
        compile_expression(text)
    except ExpressionError as exc:
        assert exc.message
    referenced_paths(text)


def test_refs_that_lead_inside_the_schema_pass_from_where_they_stand():
    schema = {
        **OBJECT,
        "$defs": {"text": {"type": "string", "$anchor": "text"}},
        "properties": {
            "a": {"$ref": "#/$defs/text"},
            "b": {"$ref": "#text"},
            "c": {"$id": "https://example.com/c", "$defs": {"n": {}}, "$ref": "#/$defs/n"},
        },
    }
    assert [p.message for p in validate(_scheduled(schema, {"a": "x"}))] == []
