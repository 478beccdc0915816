import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from orchestration import actions
from orchestration.definitions.yaml_io import parse_yaml, to_yaml
from orchestration.editor import shape
from orchestration.models import FlowInstance, FlowVersion
from tests.orchestration.editor.conftest import invoice_definition
from tests.orchestration.editor.test_draft_views import graph_of, post_graph

HX = {"HX-Request": "true"}


def url(name, w, number=2):
    return reverse(f"orchestration:{name}", args=[w.flow.slug, number])


class TestYaml:
    def test_editor_to_yaml_to_editor_keeps_the_flow_identical(self, client, world):
        client.force_login(world.owner)
        post_graph(client, world, graph_of(world.v2.definition), 1)
        world.v2.refresh_from_db()
        edited = world.v2.definition
        assert parse_yaml(to_yaml(edited)) == edited
        assert shape.elements(parse_yaml(to_yaml(edited))) == shape.elements(edited)

    def test_download_gives_the_yaml_of_the_version(self, client, world):
        client.force_login(world.owner)
        response = client.get(url("editor_yaml", world), {"download": "1"})
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
        downloaded = parse_yaml(response.content.decode())
        assert downloaded.pop("flow")["slug"] == "invoices"
        assert downloaded == world.v2.definition

    def test_uploading_a_flow_replaces_the_draft(self, client, world):
        client.force_login(world.owner)
        changed = invoice_definition()
        changed["steps"][1]["label"] = "Check the invoice"
        upload = SimpleUploadedFile("flow.yaml", to_yaml(changed).encode())
        response = client.post(
            url("editor_yaml", world), {"file": upload, "revision": 1}, headers=HX
        )
        assert response.status_code == 204 and response["HX-Redirect"]
        world.v2.refresh_from_db()
        assert shape.step_by_id(world.v2.definition, "review")["label"] == "Check the invoice"

    def test_yaml_that_is_not_a_flow_is_refused_and_the_draft_stays(self, client, world):
        client.force_login(world.owner)
        before = world.v2.definition
        for text in ("shopping:\n  - milk\n  - eggs\n", "steps: [unclosed\n", "just words"):
            response = client.post(
                url("editor_yaml", world), {"text": text, "revision": 1}, headers=HX
            )
            assert response.status_code == 422
            assert "The draft was not changed" in response.content.decode()
        world.v2.refresh_from_db()
        assert world.v2.definition == before and world.v2.revision == 1

    def test_nothing_to_upload_is_explained(self, client, world):
        client.force_login(world.owner)
        response = client.post(url("editor_yaml", world), {"revision": 1}, headers=HX)
        assert response.status_code == 422
        assert "Choose a file or paste" in response.content.decode()

    def test_yaml_for_another_flow_is_refused_as_the_import_refuses_it(self, client, world):
        client.force_login(world.owner)
        other = {**invoice_definition(), "flow": {"slug": "payroll", "name": "Payroll"}}
        response = client.post(
            url("editor_yaml", world), {"text": to_yaml(other), "revision": 1}, headers=HX
        )
        assert response.status_code == 422
        assert (
            "This file is for the flow &#x27;payroll&#x27;, not &#x27;invoices&#x27;."
            in response.content.decode()
        )
        world.v2.refresh_from_db()
        assert world.v2.revision == 1 and "flow" not in world.v2.definition

    def test_pasted_yaml_is_capped_as_on_the_import_page(self, client, world):
        client.force_login(world.owner)
        text = to_yaml(invoice_definition()) + "# " + "x" * (512 * 1024) + "\n"
        response = client.post(url("editor_yaml", world), {"text": text, "revision": 1}, headers=HX)
        assert response.status_code == 422
        assert "The text is longer than a file may be (512 KB)." in response.content.decode()
        world.v2.refresh_from_db()
        assert world.v2.revision == 1


class TestPublish:
    def test_the_dialog_shows_the_change_against_the_last_published_version(self, client, world):
        client.force_login(world.owner)
        definition = world.v2.definition
        definition["steps"][1]["owner"] = "team:Legal"
        FlowVersion.objects.filter(pk=world.v2.pk).update(definition=definition)
        response = client.get(url("editor_publish", world), headers=HX)
        html = response.content.decode()
        assert response.status_code == 200
        assert "Compared with v1" in html
        assert "Step “Review” changed" in html
        assert "owner changed from “team:Finance” to “team:Legal”" in html

    def test_publishing_records_the_note_and_the_publisher(self, client, world):
        client.force_login(world.owner)
        response = client.post(
            url("editor_publish", world), {"note": "Legal reviews now."}, headers=HX
        )
        assert response.status_code == 204, response.content.decode()[:2000]
        world.v2.refresh_from_db()
        assert world.v2.status == "published"
        assert world.v2.change_note == "Legal reviews now."
        assert world.v2.published_by == world.owner

    def test_a_note_is_required(self, client, world):
        client.force_login(world.owner)
        response = client.post(url("editor_publish", world), {"note": ""}, headers=HX)
        assert response.status_code == 422
        world.v2.refresh_from_db()
        assert world.v2.status == "draft"

    def test_a_viewer_may_not_publish(self, client, world):
        client.force_login(world.viewer)
        response = client.post(url("editor_publish", world), {"note": "x"}, headers=HX)
        assert response.status_code == 403

    def test_a_new_draft_is_made_from_a_published_version(self, client, world):
        world.v2.delete()
        client.force_login(world.owner)
        response = client.post(url("editor_new_draft", world, 1), headers=HX)
        assert response.status_code == 204
        draft = world.flow.versions.get(status="draft")
        assert draft.definition["steps"] == world.v1.definition["steps"]
        assert response["HX-Redirect"].endswith(f"/editor/v{draft.number}/")


class TestTestRun:
    @pytest.mark.parametrize(
        ("sample", "words"),
        [
            ('{"amount": ' + "9" * 5000 + "}", "over 100 digits"),
            ('{"name": "\\ud800"}', "not valid Unicode"),
            ('{"a": ' * 50_000, "nested more than 100 levels deep"),
            ("[1, 2]", "must be a JSON object"),
        ],
    )
    def test_sample_input_podium_cannot_keep_is_refused_at_the_field(
        self, client, world, sample, words
    ):
        client.force_login(world.owner)
        response = client.post(url("editor_test_run", world), {"input": sample}, headers=HX)
        assert response.status_code == 422
        assert words in response.content.decode()
        assert not FlowInstance.objects.exists()


def test_actions_used_by_the_editor_exist():
    assert callable(actions.save_draft) and callable(actions.publish_version)
