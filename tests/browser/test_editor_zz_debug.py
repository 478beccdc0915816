import pytest

from tests.browser.test_editor_journey import build_and_publish


@pytest.mark.django_db(transaction=True)
def test_debug(page):
    msgs = []
    page.on("console", lambda m: msgs.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: msgs.append(f"pageerror: {e}"))
    try:
        build_and_publish(page)
    finally:
        from tests.browser.conftest import screenshot
        screenshot(page, "debug-editor")
        print(page.evaluate("() => JSON.stringify(window.podiumEditor.cy.$(':selected').map(e => e.id()))"))
        print("\n".join(m for m in msgs if "wheel" not in m and "verbose" not in m and "mapping" not in m))
