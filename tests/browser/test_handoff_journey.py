"""The handoff map of a flow with runs: click an edge, see its cases; click an actor."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in
from tests.factories import PASSWORD, FlowFactory, FlowVersionFactory, TeamFactory, UserFactory
from tests.orchestration.handoff.test_compute import claims_definition, run_case


@pytest.mark.django_db(transaction=True)
def test_open_the_handoff_map_and_click_an_edge(page: Page):
    claims = TeamFactory(name="Claims")
    flow = FlowFactory(name="Claims", slug="claims", owner_team=claims)
    version = FlowVersionFactory(flow=flow, number=1, definition=claims_definition())
    for i, wait in enumerate([12, 25, 40, 90, 300, 2000]):
        run_case(
            version,
            f"CLM-{i:03d}",
            [
                ("start", "start", 0, 0),
                ("score", "decision", 0, 1),
                ("route", "branch", 1, 1),
                ("review", "approval", 1, 1 + wait),
                ("pay", "http", 1 + wait, 2 + wait),
                ("done", "end", 2 + wait, 2 + wait),
            ],
        )
    UserFactory(username="olivia", teams=[claims])
    sign_in(page, "olivia", PASSWORD)
    page.goto("/flows/claims/handoff/")
    expect(page.get_by_test_id("highlights")).to_contain_text("no error path")
    page.wait_for_function(
        "() => window.podiumHandoff && window.podiumHandoff.cy.edges().length > 0"
    )
    screenshot(page, "handoff-map")

    where = page.evaluate(
        """() => {
            const cy = window.podiumHandoff.cy, e = cy.getElementById('ai:rules=>team:Claims');
            const box = cy.container().getBoundingClientRect(), p = e.renderedMidpoint();
            return {x: box.left + p.x, y: box.top + p.y};
        }"""
    )
    page.mouse.click(where["x"], where["y"])
    detail = page.get_by_test_id("edge-detail")
    expect(detail).to_contain_text("6 cases")
    expect(detail).to_contain_text("CLM-005")
    screenshot(page, "handoff-edge")

    detail.locator("[data-overview]").click()
    team = page.evaluate(
        """() => {
            const cy = window.podiumHandoff.cy, n = cy.getElementById('team:Claims');
            const box = cy.container().getBoundingClientRect(), p = n.renderedPosition();
            return {x: box.left + p.x, y: box.top + p.y};
        }"""
    )
    page.mouse.click(team["x"], team["y"])
    expect(page.get_by_test_id("actor-detail")).to_contain_text("Owns")
    with page.expect_download() as info:
        page.get_by_test_id("handoff-png").click()
    assert info.value.suggested_filename == "claims-handoffs.png"


@pytest.mark.django_db(transaction=True)
def test_a_published_version_without_runs_shows_the_designed_handoffs(page: Page):
    claims = TeamFactory(name="Claims")
    flow = FlowFactory(name="Claims", slug="claims", owner_team=claims)
    FlowVersionFactory(flow=flow, number=1, definition=claims_definition())
    UserFactory(username="olivia", teams=[claims])
    sign_in(page, "olivia", PASSWORD)
    page.goto("/flows/claims/handoff/")
    expect(page.locator("#handoff-detail")).to_contain_text("as designed")
    page.wait_for_function("() => window.podiumHandoff.cy.edges().length >= 4")
    screenshot(page, "handoff-designed")
