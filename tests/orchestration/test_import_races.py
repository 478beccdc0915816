"""Two imports at the same moment: one wins or the other hears why, never a server error."""

from __future__ import annotations

import pytest

from orchestration import actions
from orchestration.definitions.yaml_io import to_yaml
from orchestration.models import Flow, FlowVersion
from tests.factories import FlowFactory, UserFactory
from tests.orchestration.factories import published, sequence_definition


@pytest.fixture
def admin(db):
    return UserFactory(username="ada", is_superuser=True)


def test_an_import_racing_another_for_the_next_draft_replaces_that_draft(
    client, admin, monkeypatch
):
    v1 = published(sequence_definition(1), slug="payroll")
    numbered = actions._next_number

    def another_import_first(flow: Flow) -> int:
        number = numbered(flow)
        FlowVersion.objects.create(flow=flow, number=number, definition=v1.definition)
        return number

    monkeypatch.setattr(actions, "_next_number", another_import_first)
    client.force_login(admin)
    mine = sequence_definition(2)
    response = client.post("/flows/payroll/import/", {"text": to_yaml(mine)})
    assert response.status_code == 302
    draft = FlowVersion.objects.get(flow=v1.flow, status="draft")
    assert (draft.number, draft.definition, draft.revision) == (2, mine, 2)


def test_an_import_racing_another_for_a_new_slug_is_told_the_name_is_taken(
    client, admin, monkeypatch
):
    created = actions.create_flow

    def another_import_first(name: str, slug: str = "", **fields) -> Flow:
        FlowFactory(slug=slug)
        return created(name, slug, **fields)

    monkeypatch.setattr(actions, "create_flow", another_import_first)
    client.force_login(admin)
    text = to_yaml({**sequence_definition(1), "flow": {"slug": "payroll", "name": "Payroll"}})
    response = client.post("/flows/import/", {"text": text})
    assert response.status_code == 422
    assert "The short name &#x27;payroll&#x27; is already in use" in response.content.decode()
    assert not Flow.objects.filter(name="Payroll").exists()
