"""factory_boy factories shared by the whole suite."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

PASSWORD = "correct horse battery staple"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def teams(self, create: bool, extracted: list[Group] | None, **kwargs: object) -> None:
        if create and extracted:
            self.groups.add(*extracted)
        if create:
            self.save()


# --- Flows and cases (screens) ---------------------------------------------------------

SIMPLE_INPUT_SCHEMA = {
    "type": "object",
    "required": ["amount", "supplier"],
    "properties": {
        "supplier": {"type": "string", "title": "Supplier", "maxLength": 80},
        "amount": {"type": "number", "minimum": 0, "maximum": 100000},
        "currency": {"type": "string", "enum": ["EUR", "USD"], "default": "EUR"},
        "urgent": {"type": "boolean"},
    },
}


class FlowFactory(factory.django.DjangoModelFactory):
    """A flow whose owner team holds every permission (as actions.create_flow does)."""

    class Meta:
        model = "orchestration.Flow"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Flow {n}")
    slug = factory.Sequence(lambda n: f"flow-{n}")
    owner_team = factory.SubFactory(TeamFactory)

    @factory.post_generation
    def owner_permissions(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            from orchestration.access import grant_owner_permissions

            grant_owner_permissions(self)


class FlowVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orchestration.FlowVersion"

    flow = factory.SubFactory(FlowFactory)
    number = factory.Sequence(lambda n: n + 1)
    status = "published"
    definition = factory.LazyFunction(
        lambda: {"input_schema": SIMPLE_INPUT_SCHEMA, "steps": [], "connections": []}
    )
    published_at = factory.LazyFunction(timezone.now)


class FlowInstanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orchestration.FlowInstance"

    version = factory.SubFactory(FlowVersionFactory)
    flow = factory.SelfAttribute("version.flow")
    status = "running"
    input = factory.LazyFunction(lambda: {"supplier": "ACME", "amount": 120})
    data = factory.SelfAttribute("input")


class StepRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orchestration.StepRun"

    instance = factory.SubFactory(FlowInstanceFactory)
    step_id = "check"
    kind = "transform"
    status = "succeeded"
