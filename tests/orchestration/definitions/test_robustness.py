import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.definitions.lint import validate
from orchestration.definitions.yaml_io import parse_yaml, to_yaml
from orchestration.expressions import ExpressionError, compile_expression, referenced_paths
from tests.orchestration.definitions.builders import EXAMPLES

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
