import json

import pytest
from django.urls import reverse

from orchestration.editor import shape
from orchestration.models import FlowVersion


def save_url(w, number=2):
    return reverse("orchestration:editor_save", args=[w.flow.slug, number])


def post_graph(client, w, graph, revision, number=2, **extra):
    body = json.dumps({"revision": revision, "graph": graph, **extra})
    return client.post(save_url(w, number), body, content_type="application/json")


def graph_of(definition):
    return {
        "nodes": [
            {"id": s["id"], "kind": s["kind"], "label": s["label"], "x": 10, "y": 20 * i}
            for i, s in enumerate(definition["steps"])
        ],
        "edges": [{"source": c["from"], "target": c["to"]} for c in definition["connections"]],
    }


class TestTheEditorPage:
    def test_it_opens_the_draft_for_the_owner(self, client, world):
        client.force_login(world.owner)
        response = client.get(reverse("orchestration:editor", args=["invoices"]))
        assert response.status_code == 302
        assert response.url == reverse("orchestration:editor_version", args=["invoices", 2])
        page = client.get(response.url)
        assert page.status_code == 200
        assert b"data-palette-kind" in page.content
        assert b'"readOnly": false' in page.content

    def test_a_published_version_opens_read_only_with_a_way_to_a_draft(self, client, world):
        world.v2.delete()
        client.force_login(world.owner)
        page = client.get(reverse("orchestration:editor_version", args=["invoices", 1]))
        assert page.status_code == 200
        assert b'"readOnly": true' in page.content
        assert b"Create a new draft from this version" in page.content
        assert b"data-palette-kind" not in page.content

    def test_a_viewer_sees_the_draft_read_only(self, client, world):
        client.force_login(world.viewer)
        page = client.get(reverse("orchestration:editor_version", args=["invoices", 2]))
        assert page.status_code == 200
        assert b'"readOnly": true' in page.content

    def test_an_outsider_gets_404(self, client, world):
        client.force_login(world.outsider)
        assert (
            client.get(reverse("orchestration:editor_version", args=["invoices", 2])).status_code
            == 404
        )
        assert post_graph(client, world, {}, 1).status_code == 404


