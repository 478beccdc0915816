"""Numbers JSON cannot hold, refused wherever they come in (orchestration/json_numbers.py)."""

import json
import math

import pytest

from orchestration.json_numbers import NotFiniteError, first_non_finite, loads


def test_it_reads_json_as_json_does():
    assert loads('{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}
    with pytest.raises(json.JSONDecodeError):
        loads("{oops")


@pytest.mark.parametrize("text", ["NaN", '{"a": Infinity}', "[-Infinity]", '{"a": 1e999}'])
def test_it_refuses_what_python_reads_but_json_does_not_allow(text):
    with pytest.raises(NotFiniteError):
        loads(text)


def test_it_names_the_path_of_the_first_number_json_cannot_hold():
    value = {"rows": [{"rate": 1.0}, {"rate": math.nan}], "total": math.inf}
    assert first_non_finite(value, "output") == "output.rows[1].rate"
    assert first_non_finite(-math.inf) == "the value"
    assert first_non_finite({"rows": [1, 2.5, "inf"]}) is None


def test_it_walks_values_nested_deeper_than_pythons_stack():
    deep: list = [math.nan]
    for _ in range(5000):
        deep = [deep]
    assert first_non_finite(deep) == "[0]" * 5000 + "[0]"
