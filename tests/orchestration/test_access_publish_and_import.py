"""Who may make a flow start another flow, and what importing a flow may create."""

from __future__ import annotations

import pytest
from guardian.shortcuts import assign_perm

from orchestration import access
from orchestration.definitions.yaml_io import to_yaml
from orchestration.models import Flow, FlowVersion
from tests.factories import FlowFactory, FlowVersionFactory, TeamFactory, UserFactory
from tests.orchestration.factories import definition, link, published, sequence_definition, step


@pytest.fixture
def payroll(db):
    """A flow of Finance's that others may not start."""
    return published(sequence_definition(1), slug="payroll", owner_team=TeamFactory(name="Finance"))


@pytest.fixture
def support(db):
    return TeamFactory(name="Support")


def calling(slug: str) -> dict:
    return definition(
        [
            step("start", "start", config={"triggers": [{"type": "manual"}]}),
            step("call", "subflow", config={"flow": slug, "input": {}}, on_error="end"),
            step("end", "end", config={"result": "success"}),
        ],
        [link("start", "call"), link("call", "end")],
    )


def draft_calling(slug: str, team) -> FlowVersion:
    flow = FlowFactory(slug="helpdesk", owner_team=team)
    return FlowVersionFactory(flow=flow, number=1, status="draft", definition=calling(slug))


def publish(client, user, draft) -> str:
    client.force_login(user)
    response = client.post(
        f"/flows/{draft.flow.slug}/versions/{draft.number}/publish/", {"note": "go live"}
    )
    draft.refresh_from_db()
    return response.content.decode() if response.status_code != 302 else ""


@pytest.mark.parametrize("slug", ["payroll", "no-such-flow"])
def test_a_flow_cannot_be_published_to_start_a_flow_its_publisher_may_not_start(
    client, payroll, support, slug
):
    draft = draft_calling(slug, support)
    sam = UserFactory(username="sam", teams=[support])
    body = publish(client, sam, draft)
    assert draft.status == "draft"
    assert f"starts the flow &#x27;{slug}&#x27;, which does not exist or whose cases" in body


def test_a_publisher_who_may_start_the_other_flows_cases_publishes(client, payroll, support):
    draft = draft_calling("payroll", support)
    sam = UserFactory(username="sam", teams=[support])
    assign_perm(access.OPERATE, sam, payroll.flow)
    assert publish(client, sam, draft) == ""
    assert draft.status == "published"


def test_importing_a_flow_one_may_not_see_says_only_that_its_name_is_taken(
    client, payroll, support
):
    client.force_login(UserFactory(username="sam", teams=[support]))
    defn = {**sequence_definition(1), "flow": {"slug": "payroll", "name": "Mine"}}
    response = client.post("/flows/import/", {"text": to_yaml(defn)})
    body = response.content.decode()
    assert response.status_code == 422
    assert "The short name &#x27;payroll&#x27; is already in use" in body
    assert "exists" not in body
    assert payroll.flow.versions.count() == 1


def import_flow(client, meta: dict):
    return client.post(
        "/flows/import/", {"text": to_yaml({**sequence_definition(1), "flow": meta})}
    )


@pytest.mark.parametrize(
    "owner, teams, problem",
    [
        ("team:Finance", ["Support"], "must be owned by one of your teams, or by you"),
        ("user:olivia", ["Support"], "must be owned by one of your teams, or by you"),
        ("team:Support", [], "You are in no team yet, so you cannot create flows"),
        (None, [], "You are in no team yet, so you cannot create flows"),
    ],
)
def test_an_imported_flow_is_owned_as_the_new_flow_form_allows(
    client, payroll, support, owner, teams, problem
):
    UserFactory(username="olivia")
    sam = UserFactory(
        username="sam", teams=[TeamFactory(name=t) if t != "Support" else support for t in teams]
    )
    client.force_login(sam)
    meta = {"slug": "my-flow", "name": "Mine", **({"owner": owner} if owner else {})}
    response = client.post(
        "/flows/import/", {"text": to_yaml({**sequence_definition(1), "flow": meta})}
    )
    assert response.status_code == 422
    assert problem in response.content.decode()
    assert not Flow.objects.filter(slug="my-flow").exists()


def test_a_person_imports_a_flow_owned_by_their_team(client, support):
    client.force_login(UserFactory(username="sam", teams=[support]))
    meta = {"slug": "my-flow", "name": "Mine", "owner": "team:Support"}
    response = client.post(
        "/flows/import/", {"text": to_yaml({**sequence_definition(1), "flow": meta})}
    )
    assert response.status_code == 302
    assert Flow.objects.get(slug="my-flow").owner_team == support
