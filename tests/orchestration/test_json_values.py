"""Values JSON and the database cannot hold, refused where they come in
(orchestration/json_values.py, and json_numbers.loads for every JSON text)."""

import datetime as dt
import json
from decimal import Decimal

import pytest

from orchestration.json_numbers import NotFiniteError, loads
from orchestration.json_values import first_unplain, larger_than


def nested(levels: int) -> list:
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


def test_plain_json_passes():
    value = {"a": [1, 2.5, "zürich ✓", None, True, {"b": (1, 2)}], 3: "a number key"}
    assert first_unplain(value) is None


@pytest.mark.parametrize(
    "value, problem",
    [
        ({"at": dt.datetime(2026, 1, 1)}, "a date and time, which JSON cannot hold (at out.at)"),
        ({"n": Decimal("1.5")}, "a decimal number, which JSON cannot hold (at out.n)"),
        ({"s": {1, 2}}, "a set, which JSON cannot hold (at out.s)"),
        ({"t": "\ud800"}, "text that is not valid Unicode (at out.t)"),
        ({"t": ["a\x00b"]}, "text with a null character (at out.t[0])"),
        ({"a\x00": 1}, "a field named by text with a null character (at out)"),
        ({"big": [10**100]}, "a number with over 100 digits (at out.big[0])"),
        ({("a", "b"): 1}, "a field named by a value of type tuple (at out)"),
    ],
)
def test_it_says_what_cannot_be_held_and_where(value, problem):
    assert first_unplain(value, "out") == problem


def test_it_refuses_nesting_deeper_than_the_database_write_can_take():
    assert first_unplain(nested(100)) is None
    assert first_unplain(nested(101)).startswith("data nested more than 100 levels deep (at [0]")


def test_it_counts_values_without_walking_past_the_limit():
    shared = list(range(10))
    value = [[shared] * 10] * 10  # what YAML aliases build: 1,000 values from 3 lists
    assert larger_than(value, 1_000)
    assert not larger_than(value, 1_200)


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"a": "\\ud800"}', "it holds text that is not valid Unicode (at a)"),
        ('{"invoice_id": "a\\u0000b"}', "it holds text with a null character (at invoice_id)"),
        ('{"a": ' + "9" * 5000 + "}", "a number has over 100 digits"),
        ('{"a": ' + "9" * 200 + "}", "it holds a number with over 100 digits (at a)"),
        ("[" * 100_000 + "]" * 100_000, "the data is nested more than 100 levels deep"),
        ('{"a": ' + "[" * 200 + "]" * 200 + "}", "it holds data nested more than 100 levels"),
    ],
)
def test_reading_json_refuses_what_cannot_be_stored(text, message):
    with pytest.raises(NotFiniteError) as refused:
        loads(text)
    assert isinstance(refused.value, json.JSONDecodeError)
    assert str(refused.value).startswith(message)
