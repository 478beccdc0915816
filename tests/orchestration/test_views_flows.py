"""The flows list and one flow's page: versions, YAML, import, access and tokens."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import get_perms

from audit.models import AuditEvent
from orchestration import access, tokens
from orchestration.models import ApiToken
from tests.factories import (
    FlowFactory,
    FlowInstanceFactory,
    FlowVersionFactory,
    TeamFactory,
)
from tests.orchestration.screens_world import (  # noqa: F401
    Problem,
    as_user,
    fake_actions,
    world,
)

pytestmark = pytest.mark.django_db


class TestFlowList:
    def test_it_lists_only_the_flows_the_user_may_see(self, world, as_user):  # noqa: F811
        FlowFactory(name="Payroll", owner_team=TeamFactory(name="HR"))
        response = as_user(world.viewer).get(reverse("orchestration:flow_list"))
        assert response.status_code == 200
        assert [f.name for f in response.context["flows"]] == ["Invoice approval"]
        assert b"Payroll" not in response.content

    def test_an_outsider_sees_an_empty_list_with_an_explanation(self, world, as_user):  # noqa: F811
        response = as_user(world.outsider).get(reverse("orchestration:flow_list"))
        assert response.context["flows"] == []
        assert b"No flows you may see" in response.content

    def test_it_shows_owner_live_version_and_running_and_failed_counts(self, world, as_user):  # noqa: F811
        FlowInstanceFactory.create_batch(2, version=world.version, status="running")
        FlowInstanceFactory(version=world.version, status="compensating")  # still at work
        FlowInstanceFactory(version=world.version, status="succeeded")
        # Ended at a failure end: nothing for an operator to do, so not counted.
        FlowInstanceFactory(version=world.version, status="failed", finished_at=timezone.now())
        response = as_user(world.owner).get(reverse("orchestration:flow_list"))
        (flow,) = response.context["flows"]
        assert (flow.running, flow.rolling_back, flow.failed) == (2, 1, 1)
        page = response.content.decode()
        assert f"?flow={world.flow.slug}&status=needs_operator" in page
        assert f"?flow={world.flow.slug}&status=compensating" in page and "+1 rolling back" in page
        assert flow.published == world.version
        assert b"Finance" in response.content


class TestNewFlowAndImport:
    def test_it_creates_a_flow_through_the_action(self, world, as_user, fake_actions):  # noqa: F811
        fake_actions.returns["create_flow"] = lambda name, **k: FlowFactory(
            name=name, slug="refunds", owner_team=k["owner_team"]
        )
        response = as_user(world.owner).post(
            reverse("orchestration:flow_create"),
            {"name": "Refunds", "owner_team": world.owner_team.pk, "description": "Pay back"},
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("orchestration:flow_detail", args=["refunds"])
        ((args, kwargs),) = fake_actions.called("create_flow")
        assert args == ("Refunds",)
        assert kwargs["owner_team"] == world.owner_team
        assert kwargs["created_by"] == world.owner

    def test_a_user_may_only_make_their_own_team_the_owner(self, world, as_user, fake_actions):  # noqa: F811
        other = TeamFactory(name="Support")
        response = as_user(world.owner).post(
            reverse("orchestration:flow_create"), {"name": "Refunds", "owner_team": other.pk}
        )
        assert response.status_code == 422
        assert fake_actions.called("create_flow") == []

    def test_an_import_lists_every_problem_and_changes_nothing(self, world, as_user, fake_actions):  # noqa: F811
        fake_actions.raises["import_yaml"] = Problem(
            ["steps.2.kind: unknown kind 'teleport'", "pay: has no owner"]
        )
        upload = SimpleUploadedFile("flow.yaml", b"name: x\n", content_type="text/yaml")
        response = as_user(world.owner).post(reverse("orchestration:flow_import"), {"file": upload})
        assert response.status_code == 422
        assert b"The flow was not imported. Put these right" in response.content
        assert response.content.count(b"<li>") >= 2
        assert b"unknown kind" in response.content
        assert b"pay: has no owner" in response.content

    def test_a_valid_import_opens_the_new_flow(self, world, as_user, fake_actions):  # noqa: F811
        fake_actions.returns["import_yaml"] = lambda text, **k: FlowVersionFactory(
            flow=FlowFactory(slug="imported", owner_team=world.owner_team), status="draft"
        )
        response = as_user(world.owner).post(
            reverse("orchestration:flow_import"), {"text": "name: Imported\n"}
        )
        assert response.status_code == 302
        assert response["Location"].endswith("/flows/imported/")
        ((args, kwargs),) = fake_actions.called("import_yaml")
        assert args == ("name: Imported\n",)
        assert kwargs == {"user": world.owner}

    def test_an_empty_import_asks_for_a_file(self, world, as_user, fake_actions):  # noqa: F811
        response = as_user(world.owner).post(reverse("orchestration:flow_import"), {})
        assert response.status_code == 422
        assert b"Choose a YAML file or paste its text" in response.content

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            ("a" * (512 * 1024 + 1), "The text is longer than a file may be (512 KB)."),
            ("name: x\x00\n", "Null characters are not allowed."),
        ],
    )
    def test_pasted_text_it_cannot_take_is_explained_once(
        self,
        world,  # noqa: F811
        as_user,  # noqa: F811
        fake_actions,  # noqa: F811
        text,
        words,
    ):
        response = as_user(world.owner).post(reverse("orchestration:flow_import"), {"text": text})
        assert response.status_code == 422
        content = response.content.decode()
        assert words in content
        assert "Choose a YAML file or paste its text" not in content
        assert 'maxlength="' not in content
        assert not fake_actions.called("import_yaml")

    def test_a_form_too_large_to_read_says_so(self, world, as_user):  # noqa: F811
        text = "a" * (3 * 1024 * 1024)
        response = as_user(world.owner).post(reverse("orchestration:flow_import"), {"text": text})
        assert response.status_code == 413
        assert "What you sent is larger than Podium takes" in response.content.decode()
        assert "2.5 MB" in response.content.decode()


class TestFlowPage:
    def test_it_shows_versions_start_form_access_and_tokens_to_the_owner(self, world, as_user):  # noqa: F811
        response = as_user(world.owner).get(
            reverse("orchestration:flow_detail", args=[world.flow.slug])
        )
        assert response.status_code == 200
        content = response.content.decode()
        for text in ("Versions", "Start a case", "Who can do what", "API tokens", "Recent cases"):
            assert text in content
        assert 'name="supplier"' in content
        assert "/flows/invoice-approval/editor/" in content
        assert "/flows/invoice-approval/handoff/" in content

    @pytest.mark.parametrize("version", ["²", "9" * 5000, "x"])
    def test_the_handoff_map_takes_an_odd_version_as_none_given(self, world, as_user, version):  # noqa: F811
        response = as_user(world.owner).get(
            reverse("orchestration:handoff", args=[world.flow.slug]), {"version": version}
        )
        assert response.status_code == 200

    def test_recent_cases_say_where_each_case_is_now(self, world, as_user):  # noqa: F811
        world.version.definition = {"steps": [{"id": "post", "label": "Post to the ledger"}]}
        world.version.save(update_fields=["definition"])
        response = as_user(world.viewer).get(
            reverse("orchestration:flow_detail", args=[world.flow.slug])
        )
        (case,) = response.context["recent"]
        assert case.now.steps[0].label == "Post to the ledger"
        content = response.content.decode()
        assert "Failed: Timed out" in content
        assert "Runs on version" not in content  # named only for cases on an older version

    def test_a_read_only_user_sees_no_forms(self, world, as_user):  # noqa: F811
        response = as_user(world.viewer).get(
            reverse("orchestration:flow_detail", args=[world.flow.slug])
        )
        content = response.content.decode()
        assert "Versions" in content
        for text in ("Start a case", "Who can do what", "API tokens", "Retire"):
            assert text not in content

    def test_it_shows_a_version_as_yaml(self, world, as_user, fake_actions):  # noqa: F811
        fake_actions.returns["export_yaml"] = "name: Invoice approval\nsteps: []\n"
        url = reverse("orchestration:version_yaml", args=[world.flow.slug, 1])
        response = as_user(world.viewer).get(url)
        assert b"steps: []" in response.content
        download = as_user(world.viewer).get(url + "?download=1")
        assert download["Content-Disposition"] == 'attachment; filename="invoice-approval-v1.yaml"'

    def test_a_missing_version_is_not_found(self, world, as_user, fake_actions):  # noqa: F811
        url = reverse("orchestration:version_yaml", args=[world.flow.slug, 99])
        assert as_user(world.owner).get(url).status_code == 404

    def test_it_retires_a_published_version(self, world, as_user, fake_actions):  # noqa: F811
        url = reverse("orchestration:version_retire", args=[world.flow.slug, 1])
        response = as_user(world.owner).post(url)
        assert response.status_code == 302
        ((args, kwargs),) = fake_actions.called("retire_version")
        assert args == (world.version,)
        assert kwargs == {"user": world.owner}

    def test_retiring_twice_is_refused_with_a_message(self, world, as_user, fake_actions):  # noqa: F811
        world.version.status = "retired"
        world.version.save()
        url = reverse("orchestration:version_retire", args=[world.flow.slug, 1])
        response = as_user(world.owner).post(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 409
        assert b"only a published version can be retired" in response.content
        assert fake_actions.called("retire_version") == []

    def test_it_publishes_a_draft_with_the_change_note(self, world, as_user, fake_actions):  # noqa: F811
        FlowVersionFactory(flow=world.flow, number=2, status="draft")
        url = reverse("orchestration:version_publish", args=[world.flow.slug, 2])
        response = as_user(world.owner).post(
            url, HTTP_HX_REQUEST="true", HTTP_HX_PROMPT="New limit"
        )
        assert response.status_code == 204
        ((_args, kwargs),) = fake_actions.called("publish_version")
        assert kwargs == {"user": world.owner, "note": "New limit"}

    def test_a_draft_with_lint_errors_is_not_published(self, world, as_user, fake_actions):  # noqa: F811
        FlowVersionFactory(flow=world.flow, number=2, status="draft")
        fake_actions.raises["publish_version"] = Problem(["pay: has no error path"])
        url = reverse("orchestration:version_publish", args=[world.flow.slug, 2])
        response = as_user(world.owner).post(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 422
        assert b"pay: has no error path" in response.content

    def test_a_second_draft_is_refused(self, world, as_user, fake_actions):  # noqa: F811
        FlowVersionFactory(flow=world.flow, number=2, status="draft")
        url = reverse("orchestration:version_new_draft", args=[world.flow.slug, 1])
        response = as_user(world.owner).post(url)
        assert response.status_code == 409
        assert fake_actions.called("new_draft_from") == []


class TestAccess:
    def grant(self, client, flow, holder, perm, path="grant"):
        url = reverse(f"orchestration:access_{path}", args=[flow.slug])
        return client.post(url, {"holder": holder, "permission": perm}, HTTP_HX_REQUEST="true")

    def test_it_grants_a_team_a_permission_and_records_it(self, world, as_user):  # noqa: F811
        support = world.other.groups.get()
        response = self.grant(
            as_user(world.owner), world.flow, f"team:{support.pk}", access.OPERATE
        )
        assert response.status_code == 200
        # With view, which operate needs (without it the flow is not found).
        assert set(get_perms(support, world.flow)) == {"operate_flow", "view_flow"}
        events = AuditEvent.objects.filter(action="flow.access_granted").order_by("id")
        assert [e.payload["permission"] for e in events] == [access.VIEW, access.OPERATE]
        assert {e.payload["holder"] for e in events} == {"team Support"}
        assert events[0].actor_label == "olivia"
        assert b"Permission granted" in response.content

    def test_granting_twice_answers_conflict(self, world, as_user):  # noqa: F811
        team = world.owner_team
        response = self.grant(as_user(world.owner), world.flow, f"team:{team.pk}", access.VIEW)
        assert response.status_code == 409
        assert b"already have" in response.content

    def test_it_takes_a_permission_away_from_a_person(self, world, as_user):  # noqa: F811
        client = as_user(world.owner)
        self.grant(client, world.flow, f"user:{world.outsider.pk}", access.VIEW)
        response = self.grant(
            client, world.flow, f"user:{world.outsider.pk}", access.VIEW, "revoke"
        )
        assert response.status_code == 200
        assert not world.outsider.has_perm(access.VIEW, world.flow)
        assert AuditEvent.objects.filter(action="flow.access_revoked").count() == 1

    def test_an_unknown_holder_is_refused(self, world, as_user):  # noqa: F811
        response = self.grant(as_user(world.owner), world.flow, "team:99999", access.VIEW)
        assert response.status_code == 422

    def test_an_unknown_permission_is_refused_in_words(self, world, as_user):  # noqa: F811
        team = world.other.groups.get()
        response = self.grant(as_user(world.owner), world.flow, f"team:{team.pk}", "root")
        assert response.status_code == 422
        assert "Select a valid choice. root is not one of the available choices." in (
            response.content.decode()
        )
        assert get_perms(team, world.flow) == []


class TestTokens:
    def test_it_shows_a_new_secret_once_and_stores_only_its_hash(self, world, as_user):  # noqa: F811
        url = reverse("orchestration:token_create", args=[world.flow.slug])
        response = as_user(world.owner).post(url, {"name": "CRM"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        secret = response.context_data["new_secret"]
        token = ApiToken.objects.get()
        assert secret.encode() in response.content
        assert token.token_hash == tokens.hash_token(secret)
        assert secret not in token.prefix + token.token_hash
        page = as_user(world.owner).get(
            reverse("orchestration:flow_detail", args=[world.flow.slug])
        )
        assert secret.encode() not in page.content
        assert token.prefix.encode() in page.content
        assert AuditEvent.objects.filter(action="flow.token_created").exists()

    def test_it_revokes_a_token_and_a_second_revoke_conflicts(self, world, as_user):  # noqa: F811
        token, _ = tokens.create_token(world.flow, "CRM", by=world.owner)
        url = reverse("orchestration:token_revoke", args=[world.flow.slug, token.pk])
        client = as_user(world.owner)
        assert client.post(url, HTTP_HX_REQUEST="true").status_code == 200
        token.refresh_from_db()
        assert token.revoked_at is not None
        again = client.post(url, HTTP_HX_REQUEST="true")
        assert again.status_code == 409
        assert b"already revoked" in again.content
