import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in
from tests.factories import PASSWORD, UserFactory

AREAS = ["Flows", "Inbox", "Escalations", "Dashboards", "Audit", "Admin"]


@pytest.mark.django_db(transaction=True)
def test_a_user_signs_in_visits_every_area_and_signs_out(page: Page):
    UserFactory(username="olivia", first_name="Olivia", last_name="Owner")
    page.goto("/flows/")
    assert "/login/" in page.url
    screenshot(page, "login")
    sign_in(page, "olivia", PASSWORD)
    screenshot(page, "overview")
    for area in AREAS:
        page.get_by_role("navigation", name="Main navigation").get_by_role(
            "link", name=area
        ).click()
        expect(page.locator("h1.page-title")).to_be_visible()
        expect(page.locator(".nav-item.active")).to_contain_text(area)
        screenshot(page, f"area-{area.lower()}")
    page.get_by_test_id("logout").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.goto("/inbox/")
    assert "/login/" in page.url


@pytest.mark.django_db(transaction=True)
def test_a_wrong_password_is_explained(page: Page):
    UserFactory(username="olivia")
    page.goto("/login/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("do not match")
