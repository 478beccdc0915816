import copy

from orchestration.editor import diff
from tests.orchestration.editor.conftest import invoice_definition


def changed_definition():
    after = copy.deepcopy(invoice_definition())
    steps = {s["id"]: s for s in after["steps"]}
    steps["review"]["owner"] = "team:Legal"
    steps["review"]["sla"] = {"minutes": 240}
    steps["pay"]["config"]["url"] = "https://bank.example.com/v2/pay"
    after["steps"] = [s for s in after["steps"] if s["id"] != "failed"]
    after["steps"].append({"id": "notify", "kind": "notify", "label": "Tell the supplier"})
    after["connections"] = [c for c in after["connections"] if c["to"] != "failed"]
    after["connections"].append({"from": "pay", "to": "notify"})
    after["steps"][0]["position"] = {"x": 0, "y": 0}
    return after


def test_the_change_is_described_step_by_step_in_words():
    changes = diff.describe(invoice_definition(), changed_definition())
    texts = [c.text for c in changes]
    assert "Step “Review” changed" in texts
    assert any(t.startswith("New step “Tell the supplier”") for t in texts)
    assert "Step “Failed” removed" in texts
    assert "New connection “Pay” → “Tell the supplier”" in texts
    review = next(c for c in changes if c.step_id == "review")
    assert "owner changed from “team:Finance” to “team:Legal”" in review.details
    assert any(d.startswith("SLA set to") for d in review.details)
    pay = next(c for c in changes if c.step_id == "pay" and c.subject == "step")
    assert pay.details == [
        "url changed from “https://bank.example.com/pay” to “https://bank.example.com/v2/pay”"
    ]


def test_moving_steps_on_the_canvas_is_not_a_change():
    after = copy.deepcopy(invoice_definition())
    for n, step in enumerate(after["steps"]):
        step["position"] = {"x": 10, "y": 20 * n}
    assert diff.describe(invoice_definition(), after) == []
    assert diff.summary([]) == "No changes"


def test_the_summary_counts_steps():
    changes = diff.describe(invoice_definition(), changed_definition())
    assert diff.summary(changes) == "1 step added, 1 step removed, 2 steps changed, 2 other changes"


def test_a_first_version_lists_every_step_as_new():
    changes = diff.describe(None, invoice_definition())
    assert len(changes) == 6 and all(c.what == "added" for c in changes)
