"""The start form generated from a version's input schema, and starting a case with it."""

from __future__ import annotations

import pytest
from django import forms
from django.urls import reverse

from orchestration.engine import api as engine
from orchestration.forms import BUSINESS_KEY_FIELD, StartForm
from tests.factories import FlowInstanceFactory
from tests.orchestration.screens_world import as_user, world  # noqa: F401

SCHEMA = {
    "type": "object",
    "required": ["name", "amount"],
    "properties": {
        "name": {"type": "string", "maxLength": 40, "title": "Customer name"},
        "email": {"type": "string", "format": "email"},
        "due": {"type": "string", "format": "date"},
        "amount": {"type": "number", "minimum": 1, "maximum": 500},
        "count": {"type": "integer", "minimum": 0},
        "tier": {"type": "string", "enum": ["gold", "silver"]},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
        "vip": {"type": "boolean"},
        "extra": {"type": "object"},
    },
}


class TestStartFormFromSchema:
    def test_it_makes_a_field_of_the_right_kind_for_each_property(self):
        fields = StartForm(SCHEMA).fields
        assert isinstance(fields["email"], forms.EmailField)
        assert isinstance(fields["due"], forms.DateField)
        assert isinstance(fields["amount"], forms.DecimalField)
        assert isinstance(fields["count"], forms.IntegerField)
        assert isinstance(fields["tier"], forms.TypedChoiceField)
        assert isinstance(fields["tags"], forms.TypedMultipleChoiceField)
        assert isinstance(fields["vip"], forms.BooleanField)
        assert fields["name"].label == "Customer name"
        assert fields["name"].required and not fields["email"].required
        assert BUSINESS_KEY_FIELD in fields

    def test_it_enforces_required_min_max_length_and_format(self):
        form = StartForm(SCHEMA, {"name": "x" * 41, "amount": "900", "email": "nope"})
        assert not form.is_valid()
        assert set(form.errors) == {"name", "amount", "email"}

    @pytest.mark.parametrize("typed", ["1e400", "1e100000", "-1e-400", "1" * 101])
    def test_a_number_longer_than_json_takes_is_refused_at_once(self, typed):
        schema = {"type": "object", "properties": {"price": {"type": "number"}}}
        form = StartForm(schema, {"price": typed})
        assert not form.is_valid()
        assert form.errors["price"] == ["Enter a number of at most 100 digits."]

    def test_numbers_keep_what_was_typed_and_say_what_a_number_looks_like(self):
        form = StartForm(SCHEMA, {"name": "A", "amount": "12,50", "count": "-1"})
        assert not form.is_valid()
        assert form.errors["amount"] == [
            "Enter a number, with a dot for decimals: for example 12.50."
        ]
        assert form.errors["count"] == ["It must be at least 0."]
        assert 'value="12,50"' in str(form["amount"]) and 'inputmode="decimal"' in str(
            form["amount"]
        )

    @pytest.mark.parametrize(
        "expression, hint",
        [
            ("", "Optional: the reference people use for this case, e.g. an invoice number."),
            ("data.name", "Leave it empty: this flow uses the customer name as the case's "
             "reference."),
            ("data.email", "Leave it empty: this flow uses the email as the case's reference."),
            ("data.name + '-' + data.email", "Leave it empty: this flow works it out from the "
             "answers above."),
        ],
    )  # fmt: skip
    def test_the_business_key_says_where_the_flow_takes_it_from(self, expression, hint):
        form = StartForm(SCHEMA, key_expression=expression)
        assert form.fields[BUSINESS_KEY_FIELD].help_text == hint

    def test_it_turns_the_answers_into_plain_json(self):
        data = {
            "name": "Ada",
            "amount": "12.5",
            "count": "3",
            "due": "2026-01-31",
            "tier": '"gold"',
            "tags": ['"a"'],
            "extra": '{"k": 1}',
        }
        form = StartForm(SCHEMA, data)
        assert form.is_valid(), form.errors
        assert form.input_data() == {
            "name": "Ada",
            "amount": 12.5,
            "count": 3,
            "due": "2026-01-31",
            "tier": "gold",
            "tags": ["a"],
            "vip": False,
            "extra": {"k": 1},
        }

    def test_choices_read_in_plain_words_and_not_given_can_be_chosen(self):
        schema = {
            "type": "object",
            "required": ["answer"],
            "properties": {
                "answer": {"enum": ["yes", None]},
                "urgent": {"enum": [True, False]},
            },
        }
        form = StartForm(schema, {"answer": "null", "urgent": "true"})
        assert [label for _, label in form.fields["answer"].choices] == ["yes", "Not given"]
        assert [label for _, label in form.fields["urgent"].choices] == ["—", "Yes", "No"]
        assert form.is_valid(), form.errors
        assert form.input_data() == {"answer": None, "urgent": True}

    def test_a_malformed_json_object_names_the_problem(self):
        form = StartForm(SCHEMA, {"name": "Ada", "amount": "2", "extra": "{oops"})
        assert not form.is_valid()
        assert "not valid JSON" in form.errors["extra"][0]

    @pytest.mark.parametrize("number", ["NaN", "1e999", "-Infinity"])
    def test_a_number_json_does_not_allow_is_refused(self, number):
        form = StartForm(SCHEMA, {"name": "Ada", "amount": "2", "extra": f'{{"k": {number}}}'})
        assert not form.is_valid()
        assert form.errors["extra"][0].startswith("This is not valid JSON: ")
        # The number field itself refuses what Python's float() would take.
        form = StartForm(SCHEMA, {"name": "Ada", "amount": number})
        assert not form.is_valid() and "amount" in form.errors


