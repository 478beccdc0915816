"""A draft published while someone still edits it: their save is refused in words, not a
server error."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orchestration import actions
from orchestration.definitions.yaml_io import to_yaml
from orchestration.models import FlowVersion
from tests.orchestration.editor.conftest import invoice_definition
from tests.orchestration.editor.test_draft_views import graph_of, post_graph

HX = {"HX-Request": "true"}
MEANWHILE = "This draft was published meanwhile"


@pytest.fixture
def published_meanwhile(world, monkeypatch):
    """The draft is published between the editor's request arriving and its save."""
    saved = actions.save_draft

    def publish_first(version, *args, **kwargs):
        FlowVersion.objects.filter(pk=version.pk).update(status="published")
        return saved(version, *args, **kwargs)

    monkeypatch.setattr(actions, "save_draft", publish_first)
    return world


def _url(name, w):
    return reverse(f"orchestration:{name}", args=[w.flow.slug, 2])


def test_the_canvas_autosave_is_told_the_draft_was_published(client, published_meanwhile):
    w = published_meanwhile
    client.force_login(w.owner)
    response = post_graph(client, w, graph_of(w.v2.definition), 1)
    assert response.status_code == 409
    assert response.json()["message"].startswith(MEANWHILE)


@pytest.mark.parametrize(
    "name, data",
    [
        ("editor_step", {"step": "review", "revision": 1, "label": "My new name"}),
        (
            "editor_connection",
            {"source": "check", "target": "pay", "revision": 1, "condition": "data.amount > 10"},
        ),
    ],
)
def test_the_properties_panel_is_told_the_draft_was_published(
    client, published_meanwhile, name, data
):
    w = published_meanwhile
    client.force_login(w.owner)
    response = client.post(_url(name, w), data, headers=HX)
    assert response.status_code == 200
    assert MEANWHILE in response["HX-Trigger"]
    assert "Not saved: this draft was published meanwhile." in response.content.decode()
    w.v2.refresh_from_db()
    assert w.v2.definition == invoice_definition()


def test_the_yaml_tab_is_told_the_draft_was_published(client, published_meanwhile):
    w = published_meanwhile
    client.force_login(w.owner)
    changed = invoice_definition()
    changed["steps"][1]["label"] = "Check the invoice"
    response = client.post(
        _url("editor_yaml", w), {"text": to_yaml(changed), "revision": 1}, headers=HX
    )
    assert response.status_code == 422
    assert MEANWHILE in response.content.decode()
    w.v2.refresh_from_db()
    assert w.v2.definition == invoice_definition()
