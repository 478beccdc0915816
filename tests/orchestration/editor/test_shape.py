import pytest

from orchestration.editor import shape
from tests.orchestration.editor.conftest import invoice_definition


def graph_of(definition, **positions):
    nodes = [
        {"id": s["id"], "kind": s["kind"], "label": s["label"], "x": 0, "y": 0}
        for s in definition["steps"]
    ]
    edges = [{"source": c["from"], "target": c["to"]} for c in definition["connections"]]
    return {"nodes": nodes, "edges": edges}


def test_elements_have_a_node_per_step_and_an_edge_per_connection():
    elements = shape.elements(invoice_definition())
    nodes = [e for e in elements if e["group"] == "nodes"]
    edges = [e for e in elements if e["group"] == "edges"]
    assert [n["data"]["id"] for n in nodes] == ["start", "review", "check", "pay", "paid", "failed"]
    assert len(edges) == 5
    labels = {e["data"]["id"]: e["data"]["label"] for e in edges}
    assert labels["check->pay"] == "data.amount > 0"
    assert labels["check->failed"] == "otherwise"


def test_applying_the_canvas_keeps_settings_and_adds_new_steps_with_positions():
    before = invoice_definition()
    graph = graph_of(before)
    graph["nodes"].append(
        {"id": "notify_1", "kind": "notify", "label": "Tell the supplier", "x": 120.4, "y": 480}
    )
    graph["edges"] = [e for e in graph["edges"] if e["source"] != "pay"]
    graph["edges"] += [
        {"source": "pay", "target": "notify_1"},
        {"source": "notify_1", "target": "paid"},
    ]
    after = shape.apply_graph(before, graph)
    pay = shape.step_by_id(after, "pay")
    assert pay["on_error"] == "failed" and pay["config"]["url"].startswith("https://")
    assert shape.step_by_id(after, "notify_1")["label"] == "Tell the supplier"
    assert {"from": "pay", "to": "notify_1"} in after["connections"]
    assert {"from": "pay", "to": "paid"} not in after["connections"]
    assert {"from": "check", "to": "pay", "condition": "data.amount > 0"} in after["connections"]
    assert shape.step_by_id(after, "notify_1")["position"] == {"x": 120, "y": 480}
    assert before == invoice_definition()  # the input is not modified


def test_removing_a_step_drops_its_connections():
    graph = graph_of(invoice_definition())
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != "pay"]
    graph["edges"] = [e for e in graph["edges"] if "pay" not in (e["source"], e["target"])]
    after = shape.apply_graph(invoice_definition(), graph)
    assert shape.step_by_id(after, "pay") is None
    assert all("pay" not in (c["from"], c["to"]) for c in after["connections"])


@pytest.mark.parametrize(
    ("source", "target", "words"),
    [
        ("review", "start", "start step"),
        ("paid", "review", "end step"),
        ("review", "review", "itself"),
        ("pay", "failed", "one step only"),
    ],
)
def test_connections_that_make_no_sense_are_refused_with_the_place(source, target, words):
    graph = graph_of(invoice_definition())
    graph["edges"].append({"source": source, "target": target})
    with pytest.raises(shape.ShapeError) as error:
        shape.apply_graph(invoice_definition(), graph)
    assert words in error.value.message
    assert error.value.step in (source, target)


def test_a_step_id_that_is_not_usable_is_refused():
    graph = graph_of(invoice_definition())
    graph["nodes"].append({"id": "Bad Id", "kind": "set", "x": 0, "y": 0})
    with pytest.raises(shape.ShapeError, match="not a usable step id"):
        shape.apply_graph(invoice_definition(), graph)


def _with(change):
    graph = graph_of(invoice_definition())
    change(graph)
    return graph


@pytest.mark.parametrize(
    ("graph", "words"),
    [
        ([], "without steps"),
        (None, "without steps"),
        ({"nodes": [1]}, "step Podium cannot read"),
        (_with(lambda g: g["nodes"][0].update(x="abc")), "off the canvas"),
        (_with(lambda g: g["nodes"][0].update(x=None)), "off the canvas"),
        (_with(lambda g: g["nodes"][0].update(y=float("nan"))), "off the canvas"),
        (_with(lambda g: g["nodes"][0].update(x=1e300)), "off the canvas"),
        (_with(lambda g: g["nodes"][0].update(x=True)), "off the canvas"),
        (_with(lambda g: g.update(edges="ab")), "connections Podium cannot read"),
        (_with(lambda g: g.update(edges=[1])), "connections Podium cannot read"),
        (_with(lambda g: g["edges"].append({"source": [], "target": "paid"})), "cannot read"),
    ],
)
def test_a_graph_the_canvas_cannot_have_sent_is_refused_in_words(graph, words):
    with pytest.raises(shape.ShapeError, match=words):
        shape.apply_graph(invoice_definition(), graph)


def test_several_conditions_out_of_one_step_show_the_order_they_are_checked_in():
    definition = invoice_definition()
    definition["connections"].append({"from": "check", "to": "paid", "condition": "data.vip"})
    labels = {
        e["data"]["id"]: e["data"]["label"]
        for e in shape.elements(definition)
        if e["group"] == "edges"
    }
    assert labels["check->pay"] == "1. data.amount > 0"
    assert labels["check->paid"] == "2. data.vip"
    assert labels["check->failed"] == "otherwise"
    moved = shape.move_connection(definition, "check", "paid", -1)
    assert [c["to"] for c in moved["connections"] if c["from"] == "check"] == [
        "pay",
        "paid",
        "failed",
    ]
