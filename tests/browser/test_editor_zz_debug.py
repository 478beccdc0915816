import pytest

from tests.browser.test_editor_journey import build_and_publish


@pytest.mark.django_db(transaction=True)
def test_debug(page):
    try:
        build_and_publish(page)
    finally:
        print(page.locator("#problems").inner_text())