@pytest.mark.django_db
class TestStartingACase:
    def url(self, world):  # noqa: F811
        return reverse("orchestration:flow_start", args=[world.flow.slug])

    def test_it_starts_a_case_and_opens_it(self, world, as_user, monkeypatch):  # noqa: F811
        started = FlowInstanceFactory(version=world.version)
        seen = {}
        monkeypatch.setattr(
            engine, "start_instance", lambda v, i, **k: seen.update(i=i, **k) or started
        )
        response = as_user(world.owner).post(
            self.url(world),
            {
                "supplier": "ACME",
                "amount": "120",
                "currency": '"EUR"',
                "_business_key": "INV-9",
                "_submission": "abc",
            },
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 204
        assert response["HX-Redirect"] == reverse(
            "orchestration:instance_detail", args=[started.pk]
        )
        assert seen["i"] == {"supplier": "ACME", "amount": 120, "currency": "EUR", "urgent": False}
        assert seen["trigger"] == "manual"
        assert seen["business_key"] == "INV-9"
        assert seen["started_by"] == world.owner
        assert seen["idempotency_key"] == "form:abc"

    def test_the_engines_input_problems_are_shown_on_the_form(self, world, as_user, monkeypatch):  # noqa: F811
        def invalid(*args, **kwargs):
            raise engine.InputInvalid(["amount: 120 is more than the approval limit", "input: odd"])

        monkeypatch.setattr(engine, "start_instance", invalid)
        response = as_user(world.owner).post(
            self.url(world), {"supplier": "ACME", "amount": "120"}, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 422
        form = response.context_data["start_form"]
        assert form.errors["amount"] == ["120 is more than the approval limit"]
        assert "input: odd" in form.non_field_errors()
        assert b"approval limit" in response.content

    def test_a_form_error_is_shown_before_calling_the_engine(self, world, as_user, monkeypatch):  # noqa: F811
        monkeypatch.setattr(engine, "start_instance", lambda *a, **k: pytest.fail("called"))
        response = as_user(world.owner).post(
            self.url(world), {"amount": "-1"}, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 422
        assert b"This field is required" in response.content

    def test_a_flow_without_a_published_version_explains_why(self, world, as_user):  # noqa: F811
        world.version.status = "retired"
        world.version.save()
        response = as_user(world.owner).get(self.url(world))
        assert response.status_code == 200
        assert b"publish a version first" in response.content
        assert as_user(world.owner).post(self.url(world), {}).status_code == 409


def test_fields_come_in_a_stable_order_even_when_the_database_reorders_keys():
    schema = {
        "required": ["supplier", "amount"],
        "properties": {
            "urgent": {"type": "boolean"},
            "amount": {"type": "number"},
            "note": {"type": "string", "x-order": 0},
            "supplier": {"type": "string"},
        },
    }
    assert list(StartForm(schema).fields) == [
        "note",
        "supplier",
        "amount",
        "urgent",
        BUSINESS_KEY_FIELD,
    ]
