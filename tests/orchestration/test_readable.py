"""Case data as people read it."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent, DecisionRecord
from orchestration.readable import (
    field_label,
    field_titles,
    label_steps,
    people_names,
    person_name,
    readable,
    readable_history,
    step_labels,
)
from tests.factories import FlowInstanceFactory, FlowVersionFactory, UserFactory


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


def test_step_labels_survive_odd_definitions():
    assert step_labels(None) == {}
    assert step_labels({"steps": ["x", {"label": "no id"}, {"id": "a", "name": "Old"}]}) == {
        "a": "Old"
    }


@pytest.mark.django_db
def test_a_history_names_steps_by_label_and_people_by_full_name(django_assert_num_queries):
    UserFactory(username="aisha", first_name="Aisha", last_name="Khan")
    definition = {"steps": [{"id": "check", "label": "Check the invoice"}]}
    events = [
        AuditEvent(
            action="step.succeeded",
            actor_kind="user",
            actor_label="aisha",
            payload={"step": "check"},
        ),
        AuditEvent(
            action="task.opened",
            actor_kind="system",
            actor_label="Podium engine",
            payload={"step_id": "gone"},
        ),
        AuditEvent(action="instance.started", actor_kind="ai", actor_label="rules", payload={}),
    ]
    with django_assert_num_queries(1):
        history = readable_history(events, definition)
    assert [(e.step_label, e.who) for e in history] == [
        ("Check the invoice", "Aisha Khan"),
        ("gone", "Podium engine"),
        ("", "rules"),
    ]


@pytest.mark.django_db
def test_a_person_goes_by_full_name_else_user_name_and_nobody_by_nothing():
    assert person_name(UserFactory(username="aisha", first_name="Aisha", last_name="")) == "Aisha"
    assert person_name(UserFactory(username="sam", first_name="", last_name="")) == "sam"
    assert person_name(None) == ""


@pytest.mark.django_db
def test_events_and_decisions_of_many_cases_are_labelled_from_each_cases_version(
    django_assert_num_queries,
):
    def case(label: str):
        version = FlowVersionFactory(
            definition={"steps": [{"id": "check", "kind": "set", "label": label}]}
        )
        return FlowInstanceFactory(version=version)

    first, second = case("Check the invoice"), case("Check the refund")
    events = [
        AuditEvent(action="step.succeeded", instance_id=first.pk, payload={"step": "check"}),
        AuditEvent(action="task.opened", instance_id=second.pk, payload={"step_id": "check"}),
        AuditEvent(action="step.failed", instance_id=second.pk, payload={"step": "gone"}),
        AuditEvent(action="flow.created", instance_id=None, payload={"name": "Refunds"}),
        DecisionRecord(instance_id=first.pk, step_id="check"),
    ]
    with django_assert_num_queries(2):
        label_steps(events)
    assert [getattr(e, "step_label", "") for e in events] == [
        "Check the invoice",
        "Check the refund",
        "gone",
        "",
        "Check the invoice",
    ]