class TestAutosave:
    def test_it_saves_the_canvas_and_answers_with_the_new_revision_and_problems(
        self, client, world
    ):
        client.force_login(world.owner)
        graph = graph_of(world.v2.definition)
        graph["nodes"].append({"id": "set_1", "kind": "set", "label": "Note", "x": 5, "y": 5})
        graph["edges"] += [
            {"source": "check", "target": "set_1", "condition": "x"},
            {"source": "set_1", "target": "paid"},
        ]
        response = post_graph(client, world, graph, world.v2.revision)
        assert response.status_code == 200
        world.v2.refresh_from_db()
        data = response.json()
        assert data["revision"] == world.v2.revision == 2
        assert "problems_html" in data and "has_errors" in data
        assert shape.step_by_id(world.v2.definition, "set_1")["label"] == "Note"
        assert shape.step_by_id(world.v2.definition, "set_1")["position"] == {"x": 5, "y": 5}

    def test_a_save_on_a_stale_revision_is_a_conflict_and_changes_nothing(self, client, world):
        client.force_login(world.owner)
        graph = graph_of(world.v2.definition)
        assert post_graph(client, world, graph, 1).status_code == 200  # someone else: rev 2
        before = FlowVersion.objects.get(pk=world.v2.pk).definition
        graph["nodes"][0]["x"] = 999
        response = post_graph(client, world, graph, 1)  # still thinks it is revision 1
        assert response.status_code == 409
        assert "Someone else saved this draft" in response.json()["message"]
        assert FlowVersion.objects.get(pk=world.v2.pk).definition == before

    def test_saving_over_a_conflict_is_explicit(self, client, world):
        client.force_login(world.owner)
        graph = graph_of(world.v2.definition)
        post_graph(client, world, graph, 1)
        graph["nodes"][-1]["label"] = "Mine"
        response = post_graph(client, world, graph, 1, force=True)
        assert response.status_code == 200
        world.v2.refresh_from_db()
        assert world.v2.revision == 3

    def test_a_connection_into_the_start_step_is_refused_and_the_draft_stays(self, client, world):
        client.force_login(world.owner)
        graph = graph_of(world.v2.definition)
        graph["edges"].append({"source": "pay", "target": "start"})
        response = post_graph(client, world, graph, world.v2.revision)
        assert response.status_code == 400
        assert "start step" in response.json()["message"]
        assert response.json()["step"] == "start"
        world.v2.refresh_from_db()
        assert world.v2.revision == 1

    def test_a_position_json_cannot_hold_is_refused_and_the_draft_stays(self, client, world):
        client.force_login(world.owner)
        graph = graph_of(world.v2.definition)
        body = json.dumps({"revision": world.v2.revision, "graph": graph})
        body = body.replace('"x": 10', '"x": Infinity', 1)
        response = client.post(save_url(world), body, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["message"] == "The editor sent something Podium cannot read."
        world.v2.refresh_from_db()
        assert world.v2.revision == 1

    def test_a_graph_of_the_wrong_shape_is_refused_in_words(self, client, world):
        client.force_login(world.owner)
        for graph in ([], {"nodes": [{"id": "start", "x": "abc", "y": 0}]}):
            response = post_graph(client, world, graph, world.v2.revision)
            assert response.status_code == 400
            assert "The editor sent" in response.json()["message"]
        world.v2.refresh_from_db()
        assert world.v2.revision == 1

    def test_a_viewer_may_not_save(self, client, world):
        client.force_login(world.viewer)
        assert post_graph(client, world, graph_of(world.v2.definition), 1).status_code == 403

    def test_a_published_version_never_changes(self, client, world):
        client.force_login(world.owner)
        response = post_graph(client, world, graph_of(world.v1.definition), 1, number=1)
        assert response.status_code == 403


class TestProperties:
    def url(self, w, name="editor_step"):
        return reverse(f"orchestration:{name}", args=[w.flow.slug, 2])

    def test_the_panel_shows_the_fields_of_the_step_and_its_kind(self, client, world):
        client.force_login(world.owner)
        response = client.get(self.url(world), {"step": "review"}, headers={"HX-Request": "true"})
        assert response.status_code == 200
        html = response.content.decode()
        for words in ("Accountable owner", "SLA", "If it fails, go to", "Output schema"):
            assert words in html
        pay = client.get(self.url(world), {"step": "pay"}, headers={"HX-Request": "true"})
        assert "When calls to the service are paused" in pay.content.decode()
        assert ">Take error path</option>" in pay.content.decode()
        assert ">POST</option>" in pay.content.decode(), "HTTP methods keep their capitals"
        assert "Wait (the default) retries later" in pay.content.decode(), "settings have hints"
        assert ">null</textarea>" not in pay.content.decode(), "an unset setting is left empty"

    def test_saving_owner_sla_retries_and_error_path(self, client, world):
        client.force_login(world.owner)
        response = client.post(
            self.url(world),
            {
                "step": "pay",
                "revision": 1,
                "label": "Pay the supplier",
                "owner": "team:Finance",
                "sla": "4h",
                "retry_attempts": 5,
                "retry_backoff": "30s",
                "timeout_seconds": "2m",
                "on_error": "failed",
                "config__url": "https://bank.example.com/pay",
                "config__method": "POST",
                "config__when_paused": "take_error_path",
            },
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200, response.content.decode()[:3000]
        assert "podium:draft-saved" in response["HX-Trigger"]
        world.v2.refresh_from_db()
        pay = shape.step_by_id(world.v2.definition, "pay")
        assert pay["label"] == "Pay the supplier"
        assert pay["sla"] == {"minutes": 240}
        assert pay["retry"]["attempts"] == 5 and pay["retry"]["backoff_seconds"] == 30
        assert pay["timeout_seconds"] == 120 and pay["on_error"] == "failed"
        assert pay["config"]["when_paused"] == "take_error_path"

    def test_an_approval_goes_to_one_team_or_person_chosen_from_a_list(self, client, world):
        client.force_login(world.owner)
        panel = client.get(self.url(world), {"step": "review"}, headers={"HX-Request": "true"})
        html = panel.content.decode()
        assert "one team (its members share the task) or one person" in html
        assert "choose several" not in html and 'name="config__assignees" multiple' not in html
        assert '<option value="team:Finance" selected>' in html
        response = client.post(
            self.url(world),
            {"step": "review", "revision": 1, "label": "Review", "owner": "team:Finance",
             "config__assignees": "team:Finance"},
            headers={"HX-Request": "true"},
        )  # fmt: skip
        assert response.status_code == 200, response.content.decode()[:3000]
        world.v2.refresh_from_db()
        review = shape.step_by_id(world.v2.definition, "review")
        assert review["config"]["assignees"] == ["team:Finance"]

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("sla", "soon", "Write a number and a unit"),
            ("sla", "1" + "0" * 400 + "s", "at most ten years"),
            (
                "output_schema",
                '{"type": "object", "maxProperties": NaN}',
                "This is not valid JSON: NaN is not a number JSON allows.",
            ),
            ("output_schema", "[" * 50_000, "nested more than 100 levels deep"),
            ("output_schema", '{"type": "object"', "This is not valid JSON: Expecting"),
        ],
    )
    def test_a_bad_value_is_explained_at_the_field_and_nothing_changes(
        self, client, world, field, value, message
    ):
        client.force_login(world.owner)
        response = client.post(
            self.url(world),
            {"step": "review", "revision": 1, "label": "Review", field: value},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 422
        assert message in response.content.decode()
        world.v2.refresh_from_db()
        assert world.v2.revision == 1

    def test_an_invalid_condition_is_shown_at_the_field(self, client, world):
        client.force_login(world.owner)
        response = client.post(
            self.url(world, "editor_connection"),
            {
                "source": "check",
                "target": "pay",
                "revision": 1,
                "condition": "data.amount >",
            },
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 422
        assert "invalid-feedback" in response.content.decode()
        world.v2.refresh_from_db()
        assert world.v2.revision == 1

    def test_a_condition_is_saved_on_its_connection(self, client, world):
        client.force_login(world.owner)
        response = client.post(
            self.url(world, "editor_connection"),
            {
                "source": "check",
                "target": "pay",
                "revision": 1,
                "condition": "data.amount > 10",
            },
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        world.v2.refresh_from_db()
        conn = next(c for c in world.v2.definition["connections"] if c["to"] == "pay")
        assert conn["condition"] == "data.amount > 10"

    def test_a_stale_form_reports_the_conflict_and_keeps_the_values(self, client, world):
        client.force_login(world.owner)
        FlowVersion.objects.filter(pk=world.v2.pk).update(revision=5)
        response = client.post(
            self.url(world),
            {
                "step": "review",
                "revision": 1,
                "label": "My new name",
            },
            headers={"HX-Request": "true"},
        )
        assert "podium:draft-conflict" in response["HX-Trigger"]
        assert "My new name" in response.content.decode()
        world.v2.refresh_from_db()
        assert shape.step_by_id(world.v2.definition, "review")["label"] == "Review"

    def test_live_expression_check_says_where_the_mistake_is(self, client, world):
        client.force_login(world.owner)
        url = reverse("orchestration:editor_check_expression")
        bad = client.post(
            url,
            {"condition": "data.amount >"},
            headers={"HX-Request": "true", "HX-Trigger-Name": "condition"},
        )
        good = client.post(
            url,
            {"condition": "data.amount > 1"},
            headers={"HX-Request": "true", "HX-Trigger-Name": "condition"},
        )
        assert "text-danger" in bad.content.decode()
        assert "Looks right" in good.content.decode()


def test_conditions_are_checked_in_an_order_people_can_change(client, world):
    client.force_login(world.owner)
    url = reverse("orchestration:editor_connection", args=[world.flow.slug, 2])
    response = client.post(
        url,
        {"source": "check", "target": "failed", "revision": 1, "default": "on", "move": "earlier"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Checked 1 of 2" in response.content.decode()
    world.v2.refresh_from_db()
    order = [c["to"] for c in world.v2.definition["connections"] if c["from"] == "check"]
    assert order == ["failed", "pay"]
