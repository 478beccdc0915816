"""Case data as people read it."""

from __future__ import annotations

import pytest

from orchestration.readable import field_label, field_titles, people_names, readable
from tests.factories import UserFactory


def test_fields_take_the_titles_of_the_input_schema():
    definition = {
        "input_schema": {
            "type": "object",
            "properties": {
                "po_number": {"type": "string", "title": "PO number"},
                "amount": {"type": "number", "title": "  "},
                "vendor": {"type": "string"},
            },
        }
    }
    titles = field_titles(definition)
    assert titles == {"po_number": "PO number"}
    assert field_label("po_number", titles) == "PO number"
    assert field_label("amount", titles) == "Amount"
    assert field_label("has_po", titles) == "Has PO"
    assert field_label("po_count", {}) == "Po count"
    assert field_label("steps.check", titles) == "Steps / check"


def test_a_definition_without_input_fields_gives_no_titles():
    assert field_titles(None) == {} == field_titles({"input_schema": {"type": "object"}})
    assert field_titles({"input_schema": {"properties": ["not", "a", "mapping"]}}) == {}
    assert field_titles({"steps": []}) == {}


def test_values_read_as_in_the_inbox():
    assert [readable(v) for v in (2350.0, 2350.5, 12000, True, None, "")] == [
        "2,350",
        "2,350.50",
        "12,000",
        "Yes",
        "—",
        "—",
    ]


@pytest.mark.django_db
def test_people_go_by_their_full_name_and_other_actors_are_left_out(django_assert_num_queries):
    UserFactory(username="aisha", first_name="Aisha", last_name="Khan")
    UserFactory(username="sam", first_name="", last_name="")
    with django_assert_num_queries(1):
        names = people_names(["aisha", "sam", "Podium engine", "", "aisha"])
    assert names == {"aisha": "Aisha Khan", "sam": "sam"}
    assert people_names(["", ""]) == {}
