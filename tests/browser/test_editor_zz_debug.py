import pytest

from tests.browser.conftest import sign_in, screenshot
from tests.browser.test_editor_journey import empty_draft, drop, point, saved, connect
from tests.factories import PASSWORD


@pytest.mark.django_db(transaction=True)
def test_debug(page):
    msgs = []
    page.on("console", lambda m: msgs.append(f"{m.type}: {m.text}"))
    flow, draft = empty_draft()
    sign_in(page, "olivia", PASSWORD)
    page.goto(f"/flows/{flow.slug}/editor/")
    for kind, x, y in [("start", 210, 80), ("branch", 210, 170)]:
        drop(page, kind, x, y)
    saved(page)
    page.evaluate("() => window.podiumEditor.cy.on('tap tapstart tapend select unselect', e => console.log(e.type, e.target === window.podiumEditor.cy ? 'core' : e.target.id()))")
    p = point(page, "start_1")
    print(p)
    page.mouse.click(p["x"], p["y"])
    page.wait_for_timeout(500)
    print(page.evaluate("() => JSON.stringify(window.podiumEditor.cy.$(':selected').map(e => e.id()))"))
    print("\n".join(m for m in msgs if "wheel" not in m and "verbose" not in m and "mapping" not in m))
