"""The flow editor with real mouse actions: build, fix, publish, test run, YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from orchestration.models import FlowInstance, FlowVersion
from tests.browser.conftest import screenshot, sign_in
from tests.factories import PASSWORD, FlowFactory, FlowVersionFactory, TeamFactory, UserFactory

EMPTY = {
    "format": "podium/v1",
    "input_schema": {"type": "object", "properties": {"amount": {"type": "number", "default": 50}}},
    "steps": [],
    "connections": [],
}


def empty_draft(slug: str = "refunds") -> tuple:
    team = TeamFactory(name="Support")
    flow = FlowFactory(name="Refunds", slug=slug, owner_team=team)
    draft = FlowVersionFactory(
        flow=flow, number=1, status="draft", published_at=None, definition=dict(EMPTY)
    )
    UserFactory(username="olivia", first_name="Olivia", last_name="Owner", teams=[team])
    return flow, draft


def point(page: Page, element_id: str) -> dict:
    """Page coordinates of a node's centre (or an edge's midpoint) on the canvas."""
    page.wait_for_function("() => !window.podiumEditor.cy.animated()")
    return page.evaluate(
        """(id) => {
            const cy = window.podiumEditor.cy, el = cy.getElementById(id);
            const box = cy.container().getBoundingClientRect();
            const p = el.isNode() ? el.renderedPosition() : el.renderedMidpoint();
            const w = el.isNode() ? el.renderedOuterWidth() : 0;
            return {x: box.left + p.x, y: box.top + p.y, w: w};
        }""",
        element_id,
    )


def drop(page: Page, kind: str, x: int, y: int) -> None:
    canvas = page.get_by_test_id("canvas")
    page.get_by_test_id(f"palette-{kind}").drag_to(canvas, target_position={"x": x, "y": y})


def connect(page: Page, source: str, target: str) -> None:
    """Hover the source, grab the blue dot on its right edge, let go over the target."""
    s, t = point(page, source), point(page, target)
    page.mouse.move(s["x"], s["y"])
    page.mouse.move(s["x"] + 5, s["y"])
    page.wait_for_function("() => window.podiumEditor.cy.getElementById('__handle').visible()")
    handle = point(page, "__handle")
    page.mouse.move(handle["x"], handle["y"])
    page.mouse.down()
    page.mouse.move(t["x"], t["y"], steps=12)
    page.mouse.up()


def saved(page: Page) -> None:
    expect(page.locator("#save-status")).to_have_text("All changes saved", timeout=10_000)


def select(page: Page, element_id: str) -> None:
    p = point(page, element_id)
    page.mouse.click(p["x"], p["y"])


def edit_step(page: Page, step_id: str, **fields: str) -> None:
    select(page, step_id)
    form = page.get_by_test_id("step-form")
    expect(form.locator("input[name=step]")).to_have_value(step_id)
    for label, value in fields.items():
        field = form.get_by_label(label.replace("_", " "), exact=True)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.get_by_test_id("save-step").click()
    expect(page.get_by_test_id("step-saved")).to_be_visible()
    saved(page)


def build_and_publish(page: Page) -> FlowVersion:
    """From an empty canvas to a published six-step flow, with the mouse and keyboard."""
    flow, draft = empty_draft()
    sign_in(page, "olivia", PASSWORD)
    page.goto(f"/flows/{flow.slug}/editor/")
    expect(page.get_by_test_id("canvas")).to_be_visible()
    screenshot(page, "editor-empty")

    # Six steps, dragged from the palette.
    for kind, x, y in [
        ("start", 210, 80),
        ("branch", 210, 170),
        ("approval", 110, 260),
        ("set", 320, 260),
        ("end", 110, 350),
        ("end", 320, 350),
    ]:
        drop(page, kind, x, y)
    saved(page)
    nodes = page.evaluate(
        "() => window.podiumEditor.cy.nodes(':visible').not('.handle').map(n => n.id())"
    )
    assert sorted(nodes) == ["approval_1", "branch_1", "end_1", "end_2", "set_1", "start_1"]

    # Connections by dragging; one that makes no sense is refused where it happened.
    for source, target in [
        ("start_1", "branch_1"),
        ("branch_1", "approval_1"),
        ("branch_1", "set_1"),
        ("approval_1", "end_1"),
        ("set_1", "end_2"),
    ]:
        connect(page, source, target)
        expect(page.locator("#save-status")).not_to_have_text("Unsaved changes…")
    connect(page, "set_1", "start_1")
    expect(page.locator("#canvas-message")).to_contain_text("start step")
    saved(page)
    assert draft.__class__.objects.get(pk=draft.pk).definition["connections"].__len__() == 5

    # Undo and redo a move with the keyboard.
    page.get_by_test_id("canvas").focus()
    page.keyboard.press("l")
    saved(page)
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+Shift+z")
    saved(page)

    # Names, owners and the approval's assignee in the properties panel.
    edit_step(page, "start_1", Accountable_owner="team:Support", Label="Refund requested")
    edit_step(page, "branch_1", Accountable_owner="team:Support", Label="Large refund?")
    edit_step(page, "approval_1", Accountable_owner="team:Support", Label="Lead approves")
    edit_step(page, "set_1", Accountable_owner="team:Support", Label="Record the refund")
    edit_step(page, "end_1", Label="Refunded after approval")
    edit_step(page, "end_2", Label="Refunded")
    screenshot(page, "editor-built")

    # The branch has no default path: the problems panel says so; fix it on the connection.
    problems = page.locator("#problems")
    screenshot(page, "editor-problems")
    expect(page.get_by_test_id("error-count")).to_be_visible()
    expect(page.locator("#publish-button")).to_be_disabled()
    problems.locator("[data-select-step]").first.click()
    expect(page.get_by_test_id("step-form").locator("input[name=step]")).to_have_value("branch_1")
    select(page, "branch_1->approval_1")
    expect(page.get_by_test_id("connection-form").locator("input[name=target]")).to_have_value(
        "approval_1"
    )
    condition = page.get_by_test_id("connection-form").get_by_label(
        "Take this path when", exact=True
    )
    condition.fill("data.amount >")
    expect(page.locator(".expression-check")).to_contain_text("character")
    condition.fill("data.amount > 100")
    expect(page.locator(".expression-check")).to_contain_text("Looks right")
    page.get_by_test_id("connection-form").get_by_role("button", name="Save connection").click()
    expect(page.get_by_test_id("connection-saved")).to_be_visible()
    saved(page)
    select(page, "branch_1->set_1")
    form = page.get_by_test_id("connection-form")
    expect(form.locator("input[name=target]")).to_have_value("set_1")
    form.get_by_label("Take this path when no other applies").check()
    form.get_by_role("button", name="Save connection").click()
    expect(page.get_by_test_id("connection-saved")).to_be_visible()
    saved(page)
    expect(page.get_by_test_id("error-count")).to_have_count(0)
    expect(page.locator("#publish-button")).to_be_enabled()

    # Publish with a note; the dialog shows what changed.
    page.locator("#publish-button").click()
    dialog = page.get_by_test_id("publish-dialog")
    expect(dialog.get_by_test_id("change-list")).to_contain_text("New step “Lead approves”")
    dialog.get_by_label("What changed, and why?").fill("First version of refunds.")
    screenshot(page, "editor-publish-dialog")
    dialog.get_by_test_id("confirm-publish").click()
    expect(page.locator("h1.page-title")).to_contain_text("Published")
    draft.refresh_from_db()
    assert draft.status == "published" and draft.change_note == "First version of refunds."
    return draft


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_build_fix_publish_and_test_run_a_flow_from_an_empty_canvas(page: Page, celery_worker):
    build_and_publish(page)

    # A test run on the published version, watched on the canvas.
    page.get_by_test_id("test-run").click()
    expect(page.get_by_test_id("test-run-dialog")).to_contain_text("newest published version")
    screenshot(page, "editor-test-run-dialog")
    page.get_by_test_id("start-test-run").click()
    banner = page.locator("#run-banner")
    expect(banner).to_contain_text("succeeded", timeout=30_000)
    colours = page.evaluate("() => window.podiumEditor.cy.nodes('.run-succeeded').map(n => n.id())")
    assert {"start_1", "branch_1", "set_1", "end_2"} <= set(colours)
    assert "approval_1" not in colours
    screenshot(page, "editor-test-run")
    assert FlowInstance.objects.get().status == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_upload_yaml_and_download_it_back_identical(page: Page, tmp_path: Path):
    from orchestration.actions import flow_metadata
    from orchestration.definitions.yaml_io import to_yaml
    from tests.orchestration.editor.conftest import invoice_definition

    flow, draft = empty_draft("invoices")
    text = to_yaml({**invoice_definition(), "flow": flow_metadata(flow)})  # as downloaded
    upload = tmp_path / "invoices.yaml"
    upload.write_text(text)
    sign_in(page, "olivia", PASSWORD)
    page.goto(f"/flows/{flow.slug}/editor/v1/")

    page.get_by_test_id("yaml-tab").click()
    form = page.get_by_test_id("yaml-form")
    form.get_by_label("…or paste YAML").fill("this: is\nnot: a flow\n")
    form.get_by_test_id("yaml-submit").click()
    expect(page.get_by_test_id("yaml-problems")).to_be_visible()
    screenshot(page, "editor-yaml-refused")
    assert FlowVersion.objects.get(pk=draft.pk).definition == EMPTY

    page.get_by_test_id("yaml-form").get_by_label("Upload a YAML file").set_input_files(str(upload))
    page.get_by_test_id("yaml-form").get_by_test_id("yaml-submit").click()
    expect(page.locator(".alert-success")).to_contain_text("uploaded flow")
    page.wait_for_function("() => window.podiumEditor !== undefined")
    count = page.evaluate("() => window.podiumEditor.cy.nodes().not('.handle').length")
    assert count == 6
    page.get_by_test_id("yaml-tab").click()
    expect(page.get_by_test_id("yaml-view")).to_contain_text("review")
    screenshot(page, "editor-yaml")
    with page.expect_download() as info:
        page.get_by_test_id("yaml-download").click()
    assert Path(info.value.path()).read_text() == text
