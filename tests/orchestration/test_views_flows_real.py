"""The flow screens with the real actions (orchestration/actions.py), not stand-ins."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from orchestration.models import Flow, FlowVersion
from tests.factories import FlowVersionFactory
from tests.orchestration.screens_world import as_user, world  # noqa: F401

pytestmark = pytest.mark.django_db

REFUNDS_YAML = """\
format: podium/v1
flow:
  name: Refunds
  slug: refunds
  owner: team:Finance
input_schema:
  type: object
  required: [amount]
  properties:
    amount: {type: number, minimum: 0}
steps:
- {id: start, kind: start, label: Start, owner: "system:podium",
   config: {triggers: [{type: manual}]}}
- {id: classify, kind: set, label: Classify, owner: "team:Finance",
   config: {assign: {large: "data.amount > 5000"}}}
- {id: end, kind: end, label: End, owner: "system:podium", config: {result: success}}
connections:
- {from: start, to: classify}
- {from: classify, to: end}
"""


def test_a_new_flow_belongs_to_the_chosen_team(world, as_user):  # noqa: F811
    response = as_user(world.owner).post(
        reverse("orchestration:flow_create"),
        {"name": "Supplier onboarding", "owner_team": world.owner_team.pk},
    )
    flow = Flow.objects.get(name="Supplier onboarding")
    assert response["Location"] == reverse("orchestration:flow_detail", args=[flow.slug])
    assert flow.owner_team == world.owner_team
    assert world.teammate.has_perm("orchestration.publish_flow", flow)
    assert not world.other.has_perm("orchestration.view_flow", flow)


def test_importing_yaml_creates_the_flow_with_a_draft(world, as_user):  # noqa: F811
    upload = SimpleUploadedFile("refunds.yaml", REFUNDS_YAML.encode(), content_type="text/yaml")
    response = as_user(world.owner).post(reverse("orchestration:flow_import"), {"file": upload})
    assert response.status_code == 302, response.content[:2000]
    flow = Flow.objects.get(slug="refunds")
    assert flow.owner_team == world.owner_team
    assert flow.versions.get().status == "draft"


def test_importing_and_publishing_say_how_many_warnings_the_flow_has(world, as_user):  # noqa: F811
    spare = '- {id: spare, kind: set, label: Spare, owner: "team:Finance", config: {assign: {}}}\n'
    unreachable = REFUNDS_YAML.replace("connections:\n", spare + "connections:\n")
    unreachable += "- {from: spare, to: end}\n"
    client = as_user(world.owner)
    response = client.post(reverse("orchestration:flow_import"), {"text": unreachable}, follow=True)
    assert "as draft v1. It has 1 warning: the editor lists them." in response.content.decode()
    response = client.post(
        reverse("orchestration:version_publish", args=["refunds", 1]), {"note": "go"}, follow=True
    )
    assert "New cases start on it. It has 1 warning" in response.content.decode()


def test_an_invalid_yaml_import_lists_every_problem_and_stores_nothing(world, as_user):  # noqa: F811
    broken = REFUNDS_YAML.replace("kind: set", "kind: teleport").replace(
        "- {from: classify, to: end}", "- {from: classify, to: nowhere}"
    )
    response = as_user(world.owner).post(reverse("orchestration:flow_import"), {"text": broken})
    assert response.status_code == 422
    problems = response.context_data["problems"]
    assert len(problems) >= 2
    assert any("teleport" in p for p in problems)
    assert any(p.startswith("Connection number") and "leads to 'nowhere'" in p for p in problems)
    assert not Flow.objects.filter(slug="refunds").exists()


def test_yaml_that_does_not_parse_names_the_line(world, as_user):  # noqa: F811
    response = as_user(world.owner).post(
        reverse("orchestration:flow_import"), {"text": "flow: [unclosed\n"}
    )
    assert response.status_code == 422
    assert b"line" in response.content


def test_an_import_into_a_flow_someone_else_owns_is_refused(world, as_user):  # noqa: F811
    text = REFUNDS_YAML.replace("slug: refunds", f"slug: {world.flow.slug}")
    response = as_user(world.other).post(reverse("orchestration:flow_import"), {"text": text})
    assert response.status_code == 422
    assert b"is already in use" in response.content  # not even whether it exists
    assert world.flow.versions.count() == 1


def test_a_file_for_another_flow_is_not_imported_as_this_ones_draft(world, as_user):  # noqa: F811
    client = as_user(world.owner)
    upload = SimpleUploadedFile("f.yaml", REFUNDS_YAML.encode())
    url = reverse("orchestration:flow_import_draft", args=[world.flow.slug])
    response = client.post(url, {"file": upload})
    assert response.status_code == 422
    assert f"This file is for the flow &#x27;refunds&#x27;, not &#x27;{world.flow.slug}" in (
        response.content.decode()
    )
    assert not world.flow.versions.filter(status="draft").exists()


def test_publish_retire_and_new_draft_with_the_real_actions(world, as_user):  # noqa: F811
    client = as_user(world.owner)
    mine = REFUNDS_YAML.replace("slug: refunds", f"slug: {world.flow.slug}")
    upload = SimpleUploadedFile("f.yaml", mine.encode())
    client.post(
        reverse("orchestration:flow_import_draft", args=[world.flow.slug]), {"file": upload}
    )
    draft = world.flow.versions.get(status="draft")
    url = reverse("orchestration:version_publish", args=[world.flow.slug, draft.number])
    assert client.post(url, {"note": "Refund rules"}).status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.change_note, draft.published_by) == (
        "published",
        "Refund rules",
        world.owner,
    )
    retire = reverse("orchestration:version_retire", args=[world.flow.slug, 1])
    assert client.post(retire).status_code == 302
    assert FlowVersion.objects.get(pk=world.version.pk).status == "retired"
    new = reverse("orchestration:version_new_draft", args=[world.flow.slug, draft.number])
    assert client.post(new).status_code == 302
    assert world.flow.versions.filter(status="draft").count() == 1


def test_a_draft_with_errors_is_not_published_and_the_problems_are_shown(world, as_user):  # noqa: F811
    FlowVersionFactory(flow=world.flow, number=2, status="draft", definition={"steps": "nope"})
    url = reverse("orchestration:version_publish", args=[world.flow.slug, 2])
    response = as_user(world.owner).post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert b"cannot be published yet" in response.content
    assert world.flow.versions.get(number=2).status == "draft"


def test_the_yaml_view_round_trips_the_version(world, as_user):  # noqa: F811
    response = as_user(world.viewer).get(
        reverse("orchestration:version_yaml", args=[world.flow.slug, 1])
    )
    assert response.status_code == 200
    assert b"slug: invoice-approval" in response.content


def test_the_versions_say_where_new_cases_start_and_what_retiring_changes(world, as_user):  # noqa: F811
    FlowVersionFactory(flow=world.flow, number=2, status="published")
    client = as_user(world.owner)
    page = client.get(reverse("orchestration:flow_detail", args=[world.flow.slug]))
    content = page.content.decode()
    assert page.context["current"].number == 2 and page.context["fallback"].number == 1
    assert content.count('data-testid="starts-here"') == 1
    assert "Retire v2? No new cases will start on it; running cases finish. New cases will " in (
        content
    )
    retire = reverse("orchestration:version_retire", args=[world.flow.slug, 2])
    followed = client.post(retire, follow=True)
    assert (
        "v2 is retired: no new cases start on it; running ones finish. New cases start on v1."
        in (followed.content.decode())
    )
    retire = reverse("orchestration:version_retire", args=[world.flow.slug, 1])
    followed = client.post(retire, follow=True)
    assert "The flow starts no new cases until you publish a version." in followed.content.decode()
