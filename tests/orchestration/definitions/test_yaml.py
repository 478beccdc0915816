import pytest

from orchestration.definitions.lint import validate
from orchestration.definitions.problems import DefinitionError, has_errors
from orchestration.definitions.yaml_io import parse_yaml, to_yaml
from tests.orchestration.definitions.builders import EXAMPLES, assign, simple


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_each_example_flow_is_valid_and_round_trips(path):
    definition = parse_yaml(path.read_text())
    assert not has_errors(validate(definition)), validate(definition)
    assert parse_yaml(to_yaml(definition)) == definition


def test_there_are_at_least_three_examples():
    assert {p.stem for p in EXAMPLES} >= {"hello", "invoice-approval", "supplier-delay"}


def test_it_writes_keys_in_a_stable_readable_order():
    definition = simple(assign("work", total="1"))
    definition["steps"][1] = dict(reversed(list(definition["steps"][1].items())))
    text = to_yaml(definition)
    assert text.index("format:") < text.index("input_schema:") < text.index("steps:")
    work = text[text.index("- id: work") :]
    assert work.index("kind: set") < work.index("owner:") < work.index("config:")
    assert to_yaml(parse_yaml(text)) == text


def test_it_round_trips_awkward_text():
    definition = simple(assign("work"))
    definition["steps"][1]["description"] = "Line one\nline two: with colon\n  indented\n"
    definition["steps"][1]["label"] = "yes\x85next\u2028line\r"
    definition["steps"][1]["tags"] = ["no", "2026-01-01", "null", "1.0", ""]
    assert parse_yaml(to_yaml(definition)) == definition


def test_it_names_where_a_number_json_cannot_hold_is():
    with pytest.raises(DefinitionError) as refused:
        parse_yaml("steps:\n  - id: a\n    config: {limit: .inf}\n")
    (problem,) = refused.value.problems
    assert problem.message == (
        "The file holds an infinite or undefined number (.inf, .nan) at steps[0].config.limit."
    )


def alias_bomb(levels: int) -> str:
    text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    for n in range(1, levels + 1):
        text += f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]\n"
    return text


@pytest.mark.parametrize(
    "text, message",
    [
        ("x-a: !!binary aGVsbG8=\n", "The file holds bytes, which JSON cannot hold (at x-a)."),
        ("x-a: !!set {a, b}\n", "The file holds a set, which JSON cannot hold (at x-a)."),
        ("x-a: " + "9" * 5000 + "\n", "The file holds a number with over 100 digits."),
        (
            "x-a: !!float abc\n",
            "The file holds a value its tag does not fit, such as !!float abc or !!int 0x1F "
            "(Podium reads numbers written in decimal only).",
        ),
        ("x-a: " + "[" * 3000 + "]" * 3000 + "\n", "The file nests more than 100 levels deep."),
        ('x-a: "\\ud800"\n', "The file holds text that is not valid Unicode (at x-a)."),
        (
            "x-a: b\x07\n",
            "The file holds a character YAML does not allow (#x0007, a control character) at "
            "character 7.",
        ),
        (
            alias_bomb(7),
            "The file describes more than 100,000 values (its aliases, *name, repeat too "
            "much); a flow needs far fewer.",
        ),
    ],
)
def test_what_json_cannot_hold_is_refused_with_a_problem_not_a_crash(text, message):
    with pytest.raises(DefinitionError) as refused:
        parse_yaml(text)
    assert [p.message for p in refused.value.problems] == [message]


def test_numbers_follow_yaml_1_2_so_times_and_leading_zeros_surprise_nobody():
    loaded = parse_yaml("a: 1:30\nb: 012\nc: 1.5\nd: 1e3\ne: -7\nf: 1_000\n")
    assert loaded == {"a": "1:30", "b": 12, "c": 1.5, "d": 1000.0, "e": -7, "f": "1_000"}


def test_text_that_reads_as_a_number_is_quoted_so_it_round_trips():
    definition = simple(assign("work"))
    definition["steps"][1]["tags"] = ["1e3", "012", "1:30", "true", ".5"]
    assert parse_yaml(to_yaml(definition)) == definition


def test_it_keeps_yes_no_and_dates_as_text():
    loaded = parse_yaml("a: yes\nb: no\nc: 2026-01-01\nd: true\ne: on\n")
    assert loaded == {"a": "yes", "b": "no", "c": "2026-01-01", "d": True, "e": "on"}


def test_it_reports_invalid_yaml_with_the_line_number():
    with pytest.raises(DefinitionError) as caught:
        parse_yaml("format: podium/v1\nsteps:\n  - id: a\n   kind: start\n")
    (problem,) = caught.value.problems
    assert (problem.code, problem.severity) == ("yaml_invalid", "error")
    assert "near line 4, column 4:" in problem.message


def test_it_rejects_a_file_that_is_not_a_mapping():
    with pytest.raises(DefinitionError) as caught:
        parse_yaml("- just\n- a list\n")
    assert caught.value.problems[0].code == "yaml_not_mapping"


def test_it_rejects_a_key_given_twice():
    with pytest.raises(DefinitionError, match="the key 'format' appears twice"):
        parse_yaml("format: podium/v1\nformat: podium/v2\n")


def test_it_refuses_python_objects():
    with pytest.raises(DefinitionError):
        parse_yaml("a: !!python/object/apply:os.system ['true']\n")


def _nested_merges(levels: int) -> str:
    lines = ["x-z:", "  <<:", "    - &a0 {k0: 1, k1: 1, k2: 1, k3: 1, k4: 1}"]
    for n in range(1, levels + 1):
        lines.append(f"    - &a{n} {{<<: [{', '.join([f'*a{n - 1}'] * 10)}]}}")
    return "\n".join(lines) + "\nformat: podium/v1\nsteps: []\nconnections: []\n"


def test_nested_merge_keys_are_refused_before_they_are_expanded(monkeypatch):
    import yaml

    # Expanding seven levels of ten-fold merges takes gigabytes: count the attempts
    # instead of making them.
    expansions = []
    monkeypatch.setattr(yaml.SafeLoader, "flatten_mapping", lambda _, node: expansions.append(1))
    with pytest.raises(DefinitionError) as caught:
        parse_yaml(_nested_merges(7))
    (problem,) = caught.value.problems
    assert problem.code == "yaml_invalid"
    assert "near line 2" in problem.message
    assert "does not read merge keys (<<); write the fields out in full" in problem.message
    assert expansions == []


@pytest.mark.parametrize("key", ["<<", "!!merge <<"])
def test_a_single_merge_key_is_refused_in_plain_words(key):
    text = f"x-base: &b {{kind: end}}\nsteps:\n  - id: done\n    {key}: *b\n"
    with pytest.raises(DefinitionError, match="does not read merge keys"):
        parse_yaml(text)


def test_a_quoted_double_angle_key_is_ordinary_text():
    assert parse_yaml("x-notes: {'<<': shift left}\n") == {"x-notes": {"<<": "shift left"}}
